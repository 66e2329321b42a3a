import { execFile } from 'node:child_process'
import { generateKeyPairSync } from 'node:crypto'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import ssh2 from 'ssh2'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createNode } from '../../domain/nodes'
import { STORE_KINDS } from '../../testing/test-stores'
import { FIXED_TIME, startTestApp, type TestApp } from '../../testing/test-app'
import { openSshEd25519Pair } from './admin-keys'
import { fingerprintOf, HostKeyChangedError, HostKeyPins, keyTypeOf, type PinTarget } from './host-key-pins'

function hostKey(type: 'ed25519' | 'ecdsa' = 'ed25519'): { blob: Buffer; line: string } {
  // ed25519 through our encoder: ssh2's generator makes a malformed key about once in 256.
  const line =
    type === 'ecdsa'
      ? ssh2.utils.generateKeyPairSync('ecdsa', { bits: 256 }).public
      : openSshEd25519Pair(generateKeyPairSync('ed25519').privateKey, 'test').publicKey
  const parsed = ssh2.utils.parseKey(line)
  if (parsed instanceof Error) throw parsed
  return { blob: parsed.getPublicSSH(), line }
}

describe('host key fingerprints', () => {
  it('match what ssh-keygen prints after SHA256:', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'crowbar-fp-'))
    try {
      const key = hostKey()
      await writeFile(join(dir, 'key.pub'), `${key.line}\n`)
      const { stdout } = await promisify(execFile)('ssh-keygen', ['-l', '-E', 'sha256', '-f', join(dir, 'key.pub')], { timeout: 10_000 })
      expect(stdout).toContain(`SHA256:${fingerprintOf(key.blob)} `)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  it('reads the key type from a blob and rejects malformed blobs', () => {
    expect(keyTypeOf(hostKey().blob)).toBe('ssh-ed25519')
    expect(keyTypeOf(Buffer.from([0, 0, 0]))).toBeUndefined()
    expect(keyTypeOf(Buffer.from([0, 0, 0, 20, 65]))).toBeUndefined()
    expect(keyTypeOf(Buffer.from([0xff, 0xff, 0xff, 0xff, 65]))).toBeUndefined()
  })
})

describe.each(STORE_KINDS)('host key pins on %s', (kind) => {
  let app: TestApp
  let pins: HostKeyPins
  let n1: PinTarget
  let n2: PinTarget
  beforeEach(async () => {
    app = await startTestApp(kind)
    pins = new HostKeyPins(app.ctx.db, app.ctx.clock)
    const node = async (name: string): Promise<PinTarget> => {
      const created = await createNode(app.ctx, { name, description: '', admin: false, alive: true, available: true, bootenv: 'local', hint: {} })
      return { nodeId: created.id, name: created.name }
    }
    n1 = await node('n1.lab.test')
    n2 = await node('n2.lab.test')
  })
  afterEach(() => app.dispose())

  it('pins the first key a node shows and accepts it afterwards', async () => {
    const key = hostKey()
    expect(await pins.check(n1, key.blob)).toEqual({ result: 'pinned', keyType: 'ssh-ed25519', fingerprint: fingerprintOf(key.blob) })
    expect(await pins.check(n1, key.blob)).toEqual({ result: 'matched', keyType: 'ssh-ed25519', fingerprint: fingerprintOf(key.blob) })
    expect(await pins.pinned(n1.nodeId)).toEqual([
      { keyType: 'ssh-ed25519', fingerprint: fingerprintOf(key.blob), firstSeenAt: FIXED_TIME.toISOString() }
    ])
  })

  it('refuses a different key for the same node with a message naming both fingerprints and the way out', async () => {
    const old = hostKey()
    const now = hostKey()
    await pins.check(n1, old.blob)
    const outcome = await pins.check(n1, now.blob)
    expect(outcome.result).toBe('refused')
    if (outcome.result !== 'refused') return
    expect(outcome.error).toBeInstanceOf(HostKeyChangedError)
    expect(outcome.error.message).toBe(
      `host key of n1.lab.test changed (was SHA256:${fingerprintOf(old.blob)}, now SHA256:${fingerprintOf(now.blob)}): ` +
        `if the node was reinstalled, forget its key with POST /api/v2/nodes/${n1.nodeId}/forget-host-key ` +
        `and retry; if it was not, another machine may be answering at its address`
    )
  })

  it('refuses a key of another type than the pinned one, so an impostor cannot dodge the pin', async () => {
    await pins.check(n1, hostKey('ed25519').blob)
    const outcome = await pins.check(n1, hostKey('ecdsa').blob)
    expect(outcome.result).toBe('refused')
    if (outcome.result === 'refused') expect(outcome.error.message).toMatch(/was ssh-ed25519 SHA256:.*, now ecdsa-sha2-nistp256 SHA256:/)
  })

  it('pins per node: the same key may serve two nodes, and forgetting one leaves the other', async () => {
    const key = hostKey()
    await pins.check(n1, key.blob)
    expect((await pins.check(n2, key.blob)).result).toBe('pinned')
    expect(await pins.forget(n1.nodeId)).toBe(1)
    expect(await pins.pinned(n1.nodeId)).toEqual([])
    expect(await pins.pinned(n2.nodeId)).toHaveLength(1)
  })

  it('after forget, the next key is pinned afresh', async () => {
    await pins.check(n1, hostKey().blob)
    await pins.forget(n1.nodeId)
    expect((await pins.check(n1, hostKey().blob)).result).toBe('pinned')
  })

  it('concurrent first contacts with different keys pin exactly one of them', async () => {
    const keys = [hostKey(), hostKey(), hostKey()]
    const outcomes = await Promise.all(keys.map((k) => pins.check(n1, k.blob)))
    expect(outcomes.filter((o) => o.result === 'pinned')).toHaveLength(1)
    expect(outcomes.filter((o) => o.result === 'refused')).toHaveLength(2)
    expect(await pins.pinned(n1.nodeId)).toHaveLength(1)
  })

  it('offers pinned host key types first', async () => {
    expect((await pins.preferredHostKeyAlgorithms(n1.nodeId))[0]).toBe('ssh-ed25519')
    await pins.check(n1, hostKey('ecdsa').blob)
    expect((await pins.preferredHostKeyAlgorithms(n1.nodeId)).slice(0, 2)).toEqual(['ecdsa-sha2-nistp256', 'ssh-ed25519'])
  })
})
