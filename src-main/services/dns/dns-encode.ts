// DNS wire format, encoding: names compressed, one reused scratch buffer (encoding is synchronous).
import {
  DnsType,
  type DnsRecord,
  type EdnsOpt,
  type DnsMessage,
  typeCodeOf,
  HEADER_SIZE,
  MAX_MESSAGE,
  MAX_NAME_WIRE,
  MAX_LABEL
} from './dns-message'

// One scratch buffer and one compression table, reused: encoding is synchronous, so no two
// encodes can interleave, and a busy server does not allocate 64 KiB per answer.
const scratch = Buffer.allocUnsafe(MAX_MESSAGE)
const compression = new Map<string, number>()
/** Name text already written -> the offset a pointer to all of it takes (what `compression` gives its wire form). */
const wholeNames = new Map<string, number>()
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
  wholeNames.clear()
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
  // A name written before is the same pointer again, without re-deriving its labels and suffix
  // keys: a reply that echoes thousands of long questions cost ~100 ms of CPU without this.
  const whole = wholeNames.get(name)
  if (whole !== undefined) {
    scratch.writeUInt16BE(0xc000 | whole, start)
    return start + 2
  }
  const end = writeLabels(name, start)
  let pos = start
  while (scratch.readUInt8(pos) !== 0) {
    const key = suffixKey(pos, end)
    const earlier = compression.get(key)
    if (earlier !== undefined) {
      scratch.writeUInt16BE(0xc000 | earlier, pos)
      if (pos === start) wholeNames.set(name, earlier)
      return pos + 2
    }
    if (pos < 0x4000) {
      compression.set(key, pos)
      if (pos === start) wholeNames.set(name, pos)
    }
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
