// DHCPv4 wire format (RFC 2131/2132) with the options PXE and iPXE need (60, 77, 93, 94, 97, 175).
// Pure: decode(buffer) -> packet or error, encode(packet) -> buffer. Input is hostile: every read
// is length-checked, loops are bounded, nothing throws.

export const DHCP_MAGIC = 0x63825363
const HEADER_LENGTH = 236
const MIN_PACKET = 300

export const MessageType = {
  DISCOVER: 1,
  OFFER: 2,
  REQUEST: 3,
  DECLINE: 4,
  ACK: 5,
  NAK: 6,
  RELEASE: 7,
  INFORM: 8
} as const
export type MessageTypeCode = (typeof MessageType)[keyof typeof MessageType]

export const Option = {
  PAD: 0,
  SUBNET_MASK: 1,
  ROUTER: 3,
  DNS_SERVERS: 6,
  HOSTNAME: 12,
  DOMAIN_NAME: 15,
  BROADCAST: 28,
  VENDOR_SPECIFIC: 43,
  REQUESTED_ADDRESS: 50,
  LEASE_TIME: 51,
  OVERLOAD: 52,
  MESSAGE_TYPE: 53,
  SERVER_ID: 54,
  PARAMETER_LIST: 55,
  MESSAGE: 56,
  MAX_MESSAGE_SIZE: 57,
  RENEWAL_TIME: 58,
  REBINDING_TIME: 59,
  VENDOR_CLASS: 60,
  CLIENT_ID: 61,
  TFTP_SERVER: 66,
  BOOTFILE: 67,
  USER_CLASS: 77,
  CLIENT_ARCH: 93,
  CLIENT_NDI: 94,
  CLIENT_UUID: 97,
  IPXE_ENCAP: 175,
  END: 255
} as const

export interface DhcpPacket {
  readonly op: 1 | 2
  readonly htype: number
  readonly hlen: number
  readonly hops: number
  readonly xid: number
  readonly secs: number
  readonly flags: number
  readonly ciaddr: string
  readonly yiaddr: string
  readonly siaddr: string
  readonly giaddr: string
  /** Hardware address as lower-case aa:bb:cc:dd:ee:ff (hlen bytes, at most 16). */
  readonly chaddr: string
  readonly sname: string
  readonly file: string
  /** Options in wire order; a code repeated on the wire is concatenated (RFC 3396). */
  readonly options: ReadonlyMap<number, Buffer>
}

export type DecodeResult = { ok: true; packet: DhcpPacket } | { ok: false; error: string }

const ipAt = (buf: Buffer, at: number): string => `${buf[at]}.${buf[at + 1]}.${buf[at + 2]}.${buf[at + 3]}`

function cString(buf: Buffer): string {
  const end = buf.indexOf(0)
  return buf.subarray(0, end < 0 ? buf.length : end).toString('latin1')
}

/** Each option's pieces as [start, end) offsets into the packet, in wire order (RFC 3396). */
type OptionPieces = Map<number, number[]>

function readOptions(buf: Buffer, from: number, to: number, into: OptionPieces): string | null {
  let i = from
  // Each step consumes at least one byte, so the loop ends within to - from steps.
  while (i < to) {
    const code = buf[i] as number
    if (code === Option.PAD) {
      i++
      continue
    }
    if (code === Option.END) return null
    if (i + 1 >= to) return `option ${code} has no length byte`
    const len = buf[i + 1] as number
    if (i + 2 + len > to) return `option ${code} claims ${len} bytes past the end of the packet`
    // Offsets now, one join at the end: joining each piece onto the value so far copied the value
    // once per piece, quadratic in a datagram of thousands of one-byte pieces.
    const pieces = into.get(code)
    if (pieces) pieces.push(i + 2, i + 2 + len)
    else into.set(code, [i + 2, i + 2 + len])
    i += 2 + len
  }
  return null
}

function joinPieces(buf: Buffer, pieces: readonly number[]): Buffer {
  let length = 0
  for (let p = 0; p < pieces.length; p += 2) length += (pieces[p + 1] as number) - (pieces[p] as number)
  const out = Buffer.allocUnsafe(length)
  let at = 0
  for (let p = 0; p < pieces.length; p += 2) {
    const start = pieces[p] as number
    const end = pieces[p + 1] as number
    // A native copy per byte-sized piece costs more than the bytes: copy small ones by hand.
    if (end - start > 32) at += buf.copy(out, at, start, end)
    else for (let b = start; b < end; b++) out[at++] = buf[b] as number
  }
  return out
}

export function decode(buf: Buffer): DecodeResult {
  if (buf.length < HEADER_LENGTH + 4) return { ok: false, error: `packet of ${buf.length} bytes is shorter than a DHCP header` }
  const op = buf[0]
  if (op !== 1 && op !== 2) return { ok: false, error: `op ${op} is neither BOOTREQUEST nor BOOTREPLY` }
  if (buf.readUInt32BE(HEADER_LENGTH) !== DHCP_MAGIC) return { ok: false, error: 'no DHCP magic cookie' }
  const hlen = Math.min(buf[2] as number, 16)
  const pieces: OptionPieces = new Map()
  const err = readOptions(buf, HEADER_LENGTH + 4, buf.length, pieces)
  if (err) return { ok: false, error: err }
  // Option overload (52): more options in the file (1), sname (2) or both (3) fields.
  const overloadPieces = pieces.get(Option.OVERLOAD)
  const overload = (overloadPieces ? joinPieces(buf, overloadPieces)[0] : 0) ?? 0
  if (overload & 1) {
    const e = readOptions(buf, 108, 236, pieces)
    if (e) return { ok: false, error: `in file field: ${e}` }
  }
  if (overload & 2) {
    const e = readOptions(buf, 44, 108, pieces)
    if (e) return { ok: false, error: `in sname field: ${e}` }
  }
  const options = new Map<number, Buffer>()
  for (const [code, offsets] of pieces) options.set(code, joinPieces(buf, offsets))
  const chaddr = [...buf.subarray(28, 28 + hlen)].map((b) => b.toString(16).padStart(2, '0')).join(':')
  return {
    ok: true,
    packet: {
      op,
      htype: buf[1] as number,
      hlen,
      hops: buf[3] as number,
      xid: buf.readUInt32BE(4),
      secs: buf.readUInt16BE(8),
      flags: buf.readUInt16BE(10),
      ciaddr: ipAt(buf, 12),
      yiaddr: ipAt(buf, 16),
      siaddr: ipAt(buf, 20),
      giaddr: ipAt(buf, 24),
      chaddr,
      sname: overload & 2 ? '' : cString(buf.subarray(44, 108)),
      file: overload & 1 ? '' : cString(buf.subarray(108, 236)),
      options
    }
  }
}

function writeIp(buf: Buffer, at: number, ip: string): void {
  const parts = ip.split('.').map(Number)
  for (let i = 0; i < 4; i++) buf[at + i] = (parts[i] ?? 0) & 0xff
}

export function encode(packet: DhcpPacket): Buffer {
  const chunks: Buffer[] = []
  for (const [code, value] of packet.options) {
    if (code === Option.PAD || code === Option.END) continue
    // Values longer than 255 bytes are split across repeated codes (RFC 3396).
    for (let at = 0; at < value.length || (at === 0 && value.length === 0); at += 255) {
      const part = value.subarray(at, at + 255)
      chunks.push(Buffer.from([code, part.length]), part)
      if (value.length === 0) break
    }
  }
  chunks.push(Buffer.from([Option.END]))
  const opts = Buffer.concat(chunks)
  const buf = Buffer.alloc(Math.max(MIN_PACKET, HEADER_LENGTH + 4 + opts.length))
  buf[0] = packet.op
  buf[1] = packet.htype
  buf[2] = packet.hlen
  buf[3] = packet.hops
  buf.writeUInt32BE(packet.xid >>> 0, 4)
  buf.writeUInt16BE(packet.secs & 0xffff, 8)
  buf.writeUInt16BE(packet.flags & 0xffff, 10)
  writeIp(buf, 12, packet.ciaddr)
  writeIp(buf, 16, packet.yiaddr)
  writeIp(buf, 20, packet.siaddr)
  writeIp(buf, 24, packet.giaddr)
  const mac = packet.chaddr.split(':').map((h) => parseInt(h, 16))
  for (let i = 0; i < Math.min(mac.length, 16); i++) buf[28 + i] = (mac[i] ?? 0) & 0xff
  buf.write(packet.sname.slice(0, 63), 44, 'latin1')
  buf.write(packet.file.slice(0, 127), 108, 'latin1')
  buf.writeUInt32BE(DHCP_MAGIC, HEADER_LENGTH)
  opts.copy(buf, HEADER_LENGTH + 4)
  return buf
}

// Typed readers and writers for the option values this server uses.
export const opt = {
  u8: (v: number) => Buffer.from([v & 0xff]),
  u16: (v: number) => {
    const b = Buffer.alloc(2)
    b.writeUInt16BE(v & 0xffff)
    return b
  },
  u32: (v: number) => {
    const b = Buffer.alloc(4)
    b.writeUInt32BE(v >>> 0)
    return b
  },
  ip: (ip: string) => {
    const b = Buffer.alloc(4)
    writeIp(b, 0, ip)
    return b
  },
  ips: (ips: readonly string[]) => Buffer.concat(ips.map((ip) => opt.ip(ip))),
  text: (s: string) => Buffer.from(s, 'latin1'),
  /** Encapsulated sub-options (iPXE's 175, PXE's 43). */
  encapsulated: (subs: ReadonlyArray<readonly [number, Buffer]>) =>
    Buffer.concat([...subs.flatMap(([code, value]) => [Buffer.from([code, value.length]), value]), Buffer.from([Option.END])])
}

/**
 * A client's broadcast DHCPDISCOVER from `mac` (no address yet, broadcast flag set) with the given
 * options after the message type: what our probes for other servers send.
 */
export function discoverPacket(mac: string, xid: number, options: ReadonlyArray<readonly [number, Buffer]>): DhcpPacket {
  return {
    op: 1,
    htype: 1,
    hlen: 6,
    hops: 0,
    xid,
    secs: 0,
    flags: 0x8000,
    ciaddr: '0.0.0.0',
    yiaddr: '0.0.0.0',
    siaddr: '0.0.0.0',
    giaddr: '0.0.0.0',
    chaddr: mac,
    sname: '',
    file: '',
    options: new Map([[Option.MESSAGE_TYPE, opt.u8(MessageType.DISCOVER)], ...options])
  }
}

export function messageType(p: DhcpPacket): number | undefined {
  const v = p.options.get(Option.MESSAGE_TYPE)
  return v && v.length === 1 ? v[0] : undefined
}

export function ipOption(p: DhcpPacket, code: number): string | undefined {
  const v = p.options.get(code)
  return v && v.length === 4 ? ipAt(v, 0) : undefined
}

export function textOption(p: DhcpPacket, code: number): string | undefined {
  const v = p.options.get(code)
  if (!v) return undefined
  // Trailing NULs trimmed by a scan: /\0+$/ backtracks quadratically over a long NUL run, and
  // repeated codes (RFC 3396) make an option as long as the datagram.
  let end = v.length
  while (end > 0 && v[end - 1] === 0) end--
  return v.toString('latin1', 0, end)
}

/** Client system architecture (option 93, RFC 4578): 0 BIOS, 6/7/9/10/11 EFI flavours. */
export function clientArch(p: DhcpPacket): number | undefined {
  const v = p.options.get(Option.CLIENT_ARCH)
  return v && v.length >= 2 ? v.readUInt16BE(0) : undefined
}

/**
 * User class (option 77): RFC 3004 length-prefixed items, but iPXE and others send one raw
 * string. Returns the strings either way.
 */
export function userClasses(p: DhcpPacket): string[] {
  const v = p.options.get(Option.USER_CLASS)
  if (!v || v.length === 0) return []
  const items: string[] = []
  let i = 0
  let wellFormed = true
  for (let n = 0; i < v.length && n < 64; n++) {
    const len = v[i] as number
    if (len === 0 || i + 1 + len > v.length) {
      wellFormed = false
      break
    }
    items.push(v.subarray(i + 1, i + 1 + len).toString('latin1'))
    i += 1 + len
  }
  return wellFormed && i === v.length ? items : [v.toString('latin1')]
}
