// Reads what `tcpdump -w -` writes (libpcap's file format, Ethernet link type) into frames, and an
// Ethernet frame into its ethertype and payload (one 802.1Q tag skipped). Pure; input is hostile:
// every read is length-checked, loops are bounded, nothing throws.

const MAX_FRAMES = 1000
const LINKTYPE_ETHERNET = 1

export type PcapResult = { ok: true; frames: Buffer[] } | { ok: false; error: string }

/** The frames of a pcap stream; a truncated last record (a capture stopped mid-write) is dropped. */
export function readPcap(buf: Buffer): PcapResult {
  if (buf.length < 24) return { ok: false, error: `pcap header needs 24 bytes, got ${buf.length}` }
  const magic = buf.readUInt32LE(0)
  let little: boolean
  if (magic === 0xa1b2c3d4 || magic === 0xa1b23c4d) little = true
  else if (magic === 0xd4c3b2a1 || magic === 0x4d3cb2a1) little = false
  else return { ok: false, error: `not a pcap stream (magic 0x${magic.toString(16)})` }
  const u32 = (at: number): number => (little ? buf.readUInt32LE(at) : buf.readUInt32BE(at))
  const linkType = u32(20) & 0xffff
  if (linkType !== LINKTYPE_ETHERNET) return { ok: false, error: `link type ${linkType} is not Ethernet` }
  const frames: Buffer[] = []
  let at = 24
  while (at + 16 <= buf.length && frames.length < MAX_FRAMES) {
    const included = u32(at + 8)
    if (at + 16 + included > buf.length) break
    frames.push(buf.subarray(at + 16, at + 16 + included))
    at += 16 + included
  }
  return { ok: true, frames }
}

export interface EthernetFrame {
  readonly destination: string
  readonly source: string
  readonly etherType: number
  /** The 802.1Q tag's VLAN id when the frame had one. */
  readonly vlan: number | null
  readonly payload: Buffer
}

export const formatMac = (b: Buffer): string => [...b].map((x) => x.toString(16).padStart(2, '0')).join(':')

export function readEthernet(frame: Buffer): EthernetFrame | null {
  if (frame.length < 14) return null
  let etherType = frame.readUInt16BE(12)
  let start = 14
  let vlan: number | null = null
  if (etherType === 0x8100) {
    if (frame.length < 18) return null
    vlan = frame.readUInt16BE(14) & 0x0fff
    etherType = frame.readUInt16BE(16)
    start = 18
  }
  return { destination: formatMac(frame.subarray(0, 6)), source: formatMac(frame.subarray(6, 12)), etherType, vlan, payload: frame.subarray(start) }
}
