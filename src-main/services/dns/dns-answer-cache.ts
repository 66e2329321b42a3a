// Encoded UDP replies remembered per question, so a repeated question costs a copy and a few byte
// patches instead of decode, policy and encode. Pure: no sockets; the server decides what to store.
import { ADVERTISED_UDP_SIZE } from './dns-zone'
import { DnsType, HEADER_SIZE } from './dns-codec'

/** Where a cacheable query's reply is found, and how much of the query the reply echoes. */
export interface AnswerKey {
  /** Question (name ASCII-lowercased, type, class) plus what shapes the reply: EDNS, DO, UDP limit. */
  readonly key: string
  /** End of the question section: bytes 12 to here are copied from the query into the reply. */
  readonly questionEnd: number
}

/** Beyond this many replies the cache starts over, so random names cannot grow it without bound. */
export const MAX_CACHED_ANSWERS = 10_000

const MAX_NAME_WIRE = 255
const MAX_LABEL = 63
const OPT_FIXED = 11

/**
 * The key of a plain query: QR clear, opcode QUERY, one question with an uncompressed ASCII name,
 * no records but at most one well-formed EDNS version 0 OPT. Anything else is null and takes the
 * full path, which stays the one place that judges odd messages. Never throws.
 */
export function answerKeyOf(query: Buffer): AnswerKey | null {
  const length = query.length
  if (length < HEADER_SIZE + 5) return null
  const flags = query[2] ?? 0xff
  // QR (0x80) and opcode (0x78) must both be zero.
  if ((flags & 0xf8) !== 0) return null
  if (query.readUInt16BE(4) !== 1 || query.readUInt16BE(6) !== 0 || query.readUInt16BE(8) !== 0) return null
  const additional = query.readUInt16BE(10)
  if (additional > 1) return null
  let pos = HEADER_SIZE
  for (;;) {
    if (pos >= length) return null
    const label = query[pos] ?? 0
    if (label === 0) break
    // Pointers and extended label types (top bits set) are above 63 too.
    if (label > MAX_LABEL || pos + 1 + label > length) return null
    for (let i = pos + 1; i <= pos + label; i++) if ((query[i] ?? 0x80) >= 0x80) return null
    pos += 1 + label
    if (pos + 1 - HEADER_SIZE > MAX_NAME_WIRE) return null
  }
  const questionEnd = pos + 5
  if (questionEnd > length) return null
  if (query.readUInt16BE(pos + 1) === DnsType.OPT) return null
  let shape = 'N'
  if (additional === 1) {
    const opt = questionEnd
    if (opt + OPT_FIXED > length || query[opt] !== 0 || query.readUInt16BE(opt + 1) !== DnsType.OPT) return null
    // Root name, type, class (the UDP size), then the TTL field: extended rcode, version, flags
    // (DO at the top). Another version gets BADVERS from the full path.
    if (query[opt + 6] !== 0) return null
    const dnssecOk = ((query[opt + 7] ?? 0) & 0x80) !== 0
    const end = opt + OPT_FIXED + query.readUInt16BE(opt + 9)
    if (end > length) return null
    for (let at = opt + OPT_FIXED; at < end; ) {
      if (at + 4 > end) return null
      at += 4 + query.readUInt16BE(at + 2)
      if (at > end) return null
    }
    const limit = Math.max(512, Math.min(query.readUInt16BE(opt + 3), ADVERTISED_UDP_SIZE))
    shape = `${dnssecOk ? 'D' : 'E'}${limit}`
  }
  // Only ASCII bytes are in the name, so toLowerCase folds exactly what DNS folds (RFC 4343).
  return { key: `${query.toString('latin1', HEADER_SIZE, questionEnd).toLowerCase()}|${shape}`, questionEnd }
}

/** Replies for one zone object: a new zone object empties it, so a change is served at once. */
export class AnswerCache {
  private zone: object | undefined
  private readonly replies = new Map<string, Buffer>()

  constructor(private readonly maxEntries = MAX_CACHED_ANSWERS) {}

  get size(): number {
    return this.replies.size
  }

  /**
   * A fresh reply to `query` when one for its key is cached: the cached bytes with the query's ID,
   * RD and CD bits and question (its letter case: resolvers and dig check the echo).
   */
  replyTo(zone: object, at: AnswerKey, query: Buffer): Buffer | null {
    if (zone !== this.zone) {
      this.zone = zone
      this.replies.clear()
      return null
    }
    const cached = this.replies.get(at.key)
    if (!cached) return null
    const out = Buffer.allocUnsafe(cached.length)
    cached.copy(out, 0)
    query.copy(out, 0, 0, 2)
    out[2] = ((cached[2] ?? 0) & ~0x01) | ((query[2] ?? 0) & 0x01)
    out[3] = ((cached[3] ?? 0) & ~0x10) | ((query[3] ?? 0) & 0x10)
    query.copy(out, HEADER_SIZE, HEADER_SIZE, at.questionEnd)
    return out
  }

  /**
   * Keeps `reply` (not modified later by the caller) for queries with this key. Only a reply that
   * echoes the question byte for byte where a hit would patch it is kept; others are not cacheable.
   */
  remember(zone: object, at: AnswerKey, query: Buffer, reply: Buffer): void {
    if (zone !== this.zone) {
      this.zone = zone
      this.replies.clear()
    }
    if (reply.length < at.questionEnd || reply.readUInt16BE(4) !== 1) return
    if (!reply.subarray(HEADER_SIZE, at.questionEnd).equals(query.subarray(HEADER_SIZE, at.questionEnd))) return
    if (this.replies.size >= this.maxEntries) this.replies.clear()
    this.replies.set(at.key, reply)
  }
}
