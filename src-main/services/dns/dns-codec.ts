// DNS wire format (RFC 1035, 3596, 6891): pure decode and encode. Decoding treats every byte as
// hostile and returns an error value instead of throwing; encoding compresses names.

export const DnsType = {
  A: 1,
  NS: 2,
  CNAME: 5,
  SOA: 6,
  PTR: 12,
  AAAA: 28,
  OPT: 41,
  IXFR: 251,
  AXFR: 252,
  ANY: 255
} as const

export const DnsClass = { IN: 1, ANY: 255 } as const

export const DnsOpcode = { QUERY: 0 } as const

/** The 4-bit header rcodes, plus BADVERS whose upper bits travel in the OPT record. */
export const DnsRcode = {
  NOERROR: 0,
  FORMERR: 1,
  SERVFAIL: 2,
  NXDOMAIN: 3,
  NOTIMP: 4,
  REFUSED: 5,
  BADVERS: 16
} as const

export interface DnsHeader {
  readonly id: number
  /** true in responses */
  readonly qr: boolean
  readonly opcode: number
  readonly aa: boolean
  readonly tc: boolean
  readonly rd: boolean
  readonly ra: boolean
  readonly z: boolean
  readonly ad: boolean
  readonly cd: boolean
  /** The low 4 bits of the response code; the upper 8 are `EdnsOpt.extendedRcode`. */
  readonly rcode: number
}

export interface DnsQuestion {
  /** Presentation form without the trailing dot (root is ''), case as on the wire. */
  readonly name: string
  readonly type: number
  readonly class: number
}

interface RecordCommon {
  readonly name: string
  readonly class: number
  readonly ttl: number
}

export interface ARecord extends RecordCommon {
  readonly type: 'A'
  readonly address: string
}

export interface AaaaRecord extends RecordCommon {
  readonly type: 'AAAA'
  readonly address: string
}

export interface NameRecord extends RecordCommon {
  readonly type: 'NS' | 'CNAME' | 'PTR'
  readonly target: string
}

export interface SoaRecord extends RecordCommon {
  readonly type: 'SOA'
  readonly mname: string
  readonly rname: string
  readonly serial: number
  readonly refresh: number
  readonly retry: number
  readonly expire: number
  readonly minimum: number
}

/** Any other type (or a typed one outside class IN), rdata kept as bytes. */
export interface RawRecord extends RecordCommon {
  readonly type: 'RAW'
  readonly typeCode: number
  /** A view into the decoded buffer, not a copy. */
  readonly data: Buffer
}

export type DnsRecord = ARecord | AaaaRecord | NameRecord | SoaRecord | RawRecord

export interface EdnsOption {
  readonly code: number
  readonly data: Buffer
}

/** The OPT pseudo-record (RFC 6891), lifted out of the additional section. */
export interface EdnsOpt {
  readonly udpPayloadSize: number
  readonly extendedRcode: number
  readonly version: number
  readonly dnssecOk: boolean
  readonly options: readonly EdnsOption[]
}

export interface DnsMessage {
  readonly header: DnsHeader
  readonly questions: readonly DnsQuestion[]
  readonly answers: readonly DnsRecord[]
  readonly authorities: readonly DnsRecord[]
  /** Without the OPT record: that is `edns`. */
  readonly additionals: readonly DnsRecord[]
  readonly edns: EdnsOpt | null
}

export interface DecodeError {
  readonly error: string
  /** The header when the first 12 bytes were there, so a server can still answer FORMERR. */
  readonly header: DnsHeader | null
}

export function isDecodeError(value: DnsMessage | DecodeError): value is DecodeError {
  return 'error' in value
}

export const TYPE_CODE: Readonly<Record<Exclude<DnsRecord['type'], 'RAW'>, number>> = {
  A: DnsType.A,
  AAAA: DnsType.AAAA,
  NS: DnsType.NS,
  CNAME: DnsType.CNAME,
  PTR: DnsType.PTR,
  SOA: DnsType.SOA
}

export function typeCodeOf(record: DnsRecord): number {
  return record.type === 'RAW' ? record.typeCode : TYPE_CODE[record.type]
}

export const HEADER_SIZE = 12
const MAX_MESSAGE = 65535
const MAX_NAME_WIRE = 255
const MAX_LABEL = 63
/** Pointers must also go strictly backwards, so this is a second fence, not the only one. */
const MAX_POINTER_HOPS = 64
const MIN_QUESTION_WIRE = 5
const MIN_RECORD_WIRE = 11

// ---------------------------------------------------------------------------------------------
// Decode

const SECTION_NAMES = ['answer', 'authority', 'additional'] as const

class DecodeFailure {
  constructor(readonly reason: string) {}
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
  const cursor = { pos: HEADER_SIZE }
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

function readName(buf: Buffer, cursor: { pos: number }): string | DecodeFailure {
  let pos = cursor.pos
  let chunkStart = pos
  let wireLength = 1
  let hops = 0
  let jumped = false
  let name = ''
  for (;;) {
    if (pos >= buf.length) return new DecodeFailure('name runs past the end')
    const len = buf.readUInt8(pos)
    if (len === 0) {
      if (!jumped) cursor.pos = pos + 1
      return name
    }
    const kind = len & 0xc0
    if (kind === 0xc0) {
      if (pos + 1 >= buf.length) return new DecodeFailure('compression pointer runs past the end')
      const target = ((len & 0x3f) << 8) | buf.readUInt8(pos + 1)
      // Strictly before everything read so far for this name: no pointer loop can form.
      if (target >= chunkStart) return new DecodeFailure(`compression pointer to ${target} does not point backwards`)
      if (++hops > MAX_POINTER_HOPS) return new DecodeFailure('too many compression pointers')
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

function readRecord(buf: Buffer, cursor: { pos: number }): DnsRecord | EdnsOpt | DecodeFailure {
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
      const at = { pos }
      const target = readName(buf, at)
      if (target instanceof DecodeFailure) return target
      if (at.pos !== end) return new DecodeFailure('name rdata does not fill rdlength')
      const t = type === DnsType.NS ? 'NS' : type === DnsType.CNAME ? 'CNAME' : 'PTR'
      return { name, class: klass, ttl, type: t, target }
    }
    case DnsType.SOA: {
      const at = { pos }
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

// ---------------------------------------------------------------------------------------------
// Encode

// One scratch buffer and one compression table, reused: encoding is synchronous, so no two
// encodes can interleave, and a busy server does not allocate 64 KiB per answer.
const scratch = Buffer.allocUnsafe(MAX_MESSAGE)
const compression = new Map<string, number>()
const v6Groups = new Uint16Array(8)

/** Thrown by `encodeMessage` for data that cannot be put on the wire (our own bug or bad zone data). */
export class DnsEncodeError extends Error {
  override readonly name = 'DnsEncodeError'
}

function need(pos: number, bytes: number): void {
  if (pos + bytes > MAX_MESSAGE) throw new DnsEncodeError('message exceeds 65535 bytes')
}

export function encodeMessage(msg: DnsMessage): Buffer {
  compression.clear()
  const h = msg.header
  const arCount = msg.additionals.length + (msg.edns ? 1 : 0)
  for (const count of [msg.questions.length, msg.answers.length, msg.authorities.length, arCount]) {
    if (count > 0xffff) throw new DnsEncodeError('a section holds more than 65535 entries')
  }
  scratch.writeUInt16BE(h.id & 0xffff, 0)
  const flags =
    (h.qr ? 0x8000 : 0) |
    ((h.opcode & 0xf) << 11) |
    (h.aa ? 0x0400 : 0) |
    (h.tc ? 0x0200 : 0) |
    (h.rd ? 0x0100 : 0) |
    (h.ra ? 0x0080 : 0) |
    (h.z ? 0x0040 : 0) |
    (h.ad ? 0x0020 : 0) |
    (h.cd ? 0x0010 : 0) |
    (h.rcode & 0xf)
  scratch.writeUInt16BE(flags, 2)
  scratch.writeUInt16BE(msg.questions.length, 4)
  scratch.writeUInt16BE(msg.answers.length, 6)
  scratch.writeUInt16BE(msg.authorities.length, 8)
  scratch.writeUInt16BE(arCount, 10)
  let pos = HEADER_SIZE
  for (const q of msg.questions) {
    pos = writeName(q.name, pos)
    need(pos, 4)
    scratch.writeUInt16BE(q.type & 0xffff, pos)
    scratch.writeUInt16BE(q.class & 0xffff, pos + 2)
    pos += 4
  }
  for (const r of msg.answers) pos = writeRecord(r, pos)
  for (const r of msg.authorities) pos = writeRecord(r, pos)
  for (const r of msg.additionals) pos = writeRecord(r, pos)
  if (msg.edns) pos = writeOpt(msg.edns, pos)
  const out = Buffer.allocUnsafe(pos)
  scratch.copy(out, 0, 0, pos)
  return out
}

function writeRecord(r: DnsRecord, pos: number): number {
  pos = writeName(r.name, pos)
  need(pos, 10)
  scratch.writeUInt16BE(typeCodeOf(r), pos)
  scratch.writeUInt16BE(r.class & 0xffff, pos + 2)
  scratch.writeUInt32BE(r.ttl >>> 0, pos + 4)
  const lengthAt = pos + 8
  pos += 10
  const start = pos
  switch (r.type) {
    case 'A':
      need(pos, 4)
      if (!writeIpv4(r.address, pos, scratch)) throw new DnsEncodeError(`A record ${r.name}: "${r.address}" is not an IPv4 address`)
      pos += 4
      break
    case 'AAAA':
      need(pos, 16)
      if (!writeIpv6(r.address, pos, scratch)) throw new DnsEncodeError(`AAAA record ${r.name}: "${r.address}" is not an IPv6 address`)
      pos += 16
      break
    case 'NS':
    case 'CNAME':
    case 'PTR':
      pos = writeName(r.target, pos)
      break
    case 'SOA':
      pos = writeName(r.mname, pos)
      pos = writeName(r.rname, pos)
      need(pos, 20)
      scratch.writeUInt32BE(r.serial >>> 0, pos)
      scratch.writeUInt32BE(r.refresh >>> 0, pos + 4)
      scratch.writeUInt32BE(r.retry >>> 0, pos + 8)
      scratch.writeUInt32BE(r.expire >>> 0, pos + 12)
      scratch.writeUInt32BE(r.minimum >>> 0, pos + 16)
      pos += 20
      break
    case 'RAW':
      need(pos, r.data.length)
      r.data.copy(scratch, pos)
      pos += r.data.length
      break
  }
  if (pos - start > 0xffff) throw new DnsEncodeError(`rdata of ${r.name} exceeds 65535 bytes`)
  scratch.writeUInt16BE(pos - start, lengthAt)
  return pos
}

function writeOpt(e: EdnsOpt, pos: number): number {
  need(pos, 11)
  scratch.writeUInt8(0, pos)
  scratch.writeUInt16BE(DnsType.OPT, pos + 1)
  scratch.writeUInt16BE(e.udpPayloadSize & 0xffff, pos + 3)
  const ttl = ((e.extendedRcode & 0xff) << 24) | ((e.version & 0xff) << 16) | (e.dnssecOk ? 0x8000 : 0)
  scratch.writeUInt32BE(ttl >>> 0, pos + 5)
  const lengthAt = pos + 9
  pos += 11
  const start = pos
  for (const o of e.options) {
    need(pos, 4 + o.data.length)
    scratch.writeUInt16BE(o.code & 0xffff, pos)
    scratch.writeUInt16BE(o.data.length, pos + 2)
    o.data.copy(scratch, pos + 4)
    pos += 4 + o.data.length
  }
  if (pos - start > 0xffff) throw new DnsEncodeError('OPT rdata exceeds 65535 bytes')
  scratch.writeUInt16BE(pos - start, lengthAt)
  return pos
}

/**
 * Writes the name uncompressed, then replaces the longest suffix already in the message with a
 * pointer. Suffix keys are the wire bytes, ASCII-lowercased, because names compare that way.
 */
function writeName(name: string, start: number): number {
  need(start, MAX_NAME_WIRE + 1)
  const end = writeLabels(name, start)
  let pos = start
  while (scratch.readUInt8(pos) !== 0) {
    const key = suffixKey(pos, end)
    const earlier = compression.get(key)
    if (earlier !== undefined) {
      scratch.writeUInt16BE(0xc000 | earlier, pos)
      return pos + 2
    }
    if (pos < 0x4000) compression.set(key, pos)
    pos += 1 + scratch.readUInt8(pos)
  }
  return end
}

function suffixKey(from: number, to: number): string {
  const key = scratch.toString('latin1', from, to)
  // Only ASCII letters fold (RFC 4343); toLowerCase would also fold Latin-1 letters.
  return /[\x80-\xff]/.test(key) ? key : key.toLowerCase()
}

/** Presentation text to labels; `\.`, `\\` and `\DDD` escapes as RFC 1035 §5.1. */
function writeLabels(name: string, start: number): number {
  const text = hasTrailingDot(name) ? name.slice(0, -1) : name
  let pos = start
  if (text === '') {
    scratch.writeUInt8(0, pos)
    return pos + 1
  }
  let lengthAt = pos
  let labelLength = 0
  pos += 1
  for (let i = 0; i < text.length; i++) {
    let c = text.charCodeAt(i)
    if (c === 0x2e) {
      if (labelLength === 0) throw new DnsEncodeError(`name "${name}" has an empty label`)
      scratch.writeUInt8(labelLength, lengthAt)
      lengthAt = pos
      labelLength = 0
      pos += 1
      if (pos - start > MAX_NAME_WIRE - 1) throw new DnsEncodeError(`name "${name}" is longer than 255 bytes`)
      continue
    }
    if (c === 0x5c) {
      const d = /^\d{3}/.exec(text.slice(i + 1, i + 4))
      if (d) {
        c = Number(d[0])
        i += 3
      } else if (i + 1 < text.length) {
        c = text.charCodeAt(i + 1)
        i += 1
      } else {
        throw new DnsEncodeError(`name "${name}" ends in a lone backslash`)
      }
    }
    if (c > 0xff) throw new DnsEncodeError(`name "${name}" holds a character that is not one byte; escape it as \\DDD`)
    if (++labelLength > MAX_LABEL) throw new DnsEncodeError(`name "${name}" has a label longer than 63 bytes`)
    if (pos - start >= MAX_NAME_WIRE - 1) throw new DnsEncodeError(`name "${name}" is longer than 255 bytes`)
    scratch.writeUInt8(c, pos)
    pos += 1
  }
  if (labelLength === 0) throw new DnsEncodeError(`name "${name}" has an empty label`)
  scratch.writeUInt8(labelLength, lengthAt)
  scratch.writeUInt8(0, pos)
  return pos + 1
}

/** A final unescaped dot: `a.` yes, `a\.` no, `a\\.` yes (an escaped backslash, then the dot). */
function hasTrailingDot(name: string): boolean {
  if (!name.endsWith('.')) return false
  let backslashes = 0
  for (let i = name.length - 2; i >= 0 && name.charCodeAt(i) === 0x5c; i--) backslashes++
  return backslashes % 2 === 0
}

/** Parses dotted-quad text straight into `out`; false when the text is not an IPv4 address. */
export function writeIpv4(text: string, pos: number, out: Buffer): boolean {
  let part = 0
  let digits = 0
  let index = 0
  for (let i = 0; i <= text.length; i++) {
    const c = i < text.length ? text.charCodeAt(i) : 0x2e
    if (c === 0x2e) {
      if (digits === 0 || index > 3) return false
      out.writeUInt8(part, pos + index)
      index += 1
      part = 0
      digits = 0
    } else if (c >= 0x30 && c <= 0x39) {
      part = part * 10 + (c - 0x30)
      if (++digits > 3 || part > 255) return false
    } else {
      return false
    }
  }
  return index === 4
}

/** Parses IPv6 text (with `::` and an optional dotted IPv4 tail) into `out`; false when invalid. */
export function writeIpv6(text: string, pos: number, out: Buffer): boolean {
  let count = 0
  let gap = -1
  let i = 0
  if (text.startsWith('::')) {
    gap = 0
    i = 2
    if (text.length === 2) {
      out.fill(0, pos, pos + 16)
      return true
    }
  } else if (text.startsWith(':')) {
    return false
  }
  while (i < text.length) {
    if (count >= 8) return false
    // An IPv4 tail fills the last two groups.
    const dot = text.indexOf('.', i)
    const colon = text.indexOf(':', i)
    if (dot >= 0 && (colon < 0 || dot < colon)) {
      if (count > 6 || !writeIpv4(text.slice(i), pos, out)) return false
      v6Groups[count++] = out.readUInt16BE(pos)
      v6Groups[count++] = out.readUInt16BE(pos + 2)
      break
    }
    let value = 0
    let digits = 0
    while (i < text.length) {
      const c = text.charCodeAt(i)
      const h = c >= 0x30 && c <= 0x39 ? c - 0x30 : c >= 0x61 && c <= 0x66 ? c - 0x57 : c >= 0x41 && c <= 0x46 ? c - 0x37 : -1
      if (h < 0) break
      value = value * 16 + h
      if (++digits > 4) return false
      i++
    }
    if (digits === 0) return false
    v6Groups[count++] = value
    if (i === text.length) break
    if (text.charCodeAt(i) !== 0x3a) return false
    i++
    if (i < text.length && text.charCodeAt(i) === 0x3a) {
      if (gap >= 0) return false
      gap = count
      i++
    } else if (i === text.length) {
      return false
    }
  }
  if (gap < 0 ? count !== 8 : count > 7) return false
  const fill = 8 - count
  for (let g = 0, src = 0; g < 8; g++) {
    const value = gap >= 0 && g >= gap && g < gap + fill ? 0 : (v6Groups[src++] ?? 0)
    out.writeUInt16BE(value, pos + g * 2)
  }
  return true
}
