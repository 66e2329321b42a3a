// Who may speak for a node on the node-facing API (DESIGN.md §10). Registration gives each new node
// a random secret (only its SHA-256 is stored); later calls carry it as `Authorization: Bearer` and
// can touch only that node. An answer-file installer, which never saw the secret, gets an install
// token instead: an HMAC of the node and its installer bootenv under a cluster key, good only for
// leaving that installer for `local`, so it is spent the moment the bootenv changes.
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto'
import type { Kysely, Transaction } from 'kysely'
import { forbidden, unauthorized } from '../../model/errors'
import type { Database } from '../../store/database'
import { readSetting, SETTING, writeSettings } from '../../store/settings'

type Db = Kysely<Database> | Transaction<Database>

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex')

function sameHex(a: string, b: string): boolean {
  const x = Buffer.from(a, 'hex')
  const y = Buffer.from(b, 'hex')
  return x.length === y.length && x.length > 0 && timingSafeEqual(x, y)
}

/** The bearer credential in an Authorization header, or null. */
export function bearerOf(header: string | undefined): string | null {
  const m = /^Bearer ([0-9a-f]{32,128})$/.exec(header ?? '')
  return m?.[1] ?? null
}

/** A new secret for the node, replacing any earlier one; returned once, stored only as its hash. */
export async function issueNodeSecret(db: Db, nodeId: number, now: string): Promise<string> {
  const secret = randomBytes(32).toString('hex')
  await db.updateTable('nodes').set({ api_secret_hash: sha256(secret), api_secret_issued_at: now }).where('id', '=', nodeId).execute()
  return secret
}

/** Forgets the node's secret: its next registration (the same machine, booted afresh) gets a new one. */
export async function resetNodeSecret(db: Db, nodeId: number): Promise<void> {
  await db.updateTable('nodes').set({ api_secret_hash: null, api_secret_issued_at: null }).where('id', '=', nodeId).execute()
}

export type NodeCredential = { readonly kind: 'none' } | { readonly kind: 'node'; readonly nodeId: number } | { readonly kind: 'unknown' }

/** Which node, if any, an Authorization header speaks for. */
export async function credentialOf(db: Db, header: string | undefined): Promise<NodeCredential> {
  const secret = bearerOf(header)
  if (!secret) return header === undefined ? { kind: 'none' } : { kind: 'unknown' }
  const row = await db.selectFrom('nodes').select('id').where('api_secret_hash', '=', sha256(secret)).executeTakeFirst()
  return row ? { kind: 'node', nodeId: row.id } : { kind: 'unknown' }
}

/** Throws unless the header carries node `nodeId`'s own secret (401 without one, 403 for another node's). */
export async function requireNodeSecret(db: Db, nodeId: number, header: string | undefined): Promise<void> {
  const credential = await credentialOf(db, header)
  if (credential.kind === 'node' && credential.nodeId === nodeId) return
  if (credential.kind === 'node') throw forbidden(`this secret belongs to node ${credential.nodeId}; a node may change only its own record`)
  throw unauthorized(
    credential.kind === 'none'
      ? `node ${nodeId}'s calls need its secret (given at registration) as Authorization: Bearer <secret>`
      : `that is not node ${nodeId}'s secret`
  )
}

async function installKey(db: Db): Promise<string> {
  const existing = await readSetting(db, SETTING.nodeInstallKey)
  if (existing) return existing
  await writeSettings(db, { [SETTING.nodeInstallKey]: randomBytes(32).toString('hex') })
  return (await readSetting(db, SETTING.nodeInstallKey)) ?? ''
}

/** The install token an answer file for `bootenv` carries to leave it for `local`. */
export async function installToken(db: Db, nodeId: number, bootenv: string): Promise<string> {
  return createHmac('sha256', Buffer.from(await installKey(db), 'hex')).update(`install:${nodeId}:${bootenv}`).digest('hex')
}

/** True when `token` is node `nodeId`'s install token for the bootenv it is in now. */
export async function installTokenMatches(db: Db, nodeId: number, bootenv: string, token: string | null): Promise<boolean> {
  if (!token) return false
  return sameHex(await installToken(db, nodeId, bootenv), token)
}
