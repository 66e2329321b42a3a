// Ethernet + IPv4 + UDP and Ethernet + IPv4 + TCP frames with real headers, for the packets our
// boot servers received and sent: IPv4 header, UDP and TCP checksums computed as the wire would
// carry them (Wireshark and `tcpdump -v` flag bad ones). A payload may be cut: the headers still
// say its real length and the checksum covers all of it, as on the wire; the record's orig_len
// tells the reader the frame was cut. Pure.

export interface FrameEndpoint {
  /** aa:bb:cc:dd:ee:ff; anything else is written as 00:00:00:00:00:00. */
  readonly mac: string
  /** Dotted IPv4. */
  readonly address: string
  readonly port: number
}

export interface BuiltFrame {
  /** The bytes kept. */
  readonly frame: Buffer
  /** The frame's length on the wire. */
  readonly origLen: number
}

const ETHERNET = 14
const IPV4 = 20
const UDP = 8
const TCP = 20
const PROTO_TCP = 6
const PROTO_UDP = 17
const MAX_IP_PAYLOAD = 0xffff - IPV4

export const BROADCAST_MAC = 'ff:ff:ff:ff:ff:ff'
export const ZERO_MAC = '00:00:00:00:00:00'

export const TcpFlag = { FIN: 0x01, SYN: 0x02, RST: 0x04, PSH: 0x08, ACK: 0x10 } as const

const MAC_TEXT = /^([0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}$/

/** MACs as bytes: a recorder writes the same few again and again. */
const macBytes = new Map<string, Buffer>()

function writeMac(mac: string, out: Buffer, at: number): void {
  let bytes = macBytes.get(mac)
  if (!bytes) {
    bytes = MAC_TEXT.test(mac) ? Buffer.from(mac.replaceAll(':', ''), 'hex') : Buffer.alloc(6)
    if (macBytes.size >= 4096) macBytes.clear()
    macBytes.set(mac, bytes)
  }
  bytes.copy(out, at)
}

/** Dotted IPv4 as four bytes, or null when it is not one. */
export function ipv4Bytes(address: string): [number, number, number, number] | null {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(address)
  if (!m) return null
  const b = [Number(m[1]), Number(m[2]), Number(m[3]), Number(m[4])]
  return b.every((x) => x <= 255) ? (b as [number, number, number, number]) : null
}

/** An address as Node reports it, as dotted IPv4 when it is one (IPv4-mapped IPv6 unwrapped), else null. */
export function asIpv4(address: string | undefined): string | null {
  if (!address) return null
  const plain = address.startsWith('::ffff:') ? address.slice(7) : address
  return ipv4Bytes(plain) ? plain : null
}

/** The ones'-complement sum (RFC 1071) of `buf`'s 16-bit big-endian words, not yet folded or inverted. */
export function onesSum(buf: Buffer, initial = 0): number {
  let sum = initial
  const even = buf.length & ~1
  for (let i = 0; i < even; i += 2) sum += (buf[i] as number) * 256 + (buf[i + 1] as number)
  if (buf.length & 1) sum += (buf[buf.length - 1] as number) * 256
  // Folded now and then so it stays an exact integer on any payload size.
  return sum > 0xffffffff ? fold(sum) : sum
}

function fold(sum: number): number {
  let s = sum
  while (s > 0xffff) s = (s & 0xffff) + Math.floor(s / 0x10000)
  return s
}

/** The Internet checksum of a run of words summed with onesSum. */
export function checksumOf(sum: number): number {
  return ~fold(sum) & 0xffff
}

interface IpParams {
  readonly src: FrameEndpoint
  readonly dst: FrameEndpoint
  readonly protocol: number
  /** The transport header and payload's real length. */
  readonly ipPayloadLen: number
  readonly id: number
  readonly ttl: number
}

/** Writes Ethernet and IPv4 headers into `out`; returns the pseudo-header's sum for the transport checksum. */
function writeEthernetIpv4(out: Buffer, p: IpParams): number {
  writeMac(p.dst.mac, out, 0)
  writeMac(p.src.mac, out, 6)
  out.writeUInt16BE(0x0800, 12)
  const ip = ETHERNET
  const src = ipv4Bytes(p.src.address) ?? [0, 0, 0, 0]
  const dst = ipv4Bytes(p.dst.address) ?? [0, 0, 0, 0]
  out[ip] = 0x45
  out[ip + 1] = 0
  out.writeUInt16BE(IPV4 + p.ipPayloadLen, ip + 2)
  out.writeUInt16BE(p.id & 0xffff, ip + 4)
  out.writeUInt16BE(0x4000, ip + 6) // don't fragment
  out[ip + 8] = p.ttl
  out[ip + 9] = p.protocol
  out.writeUInt16BE(0, ip + 10)
  out.set(src, ip + 12)
  out.set(dst, ip + 16)
  out.writeUInt16BE(checksumOf(onesSum(out.subarray(ip, ip + IPV4))), ip + 10)
  return (src[0] * 256 + src[1]) + (src[2] * 256 + src[3]) + (dst[0] * 256 + dst[1]) + (dst[2] * 256 + dst[3]) + p.protocol + p.ipPayloadLen
}

export interface UdpFrameInput {
  readonly src: FrameEndpoint
  readonly dst: FrameEndpoint
  /** The payload bytes kept (its first bytes; all of it when not cut). */
  readonly payload: Buffer
  /** The payload's real length; default payload.length. */
  readonly payloadLen?: number
  /** onesSum of the whole payload, when it was cut (else computed from `payload`). */
  readonly payloadSum?: number
  readonly id?: number
  readonly ttl?: number
}

export function udpFrame(input: UdpFrameInput): BuiltFrame {
  const realLen = Math.min(Math.max(input.payloadLen ?? input.payload.length, input.payload.length), MAX_IP_PAYLOAD - UDP)
  const kept = input.payload.subarray(0, realLen)
  const out = Buffer.allocUnsafe(ETHERNET + IPV4 + UDP + kept.length)
  const pseudo = writeEthernetIpv4(out, { src: input.src, dst: input.dst, protocol: PROTO_UDP, ipPayloadLen: UDP + realLen, id: input.id ?? 0, ttl: input.ttl ?? 64 })
  const u = ETHERNET + IPV4
  out.writeUInt16BE(input.src.port & 0xffff, u)
  out.writeUInt16BE(input.dst.port & 0xffff, u + 2)
  out.writeUInt16BE(UDP + realLen, u + 4)
  out.writeUInt16BE(0, u + 6)
  kept.copy(out, u + UDP)
  const whole = kept.length === realLen
  const payloadSum = whole || input.payloadSum === undefined ? onesSum(kept) : input.payloadSum
  const sum = checksumOf(onesSum(out.subarray(u, u + UDP), pseudo + payloadSum))
  // 0 means "no checksum" in UDP over IPv4: a computed 0 is sent as 0xffff (RFC 768).
  out.writeUInt16BE(sum === 0 ? 0xffff : sum, u + 6)
  return { frame: out, origLen: ETHERNET + IPV4 + UDP + realLen }
}

export interface TcpFrameInput {
  readonly src: FrameEndpoint
  readonly dst: FrameEndpoint
  readonly seq: number
  readonly ack: number
  /** TcpFlag bits. */
  readonly flags: number
  readonly window?: number
  /** The segment's payload, whole. */
  readonly payload?: Buffer
  readonly id?: number
  readonly ttl?: number
}

export function tcpFrame(input: TcpFrameInput): BuiltFrame {
  const payload = (input.payload ?? Buffer.alloc(0)).subarray(0, MAX_IP_PAYLOAD - TCP)
  const out = Buffer.allocUnsafe(ETHERNET + IPV4 + TCP + payload.length)
  const pseudo = writeEthernetIpv4(out, { src: input.src, dst: input.dst, protocol: PROTO_TCP, ipPayloadLen: TCP + payload.length, id: input.id ?? 0, ttl: input.ttl ?? 64 })
  const t = ETHERNET + IPV4
  out.writeUInt16BE(input.src.port & 0xffff, t)
  out.writeUInt16BE(input.dst.port & 0xffff, t + 2)
  out.writeUInt32BE(input.seq >>> 0, t + 4)
  out.writeUInt32BE(input.flags & TcpFlag.ACK ? input.ack >>> 0 : 0, t + 8)
  out.writeUInt16BE(((TCP / 4) << 12) | (input.flags & 0x3f), t + 12)
  out.writeUInt16BE((input.window ?? 64_240) & 0xffff, t + 14)
  out.writeUInt16BE(0, t + 16)
  out.writeUInt16BE(0, t + 18)
  payload.copy(out, t + TCP)
  out.writeUInt16BE(checksumOf(onesSum(out.subarray(t), pseudo)), t + 16)
  return { frame: out, origLen: out.length }
}
