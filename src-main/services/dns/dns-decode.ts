// DNS wire format, decoding: every byte is hostile; errors come back as values, never thrown.
import {
  DnsType,
  DnsClass,
  type DnsHeader,
  type DnsQuestion,
  type DnsRecord,
  type EdnsOption,
  type EdnsOpt,
  type DnsMessage,
  type DecodeError,
  HEADER_SIZE,
  MAX_NAME_WIRE,
  MAX_POINTER_HOPS,
  MIN_QUESTION_WIRE,
  MIN_RECORD_WIRE
} from './dns-message'

const SECTION_NAMES = ['answer', 'authority', 'additional'] as const

class DecodeFailure {
  constructor(readonly reason: string) {}
}

/** How a name reads on from one position: learnt once per message (see readName). */
interface Suffix {
  readonly text: string
  /** Wire bytes of its labels, length bytes included, the root not. */
  readonly wire: number
  /** Compression pointers it follows. */
  readonly hops: number
  /** Where its first pointer points, -1 for none: the one check that depends on where reading began. */
  readonly firstTarget: number
}

interface Cursor {
  pos: number
  /** Suffixes read after a compression pointer, by position, for every later pointer into them. */
  readonly suffixes: Map<number, Suffix>
}

export function decodeHeader(buf: Buffer): DnsHeader | null {
  if (buf.length < HEADER_SIZE) return null
  const flags = buf.readUInt16BE(2)
  return {
    id: buf.readUInt16BE(0),
    qr: (flags & 0x8000) !== 0,
    opcode: (flags >> 11) & 0xf,
    aa: (flags & 0x0400) !== 0,
    tc: (flags & 0x0200) !== 0,
    rd: (flags & 0x0100) !== 0,
    ra: (flags & 0x0080) !== 0,
    z: (flags & 0x0040) !== 0,
    ad: (flags & 0x0020) !== 0,
    cd: (flags & 0x0010) !== 0,
    rcode: flags & 0xf
  }
}

export function decodeMessage(buf: Buffer): DnsMessage | DecodeError {
  const header = decodeHeader(buf)
  if (!header) return { error: `message of ${buf.length} bytes is shorter than the 12-byte header`, header: null }
  const qd = buf.readUInt16BE(4)
  const an = buf.readUInt16BE(6)
  const ns = buf.readUInt16BE(8)
  const ar = buf.readUInt16BE(10)
  // Refuse impossible counts before allocating anything for them.
  const minimum = HEADER_SIZE + qd * MIN_QUESTION_WIRE + (an + ns + ar) * MIN_RECORD_WIRE
  if (minimum > buf.length) {
    return { error: `counts (${qd}/${an}/${ns}/${ar}) need at least ${minimum} bytes, message has ${buf.length}`, header }
  }
  const cursor: Cursor = { pos: HEADER_SIZE, suffixes: new Map() }
  const questions: DnsQuestion[] = []
  const answers: DnsRecord[] = []
  const authorities: DnsRecord[] = []
  const additionals: DnsRecord[] = []
  let edns: EdnsOpt | null = null
  for (let i = 0; i < qd; i++) {
    const name = readName(buf, cursor)
    if (name instanceof DecodeFailure) return { error: `question ${i}: ${name.reason}`, header }
    if (cursor.pos + 4 > buf.length) return { error: `question ${i}: truncated type/class`, header }
    questions.push({ name, type: buf.readUInt16BE(cursor.pos), class: buf.readUInt16BE(cursor.pos + 2) })
    cursor.pos += 4
  }
  for (let section = 0; section < 3; section++) {
    const count = section === 0 ? an : section === 1 ? ns : ar
    const into = section === 0 ? answers : section === 1 ? authorities : additionals
    for (let i = 0; i < count; i++) {
      const record = readRecord(buf, cursor)
      if (record instanceof DecodeFailure) return { error: `${SECTION_NAMES[section]} record ${i}: ${record.reason}`, header }
      if ('udpPayloadSize' in record) {
        if (section !== 2) return { error: `OPT record in the ${SECTION_NAMES[section]} section`, header }
        if (edns) return { error: 'more than one OPT record', header }
        edns = record
      } else {
        into.push(record)
      }
    }
  }
  // Bytes after the counted sections are ignored: they carry nothing we would act on.
  return { header, questions, answers, authorities, additionals, edns }
}

function readName(buf: Buffer, cursor: Cursor): string | DecodeFailure {
  let pos = cursor.pos
  let chunkStart = pos
  let wireLength = 1
  let hops = 0
  let jumped = false
  let name = ''
  // Positions read after the first jump, flat: position, name length, wire length and hops there,
  // and the target when the position holds a pointer (else -1). Remembered once the name is read.
  const seen: number[] = []
  let tailTarget = -1
  for (;;) {
    if (pos >= buf.length) return new DecodeFailure('name runs past the end')
    if (jumped) {
      // A suffix read before ends the name at once. Without this, a 64 KB query whose thousands of
      // questions point into one 127-label name expanded every label again for each: most of a
      // second of CPU for one datagram.
      const known = cursor.suffixes.get(pos)
      if (known && known.firstTarget < chunkStart) {
        hops += known.hops
        wireLength += known.wire
        if (hops > MAX_POINTER_HOPS) return new DecodeFailure('too many compression pointers')
        if (wireLength > MAX_NAME_WIRE) return new DecodeFailure('name longer than 255 bytes')
        if (known.text !== '') name = name === '' ? known.text : `${name}.${known.text}`
        tailTarget = known.firstTarget
        break
      }
      seen.push(pos, name.length, wireLength, hops, -1)
    }
    const len = buf.readUInt8(pos)
    if (len === 0) {
      if (!jumped) cursor.pos = pos + 1
      break
    }
    const kind = len & 0xc0
    if (kind === 0xc0) {
      if (pos + 1 >= buf.length) return new DecodeFailure('compression pointer runs past the end')
      const target = ((len & 0x3f) << 8) | buf.readUInt8(pos + 1)
      // Strictly before everything read so far for this name: no pointer loop can form.
      if (target >= chunkStart) return new DecodeFailure(`compression pointer to ${target} does not point backwards`)
      if (++hops > MAX_POINTER_HOPS) return new DecodeFailure('too many compression pointers')
      if (jumped) seen[seen.length - 1] = target
      if (!jumped) cursor.pos = pos + 2
      jumped = true
      pos = target
      chunkStart = target
      continue
    }
    if (kind !== 0) return new DecodeFailure(`unsupported label type 0x${kind.toString(16)}`)
    if (pos + 1 + len > buf.length) return new DecodeFailure('label runs past the end')
    wireLength += len + 1
    if (wireLength > MAX_NAME_WIRE) return new DecodeFailure('name longer than 255 bytes')
    const label = labelText(buf, pos + 1, pos + 1 + len)
    name = name === '' ? label : `${name}.${label}`
    pos += 1 + len
  }
  // What follows each position read after a jump does not depend on how reading got there, but for
  // its first pointer's backward check: that target is kept, and a later read takes the suffix
  // only where the same check passes.
  let next = tailTarget
  for (let i = seen.length - 5; i >= 0; i -= 5) {
    const target = seen[i + 4] as number
    if (target >= 0) next = target
    const at = seen[i + 1] as number
    cursor.suffixes.set(seen[i] as number, {
      text: at === 0 ? name : name.slice(at + 1),
      wire: wireLength - (seen[i + 2] as number),
      hops: hops - (seen[i + 3] as number),
      firstTarget: next
    })
  }
  return name
}

/** A label in presentation form: dots, backslashes and unprintable bytes escaped (RFC 4343). */
function labelText(buf: Buffer, start: number, end: number): string {
  let plain = true
  for (let i = start; i < end; i++) {
    const b = buf.readUInt8(i)
    if (b <= 0x20 || b >= 0x7f || b === 0x2e || b === 0x5c) {
      plain = false
      break
    }
  }
  if (plain) return buf.toString('latin1', start, end)
  let out = ''
  for (let i = start; i < end; i++) {
    const b = buf.readUInt8(i)
    if (b === 0x2e || b === 0x5c) out += `\\${String.fromCharCode(b)}`
    else if (b <= 0x20 || b >= 0x7f) out += `\\${b.toString().padStart(3, '0')}`
    else out += String.fromCharCode(b)
  }
  return out
}

function readRecord(buf: Buffer, cursor: Cursor): DnsRecord | EdnsOpt | DecodeFailure {
  const name = readName(buf, cursor)
  if (name instanceof DecodeFailure) return name
  let pos = cursor.pos
  if (pos + 10 > buf.length) return new DecodeFailure('truncated record header')
  const type = buf.readUInt16BE(pos)
  const klass = buf.readUInt16BE(pos + 2)
  const ttlField = buf.readUInt32BE(pos + 4)
  const rdlength = buf.readUInt16BE(pos + 8)
  pos += 10
  const end = pos + rdlength
  if (end > buf.length) return new DecodeFailure(`rdata of ${rdlength} bytes runs past the end`)
  cursor.pos = end
  if (type === DnsType.OPT) {
    if (name !== '') return new DecodeFailure('OPT record with a non-root owner name')
    return readOpt(buf, pos, end, klass, ttlField)
  }
  // RFC 2181 §8: a TTL with the top bit set is read as zero.
  const ttl = ttlField > 0x7fffffff ? 0 : ttlField
  if (klass !== DnsClass.IN) return { name, class: klass, ttl, type: 'RAW', typeCode: type, data: buf.subarray(pos, end) }
  switch (type) {
    case DnsType.A:
      if (rdlength !== 4) return new DecodeFailure(`A rdata of ${rdlength} bytes`)
      return { name, class: klass, ttl, type: 'A', address: formatIpv4(buf, pos) }
    case DnsType.AAAA:
      if (rdlength !== 16) return new DecodeFailure(`AAAA rdata of ${rdlength} bytes`)
      return { name, class: klass, ttl, type: 'AAAA', address: formatIpv6(buf, pos) }
    case DnsType.NS:
    case DnsType.CNAME:
    case DnsType.PTR: {
      const at: Cursor = { pos, suffixes: cursor.suffixes }
      const target = readName(buf, at)
      if (target instanceof DecodeFailure) return target
      if (at.pos !== end) return new DecodeFailure('name rdata does not fill rdlength')
      const t = type === DnsType.NS ? 'NS' : type === DnsType.CNAME ? 'CNAME' : 'PTR'
      return { name, class: klass, ttl, type: t, target }
    }
    case DnsType.SOA: {
      const at: Cursor = { pos, suffixes: cursor.suffixes }
      const mname = readName(buf, at)
      if (mname instanceof DecodeFailure) return mname
      const rname = readName(buf, at)
      if (rname instanceof DecodeFailure) return rname
      if (at.pos + 20 !== end) return new DecodeFailure('SOA rdata does not fill rdlength')
      const p = at.pos
      return {
        name,
        class: klass,
        ttl,
        type: 'SOA',
        mname,
        rname,
        serial: buf.readUInt32BE(p),
        refresh: buf.readUInt32BE(p + 4),
        retry: buf.readUInt32BE(p + 8),
        expire: buf.readUInt32BE(p + 12),
        minimum: buf.readUInt32BE(p + 16)
      }
    }
    default:
      return { name, class: klass, ttl, type: 'RAW', typeCode: type, data: buf.subarray(pos, end) }
  }
}

function readOpt(buf: Buffer, start: number, end: number, klass: number, ttlField: number): EdnsOpt | DecodeFailure {
  const options: EdnsOption[] = []
  let pos = start
  while (pos < end) {
    if (pos + 4 > end) return new DecodeFailure('truncated EDNS option header')
    const code = buf.readUInt16BE(pos)
    const length = buf.readUInt16BE(pos + 2)
    if (pos + 4 + length > end) return new DecodeFailure(`EDNS option ${code} runs past the OPT rdata`)
    options.push({ code, data: buf.subarray(pos + 4, pos + 4 + length) })
    pos += 4 + length
  }
  return {
    udpPayloadSize: klass,
    extendedRcode: ttlField >>> 24,
    version: (ttlField >>> 16) & 0xff,
    dnssecOk: (ttlField & 0x8000) !== 0,
    options
  }
}

function formatIpv4(buf: Buffer, pos: number): string {
  return `${buf.readUInt8(pos)}.${buf.readUInt8(pos + 1)}.${buf.readUInt8(pos + 2)}.${buf.readUInt8(pos + 3)}`
}

/** RFC 5952 text: lowercase, longest run of two or more zero groups as `::`. */
export function formatIpv6(buf: Buffer, pos: number): string {
  let bestStart = -1
  let bestLength = 1
  let runStart = -1
  for (let g = 0; g <= 8; g++) {
    const zero = g < 8 && buf.readUInt16BE(pos + g * 2) === 0
    if (zero) {
      if (runStart < 0) runStart = g
    } else if (runStart >= 0) {
      if (g - runStart > bestLength) {
        bestStart = runStart
        bestLength = g - runStart
      }
      runStart = -1
    }
  }
  let out = ''
  for (let g = 0; g < 8; g++) {
    if (g === bestStart) {
      out += '::'
      g += bestLength - 1
      continue
    }
    if (out !== '' && !out.endsWith(':')) out += ':'
    out += buf.readUInt16BE(pos + g * 2).toString(16)
  }
  return out
}
