// The admin SSH key pair: the key the framework logs in to nodes with as root. Made once per data
// directory and never regenerated, because every node already trusts its public half.
import { generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto'
import { chmod, link, mkdir, readFile, stat, unlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import ssh2 from 'ssh2'
import type { ParsedKey } from 'ssh2'
import { errnoCodeOf, messageOf } from '../../base/error-message'

export interface AdminKeyPair {
  /** OpenSSH private key (PEM-armoured "OPENSSH PRIVATE KEY"). A secret: never log it. */
  readonly privateKey: string
  /** One authorized_keys line: `ssh-ed25519 AAAA... crowbar-admin`. */
  readonly publicKey: string
  readonly privateKeyPath: string
}

/** The key files exist but cannot be used; the message says which file and what to do. */
export class AdminKeyError extends Error {
  override readonly name = 'AdminKeyError'
}

export const ADMIN_KEY_COMMENT = 'crowbar-admin'
export const ADMIN_KEY_FILE = 'admin_ed25519'

export async function ensureAdminKeyPair(dataDir: string): Promise<AdminKeyPair> {
  const dir = join(dataDir, 'ssh')
  const privateKeyPath = join(dir, ADMIN_KEY_FILE)
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 })
    // mkdir's mode is masked by the umask and ignored for an existing directory.
    await chmod(dir, 0o700)
  } catch (err) {
    throw new AdminKeyError(`cannot create ${dir} for the admin SSH key: ${messageOf(err)}`)
  }
  const existing = await readOptional(privateKeyPath)
  if (existing !== undefined) return loadPair(privateKeyPath, existing)
  if ((await readOptional(`${privateKeyPath}.pub`)) !== undefined) {
    // Nodes may trust that public key: a new pair would lock the framework out of them silently.
    throw new AdminKeyError(
      `the admin SSH private key ${privateKeyPath} is missing but its public key ${privateKeyPath}.pub is there: ` +
        `restore the private key from a backup, or delete the .pub file to create a new pair ` +
        `(nodes that trust the old key must then be given the new one)`
    )
  }
  return createPair(privateKeyPath)
}

async function createPair(privateKeyPath: string): Promise<AdminKeyPair> {
  // Not ssh2's generateKeyPairSync: it strips leading zero bytes from ed25519 public keys, so about
  // 1 key in 256 is malformed (mscdex/ssh2#1390, #1513, open in 1.17.0).
  const generated = openSshEd25519Pair(generateKeyPairSync('ed25519').privateKey, ADMIN_KEY_COMMENT)
  // Written under a temporary name and hard-linked into place: link() refuses to replace a file, so
  // two processes starting at once cannot overwrite each other's key or leave a half-written one.
  const temp = `${privateKeyPath}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`
  try {
    await writeFile(temp, generated.privateKey, { mode: 0o600, flag: 'wx' })
    await link(temp, privateKeyPath)
  } catch (err) {
    if (errnoCodeOf(err) !== 'EEXIST') throw new AdminKeyError(`cannot write the admin SSH key ${privateKeyPath}: ${messageOf(err)}`)
  } finally {
    await unlink(temp).catch(() => undefined)
  }
  const winner = await readOptional(privateKeyPath)
  if (winner === undefined) throw new AdminKeyError(`the admin SSH key ${privateKeyPath} vanished while it was being created`)
  return loadPair(privateKeyPath, winner)
}

async function loadPair(privateKeyPath: string, privateKey: string): Promise<AdminKeyPair> {
  const parsed = parsePrivateKey(privateKeyPath, privateKey)
  await tightenMode(privateKeyPath)
  const publicKey = authorizedKeyLine(parsed)
  const publicKeyPath = `${privateKeyPath}.pub`
  const publicText = await readOptional(publicKeyPath)
  if (publicText === undefined) {
    // Derived from the private key, so re-creating it is always safe.
    await writeFile(publicKeyPath, `${publicKey}\n`, { mode: 0o600 })
  } else if (!sameKey(publicText, parsed)) {
    throw new AdminKeyError(
      `the admin SSH public key ${publicKeyPath} does not match the private key ${privateKeyPath}: ` +
        `delete ${publicKeyPath} and it will be re-created from the private key`
    )
  }
  return { privateKey, publicKey, privateKeyPath }
}

/**
 * An ed25519 key in OpenSSH's formats: the unencrypted "openssh-key-v1" private key (PROTOCOL.key)
 * and the authorized_keys line.
 */
export function openSshEd25519Pair(key: KeyObject, comment: string): { privateKey: string; publicKey: string } {
  const jwk = key.export({ format: 'jwk' })
  if (jwk.crv !== 'Ed25519' || !jwk.d || !jwk.x) throw new Error('openSshEd25519Pair needs an ed25519 private key')
  const seed = Buffer.from(jwk.d, 'base64url')
  const pub = Buffer.from(jwk.x, 'base64url')
  const type = Buffer.from('ssh-ed25519')
  const publicBlob = sshStrings(type, pub)
  // The check integers let a reader detect a wrong passphrase; random, and equal to each other.
  const check = randomBytes(4)
  let secret = Buffer.concat([check, check, sshStrings(type, pub, Buffer.concat([seed, pub]), Buffer.from(comment))])
  const padding = Buffer.from(Array.from({ length: (8 - (secret.length % 8)) % 8 }, (_, i) => i + 1))
  secret = Buffer.concat([secret, padding])
  const body = Buffer.concat([
    Buffer.from('openssh-key-v1\0'),
    sshStrings(Buffer.from('none'), Buffer.from('none'), Buffer.alloc(0)),
    uint32(1),
    sshStrings(publicBlob, secret)
  ])
  const lines = body.toString('base64').match(/.{1,70}/g) ?? []
  return {
    privateKey: ['-----BEGIN OPENSSH PRIVATE KEY-----', ...lines, '-----END OPENSSH PRIVATE KEY-----', ''].join('\n'),
    publicKey: `ssh-ed25519 ${publicBlob.toString('base64')} ${comment}`
  }
}

function sshStrings(...values: Buffer[]): Buffer {
  return Buffer.concat(values.flatMap((v) => [uint32(v.length), v]))
}

function uint32(n: number): Buffer {
  const b = Buffer.alloc(4)
  b.writeUInt32BE(n)
  return b
}

function parsePrivateKey(path: string, text: string): ParsedKey {
  const parsed = ssh2.utils.parseKey(text)
  const what = `the admin SSH key ${path}`
  const fix = `restore it from a backup, or move it away (and its .pub) to create a new pair that nodes must then be given`
  if (parsed instanceof Error) throw new AdminKeyError(`${what} cannot be read (${parsed.message}): ${fix}`)
  if (!parsed.isPrivateKey()) throw new AdminKeyError(`${what} holds no private key: ${fix}`)
  return parsed
}

function authorizedKeyLine(key: ParsedKey): string {
  return `${key.type} ${key.getPublicSSH().toString('base64')} ${ADMIN_KEY_COMMENT}`
}

function sameKey(publicText: string, privateKey: ParsedKey): boolean {
  const parsed = ssh2.utils.parseKey(publicText.trim())
  return !(parsed instanceof Error) && parsed.getPublicSSH().equals(privateKey.getPublicSSH())
}

/** The key grants root on every node: keep it readable by its owner only, as OpenSSH demands. */
async function tightenMode(path: string): Promise<void> {
  const { mode } = await stat(path)
  if ((mode & 0o077) !== 0) await chmod(path, 0o600)
}

async function readOptional(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8')
  } catch (err) {
    if (errnoCodeOf(err) === 'ENOENT') return undefined
    throw new AdminKeyError(`cannot read ${path}: ${messageOf(err)}: check its owner and permissions`)
  }
}
