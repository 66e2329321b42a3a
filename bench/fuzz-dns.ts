// npm run fuzz, DNS: queries of every type the cluster sees (A, AAAA, PTR, NS, SOA, ANY, AXFR, and
// ones we hold nothing for), with EDNS and its options, written by hand so that counts can lie,
// compression pointers can loop, run forward, chain past the hop limit or land mid-label, labels
// can use the reserved types, and OPT can appear twice or in the wrong section; then byte
// mutations. The target runs the decoder, the answer-cache key, the policy, the answer cache and
// re-encoding on what decodes.
import { performance } from 'node:perf_hooks'
import { answerKeyOf, AnswerCache } from '../src-main/services/dns/dns-answer-cache'
import {
  decodeMessage,
  DnsEncodeError,
  DnsRcode,
  DnsType,
  encodeMessage,
  isDecodeError,
  type DnsMessage
} from '../src-main/services/dns/dns-codec'
import { formatErrorReply, policy, serverFailureReply, truncatedReply, udpLimitOf, type DnsZone } from '../src-main/services/dns/dns-zone'
import { mutateBytes } from './fuzz-mutate'
import type { Rng } from './fuzz-rng'
import { check, InvariantFailure, type FuzzTarget } from './fuzz-target'

const range = (prefix: string, count: number): string[] => Array.from({ length: count }, (_, i) => `${prefix}${i + 1}`)

/** The zone both phases serve: small hosts, one that needs EDNS, one that needs TCP, IPv6. */
export const FUZZ_ZONE: DnsZone = {
  domain: 'cluster.test',
  ttl: 300,
  nameserver: { fqdn: 'admin.cluster.test', addresses: ['192.168.124.10', 'fd00:1::10'] },
  hosts: [
    { fqdn: 'node1.cluster.test', addresses: ['192.168.124.81', 'fd00:1::81'] },
    { fqdn: 'node2.rack1.cluster.test', addresses: ['192.168.124.82'] },
    { fqdn: 'medium.cluster.test', addresses: range('10.40.0.', 40) },
    { fqdn: 'big.cluster.test', addresses: range('10.100.0.', 100) }
  ]
}

/** What the socket phase's upstream serves, so forwarded names have an answer. */
export const UPSTREAM_ZONE: DnsZone = {
  domain: 'upstream.test',
  ttl: 60,
  nameserver: { fqdn: 'ns.upstream.test', addresses: ['10.1.0.53'] },
  hosts: [{ fqdn: 'www.upstream.test', addresses: ['10.1.0.80'] }]
}

const NAMES = [
  'node1.cluster.test',
  'NODE1.Cluster.TEST',
  'admin.cluster.test',
  'cluster.test',
  'rack1.cluster.test',
  'node2.rack1.cluster.test',
  'medium.cluster.test',
  'big.cluster.test',
  'nope.cluster.test',
  'sub.node1.cluster.test',
  '81.124.168.192.in-addr.arpa',
  '124.168.192.in-addr.arpa',
  '99.124.168.192.in-addr.arpa',
  '1.8.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.1.0.0.0.0.0.d.f.ip6.arpa',
  '0.0.0.0.0.0.0.0.1.0.0.0.0.0.d.f.ip6.arpa',
  'www.upstream.test',
  'missing.upstream.test',
  'example.com',
  'localhost',
  ''
] as const

const TYPES = [
  DnsType.A,
  DnsType.A,
  DnsType.AAAA,
  DnsType.PTR,
  DnsType.NS,
  DnsType.SOA,
  DnsType.ANY,
  DnsType.AXFR,
  DnsType.IXFR,
  DnsType.OPT,
  DnsType.CNAME,
  15,
  16,
  33,
  65,
  97,
  0,
  0xffff
] as const

/** A growing message with the offsets of names already written, for compression pointers. */
class Writer {
  private buf = Buffer.alloc(512)
  length = 0
  /** Where each name (and each of its suffixes) starts. */
  readonly nameOffsets: number[] = []

  private room(n: number): void {
    if (this.length + n <= this.buf.length) return
    const next = Buffer.alloc(Math.max(this.buf.length * 2, this.length + n))
    this.buf.copy(next, 0, 0, this.length)
    this.buf = next
  }

  u8(v: number): void {
    this.room(1)
    this.buf[this.length++] = v & 0xff
  }

  u16(v: number): void {
    this.room(2)
    this.buf.writeUInt16BE(v & 0xffff, this.length)
    this.length += 2
  }

  u32(v: number): void {
    this.room(4)
    this.buf.writeUInt32BE(v >>> 0, this.length)
    this.length += 4
  }

  bytes(b: Buffer): void {
    this.room(b.length)
    b.copy(this.buf, this.length)
    this.length += b.length
  }

  setU16(at: number, v: number): void {
    this.buf.writeUInt16BE(v & 0xffff, at)
  }

  done(): Buffer {
    return Buffer.from(this.buf.subarray(0, this.length))
  }

  /** A name as labels, ended by the root, a pointer of the chosen kind, or nothing. */
  name(labels: readonly Buffer[], rng: Rng): void {
    const start = this.length
    for (const label of labels) {
      this.nameOffsets.push(this.length)
      const kind = rng.chance(0.995) ? 0 : rng.pick([0x40, 0x80])
      const declared = rng.chance(0.995) ? label.length : rng.pick([label.length + 1, 63, 0x3f, label.length - 1])
      this.u8(kind | (declared & 0x3f))
      this.bytes(label)
    }
    const r = rng.int(1000)
    if (r < 800 || this.nameOffsets.length === 0) {
      this.u8(0)
    } else if (r < 960) {
      // Ordinary compression: point back at an earlier name or suffix.
      const earlier = this.nameOffsets.filter((o) => o < start)
      this.u16(0xc000 | (earlier.length > 0 ? rng.pick(earlier) : 12))
    } else if (r < 970) {
      this.u16(0xc000 | this.length) // to itself
    } else if (r < 978) {
      this.u16(0xc000 | start) // to its own first label: a loop
    } else if (r < 985) {
      this.u16(0xc000 | (this.length + rng.range(2, 40))) // forward
    } else if (r < 990) {
      this.u16(0xc000 | rng.int(12)) // into the header
    } else if (r < 995) {
      this.u16(0xc000 | (start + 1 + rng.int(Math.max(1, this.length - start - 1)))) // mid-label
    } else if (r < 998) {
      this.u16(0xc000 | rng.int(0x4000)) // anywhere, often past the end
    }
    // else: no terminator at all
  }
}

function labelsOf(name: string): Buffer[] {
  return name === '' ? [] : name.split('.').map((l) => Buffer.from(l, 'latin1'))
}

function weirdLabels(rng: Rng): Buffer[] {
  switch (rng.int(8)) {
    case 0:
      // 255 bytes on the wire: the longest legal name.
      return [Buffer.alloc(63, 0x61), Buffer.alloc(63, 0x62), Buffer.alloc(63, 0x63), Buffer.alloc(61, 0x64)]
    case 1:
      return [Buffer.alloc(63, 0x61), Buffer.alloc(63, 0x62), Buffer.alloc(63, 0x63), Buffer.alloc(62, 0x64)] // 256: too long
    case 2:
      return Array.from({ length: 127 }, () => Buffer.from('a')) // 255 with 127 labels
    case 3:
      return [Buffer.from('a.b'), Buffer.from('back\\slash'), Buffer.from('cluster'), Buffer.from('test')]
    case 4:
      return [Buffer.from([0, 1, 0x20, 0x7f, 0x80, 0xff]), Buffer.from('cluster'), Buffer.from('test')]
    case 5:
      return [Buffer.from('\\046'), ...labelsOf('cluster.test')]
    case 6:
      return [Buffer.alloc(0), Buffer.from('test')] // an empty label mid-name ends the name early
    default:
      return Array.from({ length: rng.range(1, 6) }, () => rng.bytes(rng.range(1, 20)))
  }
}

function questionName(rng: Rng): Buffer[] {
  return rng.chance(0.9) ? labelsOf(rng.pick(NAMES)) : weirdLabels(rng)
}

function ednsOptions(w: Writer, rng: Rng): void {
  const n = rng.chance(0.5) ? 0 : rng.range(1, 4)
  for (let i = 0; i < n; i++) {
    const code = rng.pick([10, 10, 3, 8, 11, 12, 15, 0, 0xffff, rng.int(0x10000)])
    let data: Buffer
    switch (code) {
      case 10:
        data = rng.bytes(rng.pick([8, 24, 16, 7, 40]))
        break
      case 8:
        data = Buffer.from([0, 1, 24, 0, 192, 168, 124])
        break
      case 12:
        data = Buffer.alloc(rng.int(300))
        break
      default:
        data = rng.bytes(rng.int(12))
    }
    w.u16(code)
    w.u16(rng.chance(0.95) ? data.length : rng.pick([data.length + 1, data.length + 100, 0xffff, 0]))
    w.bytes(data)
  }
}

function opt(w: Writer, rng: Rng): void {
  // The owner must be the root; now and then it is not.
  if (rng.chance(0.98)) w.u8(0)
  else w.bytes(Buffer.from([1, 0x61, 0]))
  w.u16(DnsType.OPT)
  w.u16(rng.pick([512, 1232, 1232, 4096, 65535, 0, 1, 511]))
  w.u8(rng.chance(0.97) ? 0 : rng.int(256)) // extended rcode
  w.u8(rng.chance(0.92) ? 0 : rng.pick([1, 2, 255])) // version
  w.u16(rng.chance(0.3) ? 0x8000 : rng.chance(0.95) ? 0 : rng.int(0x10000)) // DO and Z
  const lengthAt = w.length
  w.u16(0)
  const start = w.length
  ednsOptions(w, rng)
  const length = w.length - start
  w.setU16(lengthAt, rng.chance(0.97) ? length : rng.pick([length + 1, Math.max(0, length - 1), 0xffff]))
}

/** One resource record of a kind a client might (wrongly) put in a query, or a response carries. */
function record(w: Writer, rng: Rng): void {
  w.name(questionName(rng), rng)
  const type = rng.pick([DnsType.A, DnsType.AAAA, DnsType.CNAME, DnsType.PTR, DnsType.NS, DnsType.SOA, 16, DnsType.OPT, 0xffff])
  w.u16(type)
  w.u16(rng.chance(0.9) ? 1 : rng.pick([3, 254, 255, 0]))
  w.u32(rng.chance(0.9) ? 300 : rng.pick([0, 0x7fffffff, 0x80000000, 0xffffffff]))
  const lengthAt = w.length
  w.u16(0)
  const start = w.length
  switch (type) {
    case DnsType.A:
      w.bytes(rng.bytes(rng.chance(0.9) ? 4 : rng.pick([0, 3, 5, 16])))
      break
    case DnsType.AAAA:
      w.bytes(rng.bytes(rng.chance(0.9) ? 16 : rng.pick([0, 4, 15, 17])))
      break
    case DnsType.CNAME:
    case DnsType.PTR:
    case DnsType.NS:
      w.name(questionName(rng), rng)
      break
    case DnsType.SOA:
      w.name(questionName(rng), rng)
      w.name(questionName(rng), rng)
      for (let i = 0; i < 5; i++) w.u32(rng.u32())
      if (rng.chance(0.1)) w.u8(0)
      break
    case 16:
      // A TXT rdata that holds a chain of backward pointers: a later name jumps to its end.
      if (rng.chance(0.3)) {
        const first = w.length
        w.u8(1)
        w.u8(0x61)
        w.u8(0)
        const hops = rng.pick([2, 63, 64, 65, 100])
        let previous = first
        for (let i = 0; i < hops; i++) {
          const here = w.length
          w.u16(0xc000 | previous)
          previous = here
        }
        w.nameOffsets.push(previous)
      } else {
        w.bytes(rng.bytes(rng.int(60)))
      }
      break
    default:
      w.bytes(rng.bytes(rng.int(24)))
  }
  const length = w.length - start
  w.setU16(lengthAt, rng.chance(0.95) ? length : rng.pick([length + 1, Math.max(0, length - 1), 0xffff, 0]))
}

/**
 * A decompression bomb: many questions, each a pointer into one long name (or a short label and
 * such a pointer), filling the datagram; with an opcode or EDNS version that gets them echoed.
 */
function manyQuestions(rng: Rng): Buffer {
  const w = new Writer()
  w.u16(rng.u32())
  w.u16((rng.pick([0, 1, 2, 4, 5]) << 11) | 0x0100)
  const countsAt = w.length
  const edns = rng.chance(0.5)
  for (const c of [0, 0, 0, edns ? 1 : 0]) w.u16(c)
  // Written plainly (not by w.name, which might end it with a stray pointer): 127 labels, 255 bytes.
  const labels = rng.chance(0.7) ? Array.from({ length: 127 }, () => Buffer.from('a')) : labelsOf(rng.pick(NAMES))
  for (const label of labels) {
    w.nameOffsets.push(w.length)
    w.u8(label.length)
    w.bytes(label)
  }
  w.u8(0)
  w.u16(DnsType.A)
  w.u16(1)
  const targets = w.nameOffsets.filter((o) => o < 0x4000)
  const limit = rng.chance(0.5) ? 65_000 : rng.range(1000, 65_000)
  let qd = 1
  while (w.length + 16 < limit) {
    // A prefixed name points past the long name's first labels, so it stays within 255 bytes.
    const prefixed = rng.chance(0.3) && targets.length > 8
    if (prefixed) {
      const label = Buffer.from(`q${qd}`)
      w.u8(label.length)
      w.bytes(label)
    }
    const target = prefixed ? (targets[rng.range(4, targets.length - 1)] ?? 12) : rng.chance(0.5) || targets.length === 0 ? 12 : rng.pick(targets)
    w.u16(0xc000 | target)
    w.u16(rng.pick(TYPES))
    w.u16(1)
    qd++
  }
  w.setU16(countsAt, qd)
  if (edns) opt(w, rng)
  return w.done()
}

export function dnsQuery(rng: Rng): Buffer {
  if (rng.chance(0.0005)) return rng.chance(0.5) ? manyQuestions(rng) : mutateBytes(manyQuestions(rng), rng, 2)
  const w = new Writer()
  w.u16(rng.u32())
  let flags = rng.chance(0.7) ? 0x0100 : 0
  if (rng.chance(0.03)) flags |= 0x8000 // QR: a response sent to the server
  if (rng.chance(0.08)) flags |= rng.pick([1, 2, 4, 5, 6, 15]) << 11
  if (rng.chance(0.1)) flags |= rng.pick([0x0400, 0x0200, 0x0080, 0x0040, 0x0020, 0x0010, 0x0001, 0x000f])
  w.u16(flags)
  const qd = rng.chance(0.9) ? 1 : rng.pick([0, 2, 3])
  const an = rng.chance(0.93) ? 0 : rng.range(1, 3)
  const ns = rng.chance(0.96) ? 0 : rng.range(1, 2)
  const edns = rng.chance(0.6)
  const ar = (rng.chance(0.95) ? 0 : rng.range(1, 3)) + (edns ? 1 : 0) + (edns && rng.chance(0.02) ? 1 : 0)
  const countsAt = w.length
  for (const c of [qd, an, ns, ar]) w.u16(c)
  for (let i = 0; i < qd; i++) {
    w.name(questionName(rng), rng)
    w.u16(rng.chance(0.9) ? rng.pick(TYPES) : rng.int(0x10000))
    w.u16(rng.chance(0.9) ? 1 : rng.pick([3, 4, 254, 255, 0, rng.int(0x10000)]))
  }
  for (let i = 0; i < an; i++) (rng.chance(0.05) ? opt : record)(w, rng)
  for (let i = 0; i < ns; i++) record(w, rng)
  const others = ar - (edns ? 1 : 0)
  for (let i = 0; i < others; i++) (edns && rng.chance(0.1) ? opt : record)(w, rng)
  if (edns) opt(w, rng)
  if (rng.chance(0.03)) w.bytes(rng.bytes(rng.range(1, 64))) // trailing bytes after the sections
  // Counts that lie: one off, or as large as the field holds.
  if (rng.chance(0.05)) {
    const which = rng.int(4)
    const counts = [qd, an, ns, ar]
    const real = counts[which] ?? 0
    w.setU16(countsAt + which * 2, rng.pick([real + 1, Math.max(0, real - 1), 0xffff, 0x8000, 0x0100]))
  }
  return mutateBytes(w.done(), rng)
}

/** Encodes as the server does over UDP: a reply larger than the client takes goes out truncated. */
function encodeUdp(message: DnsMessage, query: DnsMessage, what: string): Buffer {
  try {
    const bytes = encodeMessage(message)
    return bytes.length > udpLimitOf(query) ? encodeMessage(truncatedReply(message)) : bytes
  } catch (err) {
    // The server would answer nothing at all: a reply built from a query must always encode.
    if (err instanceof DnsEncodeError) throw new InvariantFailure(`${what} cannot be encoded: ${err.message}`)
    throw err
  }
}

function decodedReply(bytes: Buffer, query: DnsMessage, what: string): DnsMessage {
  const reply = decodeMessage(bytes)
  check(!isDecodeError(reply), `${what} does not decode: ${isDecodeError(reply) ? reply.error : ''}`)
  check(reply.header.qr && reply.header.id === query.header.id, `${what} is not a response with the query's id`)
  check(bytes.length <= udpLimitOf(query), `${what} of ${bytes.length} bytes exceeds the client's UDP limit ${udpLimitOf(query)}`)
  return reply
}

/** The same question as `query` in another letter case, id, RD and CD: the cache must not care. */
function sibling(query: Buffer, questionEnd: number): Buffer {
  const out = Buffer.from(query)
  out.writeUInt16BE(out.readUInt16BE(0) ^ 0xffff, 0)
  out[2] = (out[2] as number) ^ 0x01
  out[3] = (out[3] as number) ^ 0x10
  for (let i = 12; i < questionEnd - 4; i++) {
    const c = out[i] as number
    if ((c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a)) out[i] = c ^ 0x20
  }
  return out
}

const asciiLower = (name: string): string => name.replace(/[A-Z]/g, (c) => c.toLowerCase())

function answerOf(query: DnsMessage): DnsMessage | null {
  const result = policy(query, FUZZ_ZONE, false)
  return result.kind === 'answer' ? result.message : null
}

export const dnsTarget: FuzzTarget = {
  protocol: 'dns',
  generate: dnsQuery,
  run(input) {
    // Timed apart from the checks: what the server does with the datagram (decode, policy, encode).
    const started = performance.now()
    const query = decodeMessage(input)
    const key = answerKeyOf(input)
    if (isDecodeError(query)) {
      const formerr = query.header && !query.header.qr ? encodeMessage(formatErrorReply(query.header, false)) : null
      const serverMs = performance.now() - started
      check(key === null, `answerKeyOf keys a message the decoder refuses (${query.error})`)
      if (formerr) {
        const reply = decodeMessage(formerr)
        check(!isDecodeError(reply) && reply.header.rcode === DnsRcode.FORMERR, 'the FORMERR reply does not decode as FORMERR')
      }
      return { decoded: false, serverMs }
    }
    // With forwarding or without, chosen by the query's id (so a replay takes the same branch).
    const forwarding = (input[1] ?? 0) % 2 === 1
    const result = policy(query, FUZZ_ZONE, forwarding)
    const reply = result.kind === 'answer' ? encodeUdp(result.message, query, 'the UDP reply') : null
    const serverMs = performance.now() - started
    if (reply) decodedReply(reply, query, 'the UDP reply')
    check(!query.header.qr || result.kind === 'drop', 'a response (QR set) was not dropped')
    decodedReply(encodeUdp(serverFailureReply(query, forwarding), query, 'SERVFAIL'), query, 'SERVFAIL')
    // The answer cache: a reply remembered for one spelling of the question must be, patched, the
    // reply the full path gives another spelling of it.
    if (key) {
      const answer = answerOf(query)
      const twin = sibling(input, key.questionEnd)
      const twinKey = answerKeyOf(twin)
      check(twinKey?.key === key.key, 'the answer-cache key depends on letter case, id, RD or CD')
      const twinQuery = decodeMessage(twin)
      const twinAnswer = isDecodeError(twinQuery) ? null : answerOf(twinQuery)
      check((answer === null) === (twinAnswer === null), 'two queries with one cache key got different kinds of result')
      if (answer && twinAnswer && !isDecodeError(twinQuery)) {
        const cache = new AnswerCache(4)
        cache.remember(FUZZ_ZONE, twinKey, twin, encodeUdp(twinAnswer, twinQuery, 'the twin reply'))
        const cached = cache.replyTo(FUZZ_ZONE, key, input)
        if (cached) {
          const fresh = encodeUdp(answer, query, 'the UDP reply')
          check(cached.equals(fresh), 'a cached reply differs from the full path’s reply to the same question')
        }
      }
    }
    // What decodes re-encodes, and decodes to the same questions.
    let again: ReturnType<typeof decodeMessage>
    try {
      again = decodeMessage(encodeMessage(query))
    } catch (err) {
      if (err instanceof DnsEncodeError) throw new InvariantFailure(`a decoded message cannot be re-encoded: ${err.message}`)
      throw err
    }
    check(!isDecodeError(again), `a re-encoded message does not decode: ${isDecodeError(again) ? again.error : ''}`)
    check(again.questions.length === query.questions.length, 're-encoding changed the question count')
    query.questions.forEach((q, i) => {
      const r = again.questions[i]
      // Compression matches names case-insensitively, so a later name may come back in an earlier one's case.
      check(r !== undefined && asciiLower(r.name) === asciiLower(q.name) && r.type === q.type && r.class === q.class, `question ${i} changed across encode and decode`)
    })
    check(again.answers.length + again.authorities.length + again.additionals.length === query.answers.length + query.authorities.length + query.additionals.length, 're-encoding changed the record count')
    return { decoded: true, serverMs }
  }
}
