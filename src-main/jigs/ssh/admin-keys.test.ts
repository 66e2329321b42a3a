import { execFile } from 'node:child_process'
import { generateKeyPairSync, type KeyObject } from 'node:crypto'
import { mkdtemp, readFile, rm, stat, unlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import ssh2 from 'ssh2'
import { AdminKeyError, ensureAdminKeyPair, openSshEd25519Pair } from './admin-keys'

describe('admin SSH key pair', () => {
  let dataDir: string
  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'crowbar-keys-'))
  })
  afterEach(() => rm(dataDir, { recursive: true, force: true }))

  it('is created once as ed25519 with a 0600 private key and reused on the next call', async () => {
    const first = await ensureAdminKeyPair(dataDir)
    expect(first.privateKeyPath).toBe(join(dataDir, 'ssh', 'admin_ed25519'))
    expect(first.privateKey).toMatch(/^-----BEGIN OPENSSH PRIVATE KEY-----\n/)
    expect(first.publicKey).toMatch(/^ssh-ed25519 AAAA[A-Za-z0-9+/=]+ crowbar-admin$/)
    expect((await stat(first.privateKeyPath)).mode & 0o777).toBe(0o600)
    expect((await stat(join(dataDir, 'ssh'))).mode & 0o777).toBe(0o700)
    expect((await readFile(`${first.privateKeyPath}.pub`, 'utf8')).trim()).toBe(first.publicKey)

    const second = await ensureAdminKeyPair(dataDir)
    expect(second).toEqual(first)
  })

  it('writes a key OpenSSH itself accepts, and the public line it derives from it', async () => {
    const pair = await ensureAdminKeyPair(dataDir)
    const { stdout } = await promisify(execFile)('ssh-keygen', ['-y', '-f', pair.privateKeyPath], { timeout: 10_000 })
    expect(stdout.trim()).toBe(pair.publicKey)
  })

  it('encodes ed25519 keys whose public half starts with a zero byte (ssh2 keygen drops it)', async () => {
    let key: KeyObject | undefined
    // About one key in 256 starts with 0x00; bounded so a broken generator cannot loop forever.
    for (let i = 0; i < 20_000 && !key; i++) {
      const candidate = generateKeyPairSync('ed25519')
      if (Buffer.from(candidate.publicKey.export({ format: 'jwk' }).x ?? '', 'base64url')[0] === 0) key = candidate.privateKey
    }
    if (!key) throw new Error('no ed25519 key with a leading zero byte in 20000 tries')
    const pair = openSshEd25519Pair(key, 'crowbar-admin')
    const parsed = ssh2.utils.parseKey(pair.privateKey)
    expect(parsed).not.toBeInstanceOf(Error)
    const path = join(dataDir, 'zero_key')
    await writeFile(path, pair.privateKey, { mode: 0o600 })
    const { stdout } = await promisify(execFile)('ssh-keygen', ['-y', '-f', path], { timeout: 10_000 })
    expect(stdout.trim()).toBe(pair.publicKey)
  })

  it('concurrent first starts end with one key pair', async () => {
    const pairs = await Promise.all([1, 2, 3, 4].map(() => ensureAdminKeyPair(dataDir)))
    expect(new Set(pairs.map((p) => p.privateKey)).size).toBe(1)
  })

  it('re-creates a missing public key from the private key', async () => {
    const pair = await ensureAdminKeyPair(dataDir)
    await unlink(`${pair.privateKeyPath}.pub`)
    expect(await ensureAdminKeyPair(dataDir)).toEqual(pair)
    expect((await readFile(`${pair.privateKeyPath}.pub`, 'utf8')).trim()).toBe(pair.publicKey)
  })

  it('refuses a corrupt private key with a message saying what to do, and leaves the file alone', async () => {
    const pair = await ensureAdminKeyPair(dataDir)
    await writeFile(pair.privateKeyPath, 'not a key\n')
    const err: unknown = await ensureAdminKeyPair(dataDir).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(AdminKeyError)
    expect((err as Error).message).toMatch(/admin_ed25519 cannot be read .*restore it from a backup/)
    expect(await readFile(pair.privateKeyPath, 'utf8')).toBe('not a key\n')
  })

  it('refuses to make a new pair when only the public key is left, since nodes trust it', async () => {
    const pair = await ensureAdminKeyPair(dataDir)
    await unlink(pair.privateKeyPath)
    await expect(ensureAdminKeyPair(dataDir)).rejects.toThrow(/private key .* is missing .*restore the private key/)
  })

  it('refuses a public key that does not match the private key', async () => {
    const pair = await ensureAdminKeyPair(dataDir)
    const other = await ensureAdminKeyPair(join(dataDir, 'other'))
    await writeFile(`${pair.privateKeyPath}.pub`, `${other.publicKey}\n`)
    await expect(ensureAdminKeyPair(dataDir)).rejects.toThrow(/does not match the private key/)
  })
})
