// Each node's BMC as the store keeps it (DESIGN.md §9): enrolled by the operator (address, user,
// password), learnt in band by discovery (its MAC and address), its Redfish certificate pinned on
// first contact, and the power state last read. The password is sealed with the data directory's
// key and leaves this module only to the power client that uses it.
import { randomBytes } from 'node:crypto'
import type { Selectable } from 'kysely'
import type { SecretBox } from '../../base/secret-box'
import type { DomainContext } from '../../domain/context'
import { transact } from '../../domain/context'
import { invalid, notFound } from '../../model/errors'
import type { BmcFailure, BmcProtocol, NodeBmc, NodePower, SetNodeBmc } from '../../model'
import { BmcFailureSchema, BmcProtocolSchema, BmcSourceSchema, PowerStateSchema } from '../../model'
import type { NodeBmcsTable, Queryable } from '../../store/database'

export type NodeBmcRow = Selectable<NodeBmcsTable>

/** What a power client needs: the row and its password, opened. */
export interface BmcCredentials {
  readonly nodeId: number
  readonly protocol: BmcProtocol
  readonly address: string
  readonly port: number
  readonly username: string
  readonly password: string
  readonly certificateSha256: string | null
}

export const DEFAULT_PORTS: Readonly<Record<BmcProtocol, number>> = { ipmi: 623, redfish: 443 }
/** IPMI 2.0 carries at most 20 bytes of password (RAKP's K_UID); a longer one could never log in. */
const MAX_IPMI_PASSWORD_BYTES = 20

const purposeOf = (nodeId: number): string => `bmc-password:node:${nodeId}`

export function powerOf(row: NodeBmcRow): NodePower {
  const state = PowerStateSchema.safeParse(row.power_state)
  return { node_id: row.node_id, state: state.success ? state.data : 'unknown', checked_at: row.power_checked_at, error: failureOf(row.power_error) }
}

function failureOf(text: string | null): BmcFailure | null {
  if (text === null) return null
  try {
    const parsed = BmcFailureSchema.safeParse(JSON.parse(text))
    return parsed.success ? parsed.data : null
  } catch {
    return null
  }
}

export function nodeBmcOf(row: NodeBmcRow): NodeBmc {
  const protocol = BmcProtocolSchema.safeParse(row.protocol)
  const source = BmcSourceSchema.safeParse(row.source)
  return {
    node_id: row.node_id,
    protocol: protocol.success ? protocol.data : 'ipmi',
    address: row.address,
    port: row.port,
    username: row.username,
    has_password: row.password_sealed !== null,
    mac: row.mac,
    source: source.success ? source.data : 'operator',
    certificate_sha256: row.certificate_sha256,
    power: powerOf(row)
  }
}

export async function bmcRow(db: Queryable, nodeId: number): Promise<NodeBmcRow | undefined> {
  return db.selectFrom('node_bmcs').selectAll().where('node_id', '=', nodeId).executeTakeFirst()
}

export async function getNodeBmc(ctx: DomainContext, nodeId: number): Promise<NodeBmc | null> {
  await requireNode(ctx.db, nodeId)
  const row = await bmcRow(ctx.db, nodeId)
  return row ? nodeBmcOf(row) : null
}

/** Enrolls or changes a node's BMC. A changed address or protocol forgets the pinned certificate and the state read. */
export async function setNodeBmc(ctx: DomainContext, box: SecretBox, input: SetNodeBmc): Promise<NodeBmc> {
  if (input.password !== undefined && input.protocol === 'ipmi' && Buffer.byteLength(input.password, 'utf8') > MAX_IPMI_PASSWORD_BYTES) {
    throw invalid(`an IPMI 2.0 password is at most ${MAX_IPMI_PASSWORD_BYTES} bytes; this one is ${Buffer.byteLength(input.password, 'utf8')}`)
  }
  const port = input.port ?? DEFAULT_PORTS[input.protocol]
  return transact(ctx, async (t) => {
    const node = await requireNode(t.tx, input.id)
    if (node.admin === 1) throw invalid(`${node.name} is the admin node (this machine): it is not powered through a BMC`)
    const before = await bmcRow(t.tx, input.id)
    const sealed = input.password !== undefined ? box.seal(input.password, purposeOf(input.id)) : (before?.password_sealed ?? null)
    const moved = !before || before.address !== input.address || before.protocol !== input.protocol || before.port !== port
    const values = {
      protocol: input.protocol,
      address: input.address,
      port,
      username: input.username,
      password_sealed: sealed,
      source: 'operator',
      updated_at: t.now,
      ...(moved ? { certificate_sha256: null, power_state: 'unknown', power_checked_at: null, power_error: null } : {}),
      ...(input.password !== undefined ? { power_error: null } : {})
    }
    if (before) await t.tx.updateTable('node_bmcs').set(values).where('node_id', '=', input.id).execute()
    else await t.tx.insertInto('node_bmcs').values({ node_id: input.id, mac: null, created_at: t.now, ...values }).execute()
    t.emit({ kind: 'node', id: input.id, action: 'updated' })
    return nodeBmcOf(await bmcRowOrThrow(t.tx, input.id))
  })
}

export async function deleteNodeBmc(ctx: DomainContext, nodeId: number): Promise<boolean> {
  return transact(ctx, async (t) => {
    await requireNode(t.tx, nodeId)
    const r = await t.tx.deleteFrom('node_bmcs').where('node_id', '=', nodeId).executeTakeFirst()
    const deleted = Number(r.numDeletedRows) > 0
    if (deleted) t.emit({ kind: 'node', id: nodeId, action: 'updated' })
    return deleted
  })
}

export async function forgetBmcCertificate(ctx: DomainContext, nodeId: number): Promise<boolean> {
  await requireNode(ctx.db, nodeId)
  const r = await ctx.db.updateTable('node_bmcs').set({ certificate_sha256: null, updated_at: ctx.clock().toISOString() }).where('node_id', '=', nodeId).where('certificate_sha256', 'is not', null).executeTakeFirst()
  return Number(r.numUpdatedRows) > 0
}

export async function listPower(db: Queryable): Promise<NodePower[]> {
  const rows = await db.selectFrom('node_bmcs').selectAll().orderBy('node_id').execute()
  return rows.map(powerOf)
}

/** The row with its password opened, for a power client; a message for the engineer when it cannot be used. */
export async function credentialsOf(db: Queryable, box: SecretBox, nodeId: number): Promise<BmcCredentials | { readonly unusable: string }> {
  const row = await bmcRow(db, nodeId)
  if (!row) return { unusable: `node ${nodeId} has no BMC: enroll one (its address, user and password) on the node's page` }
  if (row.password_sealed === null) {
    return { unusable: `BMC ${row.address} of node ${nodeId} has no password stored: enter its user and password on the node's page` }
  }
  const protocol = BmcProtocolSchema.safeParse(row.protocol)
  if (!protocol.success) return { unusable: `BMC ${row.address} has an unknown protocol ${JSON.stringify(row.protocol)}` }
  let password: string
  try {
    password = box.open(row.password_sealed, purposeOf(nodeId))
  } catch (err) {
    return { unusable: `BMC ${row.address}: ${err instanceof Error ? err.message : String(err)}` }
  }
  return { nodeId, protocol: protocol.data, address: row.address, port: row.port, username: row.username, password, certificateSha256: row.certificate_sha256 }
}

/** Keeps what an operation read: the state (or only the failure), and a certificate seen on first contact. */
export async function recordPower(db: Queryable, nodeId: number, at: string, outcome: { readonly state?: 'on' | 'off'; readonly error?: BmcFailure; readonly certificateSha256?: string }): Promise<void> {
  await db
    .updateTable('node_bmcs')
    .set({
      ...(outcome.state !== undefined ? { power_state: outcome.state, power_checked_at: at } : {}),
      power_error: outcome.error ? JSON.stringify(outcome.error) : null
    })
    .where('node_id', '=', nodeId)
    .execute()
  if (outcome.certificateSha256 !== undefined) {
    // Only a first contact pins: a pin already there was checked by the client and stays.
    await db.updateTable('node_bmcs').set({ certificate_sha256: outcome.certificateSha256 }).where('node_id', '=', nodeId).where('certificate_sha256', 'is', null).execute()
  }
}

/** Nodes whose BMC can be used now (a password stored). */
export async function poweredNodeIds(db: Queryable): Promise<number[]> {
  const rows = await db.selectFrom('node_bmcs').select('node_id').where('password_sealed', 'is not', null).orderBy('node_id').execute()
  return rows.map((r) => r.node_id)
}

async function requireNode(db: Queryable, id: number): Promise<{ readonly name: string; readonly admin: number }> {
  const node = await db.selectFrom('nodes').select(['name', 'admin']).where('id', '=', id).executeTakeFirst()
  if (!node) throw notFound(`node ${id} not found`)
  return node
}

async function bmcRowOrThrow(db: Queryable, nodeId: number): Promise<NodeBmcRow> {
  const row = await bmcRow(db, nodeId)
  if (!row) throw notFound(`node ${nodeId} has no BMC`)
  return row
}

/** What a discovery image read of its BMC in band (`ipmitool lan print`). */
export interface DiscoveredBmc {
  readonly mac?: string | undefined
  /** Absent or 0.0.0.0: the BMC has no LAN address yet. */
  readonly address?: string | undefined
  readonly ip_source?: string | undefined
  readonly channel?: number | undefined
}

const usableAddress = (a: string | undefined): string | undefined => (a && a !== '0.0.0.0' ? a : undefined)

/**
 * Keeps what discovery learnt of a node's BMC. An enrolled BMC keeps its operator's settings and
 * gains the MAC; a node with none gets one from discovery (IPMI on 623, no password yet: the
 * operator or bmc-configure gives it one); a BMC with no address yet is remembered by MAC only
 * when there is a row to hold it.
 */
export async function recordDiscoveredBmc(db: Queryable, nodeId: number, found: DiscoveredBmc, now: string): Promise<void> {
  const address = usableAddress(found.address)
  const before = await bmcRow(db, nodeId)
  if (before) {
    const fromDiscovery = before.source === 'discovery'
    await db
      .updateTable('node_bmcs')
      .set({ ...(found.mac ? { mac: found.mac } : {}), ...(fromDiscovery && address ? { address } : {}), updated_at: now })
      .where('node_id', '=', nodeId)
      .execute()
    return
  }
  if (!address) return
  await db
    .insertInto('node_bmcs')
    .values({ node_id: nodeId, protocol: 'ipmi', address, port: DEFAULT_PORTS.ipmi, username: '', password_sealed: null, mac: found.mac ?? null, source: 'discovery', created_at: now, updated_at: now })
    .execute()
}

/**
 * The enrolled node a booting machine is, by its BMC: a node the operator enrolled by BMC address
 * (and powered on), which has no MACs and no node-API secret yet, whose BMC has the address (and,
 * once its MAC is known, the MAC) the machine read in band. Undefined when none or several match.
 */
export async function enrolledNodeByBmc(db: Queryable, found: DiscoveredBmc): Promise<number | undefined> {
  const address = usableAddress(found.address)
  if (!address) return undefined
  const rows = await db
    .selectFrom('node_bmcs')
    .innerJoin('nodes', 'nodes.id', 'node_bmcs.node_id')
    .select(['nodes.id', 'node_bmcs.mac'])
    .where('node_bmcs.address', '=', address)
    .where('nodes.admin', '=', 0)
    .where('nodes.api_secret_hash', 'is', null)
    .where((eb) => eb.not(eb.exists(eb.selectFrom('node_macs').select('node_macs.mac').whereRef('node_macs.node_id', '=', 'nodes.id'))))
    .execute()
  const matching = rows.filter((r) => r.mac === null || r.mac === found.mac)
  return matching.length === 1 ? matching[0]?.id : undefined
}

/** The user bmc-configure makes on every BMC it configures. */
export const CONFIGURED_USER = 'crowbar'
/** 16 letters and digits: ~95 bits, within IPMI 2.0's 20 bytes, and nothing a shell or sed must quote. */
const PASSWORD_LENGTH = 16
const PASSWORD_ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789'

export function generatePassword(): string {
  const out: string[] = []
  // Rejection sampling keeps every character equally likely.
  while (out.length < PASSWORD_LENGTH) {
    for (const byte of randomBytes(32)) {
      if (byte < 256 - (256 % PASSWORD_ALPHABET.length) && out.length < PASSWORD_LENGTH) out.push(PASSWORD_ALPHABET[byte % PASSWORD_ALPHABET.length] as string)
    }
  }
  return out.join('')
}

/**
 * The user and password bmc-configure sets on the node's BMC: the pending ones if a run already
 * made them (a run may be repeated), the BMC's own if an earlier run configured it (the re-run on
 * the installed OS sets them again, unchanged), else new ones, kept sealed as pending until a run
 * succeeds.
 */
export async function pendingCredentials(ctx: DomainContext, box: SecretBox, nodeId: number, address: string): Promise<{ readonly username: string; readonly password: string }> {
  return transact(ctx, async (t) => {
    const row = await bmcRow(t.tx, nodeId)
    if (row?.pending_password_sealed && row.pending_username) {
      return { username: row.pending_username, password: box.open(row.pending_password_sealed, purposeOf(nodeId)) }
    }
    if (row?.source === 'bmc-configure' && row.password_sealed && row.username === CONFIGURED_USER) {
      return { username: row.username, password: box.open(row.password_sealed, purposeOf(nodeId)) }
    }
    const password = generatePassword()
    const pending = { pending_username: CONFIGURED_USER, pending_password_sealed: box.seal(password, purposeOf(nodeId)), updated_at: t.now }
    if (row) await t.tx.updateTable('node_bmcs').set(pending).where('node_id', '=', nodeId).execute()
    else {
      await t.tx
        .insertInto('node_bmcs')
        .values({ node_id: nodeId, protocol: 'ipmi', address, port: DEFAULT_PORTS.ipmi, username: '', password_sealed: null, mac: null, source: 'bmc-configure', created_at: t.now, ...pending })
        .execute()
    }
    return { username: CONFIGURED_USER, password }
  })
}

/** bmc-configure's run succeeded: its user, password and address are the BMC's now. */
export async function adoptConfigured(ctx: DomainContext, nodeId: number, configured: { readonly address: string; readonly mac?: string | undefined }): Promise<boolean> {
  return transact(ctx, async (t) => {
    const row = await bmcRow(t.tx, nodeId)
    if (!row?.pending_password_sealed || !row.pending_username) return false
    await t.tx
      .updateTable('node_bmcs')
      .set({
        protocol: 'ipmi',
        address: configured.address,
        port: DEFAULT_PORTS.ipmi,
        username: row.pending_username,
        password_sealed: row.pending_password_sealed,
        pending_username: null,
        pending_password_sealed: null,
        source: 'bmc-configure',
        ...(configured.mac ? { mac: configured.mac } : {}),
        certificate_sha256: null,
        power_state: 'unknown',
        power_checked_at: null,
        power_error: null,
        updated_at: t.now
      })
      .where('node_id', '=', nodeId)
      .execute()
    t.emit({ kind: 'node', id: nodeId, action: 'updated' })
    return true
  })
}
