// The classic libpcap file format (what `tcpdump -w` writes and Wireshark reads): a 24-byte header
// with the link type and snaplen, then per packet a 16-byte record (seconds, microseconds, bytes
// kept, bytes on the wire) and the bytes kept. Pure; the reader treats its input as hostile.

export const LINKTYPE_ETHERNET = 1
const MAGIC_MICROSECONDS = 0xa1b2c3d4
const MAGIC_NANOSECONDS = 0xa1b23c4d
const FILE_HEADER = 24
const RECORD_HEADER = 16

export interface PcapRecord {
  /** Capture time in microseconds since the epoch. */
  readonly tMicros: number
  /** The bytes kept (incl_len is their length). */
  readonly frame: Buffer
  /** The frame's length on the wire (orig_len); at least frame.length. */
  readonly origLen: number
}

/**
 * A pcap file of Ethernet frames. `snaplen` is recorded as given: a frame kept whole is at most
 * that long, and a longer one was cut (the records say so with incl_len < orig_len).
 */
export function writePcap(records: readonly PcapRecord[], snaplen = 65_535): Buffer {
  let size = FILE_HEADER
  for (const r of records) size += RECORD_HEADER + r.frame.length
  const out = Buffer.allocUnsafe(size)
  out.writeUInt32LE(MAGIC_MICROSECONDS, 0)
  out.writeUInt16LE(2, 4)
  out.writeUInt16LE(4, 6)
  out.writeInt32LE(0, 8) // thiszone: timestamps are UTC
  out.writeUInt32LE(0, 12) // sigfigs
  out.writeUInt32LE(snaplen, 16)
  out.writeUInt32LE(LINKTYPE_ETHERNET, 20)
  let at = FILE_HEADER
  for (const r of records) {
    const t = Math.max(0, Math.floor(r.tMicros))
    out.writeUInt32LE(Math.floor(t / 1_000_000) >>> 0, at)
    out.writeUInt32LE(t % 1_000_000, at + 4)
    out.writeUInt32LE(r.frame.length, at + 8)
    out.writeUInt32LE(Math.max(r.origLen, r.frame.length), at + 12)
    r.frame.copy(out, at + RECORD_HEADER)
    at += RECORD_HEADER + r.frame.length
  }
  return out
}

/** Records without the file header (how the recorder stores a run of them): the same bytes writePcap writes after it. */
export function encodeRecords(records: readonly PcapRecord[]): Buffer {
  return writePcap(records).subarray(FILE_HEADER)
}

/** The records encodeRecords wrote (little-endian, microseconds); a truncated last one is dropped. */
export function decodeRecords(buf: Buffer, maxRecords = 1_000_000): PcapRecord[] {
  const records: PcapRecord[] = []
  let at = 0
  while (at + RECORD_HEADER <= buf.length && records.length < maxRecords) {
    const included = buf.readUInt32LE(at + 8)
    if (at + RECORD_HEADER + included > buf.length) break
    records.push({
      tMicros: buf.readUInt32LE(at) * 1_000_000 + buf.readUInt32LE(at + 4),
      frame: buf.subarray(at + RECORD_HEADER, at + RECORD_HEADER + included),
      origLen: buf.readUInt32LE(at + 12)
    })
    at += RECORD_HEADER + included
  }
  return records
}

export interface PcapFile {
  readonly linkType: number
  readonly snaplen: number
  readonly records: PcapRecord[]
}

export type PcapFileResult = { readonly ok: true; readonly file: PcapFile } | { readonly ok: false; readonly error: string }

/** Reads a pcap file (either byte order, µs or ns timestamps); a truncated last record is dropped. */
export function readPcapFile(buf: Buffer, maxRecords = 1_000_000): PcapFileResult {
  if (buf.length < FILE_HEADER) return { ok: false, error: `pcap header needs ${FILE_HEADER} bytes, got ${buf.length}` }
  const magicLe = buf.readUInt32LE(0)
  const magicBe = buf.readUInt32BE(0)
  const little = magicLe === MAGIC_MICROSECONDS || magicLe === MAGIC_NANOSECONDS
  if (!little && magicBe !== MAGIC_MICROSECONDS && magicBe !== MAGIC_NANOSECONDS) {
    return { ok: false, error: `not a pcap file (magic 0x${magicLe.toString(16)})` }
  }
  const nanos = (little ? magicLe : magicBe) === MAGIC_NANOSECONDS
  const u32 = (at: number): number => (little ? buf.readUInt32LE(at) : buf.readUInt32BE(at))
  const records: PcapRecord[] = []
  let at = FILE_HEADER
  while (at + RECORD_HEADER <= buf.length && records.length < maxRecords) {
    const included = u32(at + 8)
    if (at + RECORD_HEADER + included > buf.length) break
    const fraction = u32(at + 4)
    records.push({
      tMicros: u32(at) * 1_000_000 + (nanos ? Math.floor(fraction / 1000) : fraction),
      frame: buf.subarray(at + RECORD_HEADER, at + RECORD_HEADER + included),
      origLen: u32(at + 12)
    })
    at += RECORD_HEADER + included
  }
  return { ok: true, file: { linkType: u32(20) & 0xffff, snaplen: u32(16), records } }
}
