// SSH host key pinning per node (trust on first use): the first key a node presents is stored in
// ssh_host_keys; a different key later is refused, because a node answering with a new key is
// either reinstalled (the operator says so by forgetting the old key) or not the node at all.
import { createHash } from 'node:crypto'
import type { HostVerifier } from 'ssh2'
import { messageOf } from '../../base/error-message'
import type { Clock } from '../../domain/context'
import type { DB } from '../../store/database'

export interface PinTarget {
  readonly nodeId: number
  /** The node's FQDN, for messages. */
  readonly name: string
}

export interface PinnedKey {
  readonly keyType: string
  /** Base64 SHA-256 of the key blob, unpadded, as OpenSSH prints it after `SHA256:`. */
  readonly fingerprint: string
  readonly firstSeenAt: string
}

export type PinCheck =
  | { readonly result: 'pinned' | 'matched'; readonly keyType: string; readonly fingerprint: string }
  | { readonly result: 'refused'; readonly error: HostKeyChangedError | HostKeyUnreadableError }

/** The node presented a key other than the pinned one. Not a reachability problem: never retry blindly. */
export class HostKeyChangedError extends Error {
  override readonly name = 'HostKeyChangedError'
  constructor(
    readonly nodeId: number,
    readonly nodeName: string,
    readonly pinned: { readonly keyType: string; readonly fingerprint: string },
    readonly presented: { readonly keyType: string; readonly fingerprint: string }
  ) {
    const was = describeKey(pinned, presented.keyType !== pinned.keyType)
    const now = describeKey(presented, presented.keyType !== pinned.keyType)
    super(
      `host key of ${nodeName} changed (was ${was}, now ${now}): if the node was reinstalled, forget its key ` +
        `with POST /api/v2/nodes/${nodeId}/forget-host-key and retry; ` +
        `if it was not, another machine may be answering at its address`
    )
  }
}

/** The key blob the server sent could not be parsed. */
export class HostKeyUnreadableError extends Error {
  override readonly name = 'HostKeyUnreadableError'
}

/** The host key algorithms ssh2 may negotiate, strongest first. */
const HOST_KEY_ALGORITHMS = [
  'ssh-ed25519',
  'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521',
  'rsa-sha2-512',
  'rsa-sha2-256',
  'ssh-rsa'
] as const
export type HostKeyAlgorithm = (typeof HOST_KEY_ALGORITHMS)[number]

export class HostKeyPins {
  constructor(
    private readonly db: DB,
    private readonly clock: Clock
  ) {}

  /** Pins the key on first contact, accepts the pinned key, refuses any other (any other type too). */
  async check(target: PinTarget, keyBlob: Buffer): Promise<PinCheck> {
    const presentedType = keyTypeOf(keyBlob)
    if (presentedType === undefined) {
      return { result: 'refused', error: new HostKeyUnreadableError(`${target.name} sent a host key that cannot be parsed`) }
    }
    const presented = { keyType: presentedType, fingerprint: fingerprintOf(keyBlob) }
    let pins = await this.pinned(target.nodeId)
    if (pins.length === 0) {
      // Concurrent first contacts race here; the primary key keeps one, and the re-read below
      // compares against whichever won.
      await this.db
        .insertInto('ssh_host_keys')
        .values({
          node_id: target.nodeId,
          key_type: presented.keyType,
          fingerprint: presented.fingerprint,
          first_seen_at: this.clock().toISOString()
        })
        .onConflict((oc) => oc.columns(['node_id', 'key_type']).doNothing())
        .execute()
      pins = await this.pinned(target.nodeId)
      const won = pins.find((p) => p.keyType === presented.keyType && p.fingerprint === presented.fingerprint)
      if (won && pins.length === 1) return { result: 'pinned', ...presented }
    }
    const sameType = pins.find((p) => p.keyType === presented.keyType)
    if (sameType?.fingerprint === presented.fingerprint) return { result: 'matched', ...presented }
    // A key of a type never pinned is refused as well: otherwise an impostor could skip the check
    // by offering only another algorithm. Connections prefer pinned types, so a real node that
    // still has its key presents it (see preferredHostKeyAlgorithms).
    const pinned = sameType ?? pins[0]
    if (!pinned) return { result: 'refused', error: new HostKeyUnreadableError(`the host key pin of ${target.name} vanished meanwhile; retry`) }
    return { result: 'refused', error: new HostKeyChangedError(target.nodeId, target.name, pinned, presented) }
  }

  /**
   * A verifier for ssh2's `hostVerifier` option (its async form: `(key, verify)`, key being the raw
   * blob because no `hostHash` is set). A refusal's reason goes to `onRefused` before the
   * handshake fails, so the caller can report it instead of ssh2's "Host denied".
   */
  hostVerifier(target: PinTarget, onRefused: (error: Error) => void): HostVerifier {
    return (key, verify) => {
      this.check(target, key).then(
        (outcome) => {
          if (outcome.result === 'refused') onRefused(outcome.error)
          verify(outcome.result !== 'refused')
        },
        (err: unknown) => {
          onRefused(new HostKeyUnreadableError(`cannot check the host key of ${target.name}: ${messageOf(err)}`))
          verify(false)
        }
      )
    }
  }

  async pinned(nodeId: number): Promise<PinnedKey[]> {
    const rows = await this.db
      .selectFrom('ssh_host_keys')
      .select(['key_type', 'fingerprint', 'first_seen_at'])
      .where('node_id', '=', nodeId)
      .orderBy('key_type')
      .execute()
    return rows.map((r) => ({ keyType: r.key_type, fingerprint: r.fingerprint, firstSeenAt: r.first_seen_at }))
  }

  /** Host key algorithms to offer: pinned types first, so a node with several keys shows the pinned one. */
  async preferredHostKeyAlgorithms(nodeId: number): Promise<HostKeyAlgorithm[]> {
    const types = new Set((await this.pinned(nodeId)).map((p) => p.keyType))
    const isPinned = (algo: HostKeyAlgorithm): boolean => types.has(algo.startsWith('rsa-sha2-') ? 'ssh-rsa' : algo)
    return [...HOST_KEY_ALGORITHMS.filter(isPinned), ...HOST_KEY_ALGORITHMS.filter((a) => !isPinned(a))]
  }

  /** Forgets every pinned key of the node (after a reinstall); the next contact pins afresh. */
  async forget(nodeId: number): Promise<number> {
    const result = await this.db.deleteFrom('ssh_host_keys').where('node_id', '=', nodeId).executeTakeFirst()
    return Number(result.numDeletedRows)
  }
}

/** OpenSSH's SHA256 fingerprint of a key blob, without the `SHA256:` prefix. */
export function fingerprintOf(keyBlob: Buffer): string {
  return createHash('sha256').update(keyBlob).digest('base64').replace(/=+$/, '')
}

/** The key type named at the start of an SSH public key blob (string: uint32 length + bytes). */
export function keyTypeOf(keyBlob: Buffer): string | undefined {
  if (keyBlob.length < 4) return undefined
  const length = keyBlob.readUInt32BE(0)
  if (length === 0 || length > 64 || keyBlob.length < 4 + length) return undefined
  const type = keyBlob.subarray(4, 4 + length).toString('latin1')
  return /^[\x21-\x7e]+$/.test(type) ? type : undefined
}

function describeKey(key: { keyType: string; fingerprint: string }, withType: boolean): string {
  return withType ? `${key.keyType} SHA256:${key.fingerprint}` : `SHA256:${key.fingerprint}`
}
