// TFTP wire format (RFC 1350, OACK from RFC 2347): pure encode/decode of every packet kind.
// Decoding never throws: datagrams come from anyone on the boot network.

export const OPCODE = { rrq: 1, wrq: 2, data: 3, ack: 4, error: 5, oack: 6 } as const

/** RFC 1350 error codes, plus 8 from RFC 2347. */
export const TFTP_ERROR = {
  notDefined: 0,
  fileNotFound: 1,
  accessViolation: 2,
  diskFull: 3,
  illegalOperation: 4,
  unknownTransferId: 5,
  fileExists: 6,
  noSuchUser: 7,
  optionRefused: 8
} as const

/** One option from a request or OACK; names are lower-cased on decode (RFC 2347: case-insensitive). */
export interface TftpOption {
  readonly name: string
  readonly value: string
}

export interface TftpRequest {
  readonly op: 'rrq' | 'wrq'
  readonly filename: string
  /** Lower-cased: 'octet', 'netascii' or 'mail'. */
  readonly mode: string
  readonly options: readonly TftpOption[]
}

export type TftpPacket =
  | TftpRequest
  | { readonly op: 'data'; readonly block: number; readonly data: Buffer }
  | { readonly op: 'ack'; readonly block: number }
  | { readonly op: 'error'; readonly code: number; readonly message: string }
  | { readonly op: 'oack'; readonly options: readonly TftpOption[] }

export type DecodeResult = { readonly ok: true; readonly packet: TftpPacket } | { readonly ok: false; readonly reason: string }

/** More options than any real client sends; bounds the work a hostile request can cause. */
export const MAX_OPTIONS = 32

const MODES = new Set(['octet', 'netascii', 'mail'])
const utf8 = new TextDecoder('utf-8', { fatal: true })

const fail = (reason: string): DecodeResult => ({ ok: false, reason })

/** A NUL-terminated string at `offset`, or null when there is no NUL or the bytes are not UTF-8. */
function readString(buf: Buffer, offset: number): { value: string; next: number } | null {
  const end = buf.indexOf(0, offset)
  if (end < 0) return null
  try {
    return { value: utf8.decode(buf.subarray(offset, end)), next: end + 1 }
  } catch {
    return null
  }
}

/** Name/value pairs up to the end of the packet, or why they cannot be read. */
function readOptions(buf: Buffer, offset: number): TftpOption[] | string {
  const options: TftpOption[] = []
  let at = offset
  // Each pass consumes at least two bytes, and the count is capped, so the loop is bounded.
  while (at < buf.length) {
    if (options.length >= MAX_OPTIONS) return `more than ${MAX_OPTIONS} options`
    const name = readString(buf, at)
    if (!name) return 'option name not NUL-terminated UTF-8'
    const value = readString(buf, name.next)
    if (!value) return `option ${JSON.stringify(name.value)} has no NUL-terminated value`
    if (name.value === '') return 'empty option name'
    options.push({ name: name.value.toLowerCase(), value: value.value })
    at = value.next
  }
  return options
}

export function decodePacket(buf: Buffer): DecodeResult {
  if (buf.length < 4) return fail(`packet of ${buf.length} bytes is shorter than any TFTP packet`)
  const opcode = buf.readUInt16BE(0)
  switch (opcode) {
    case OPCODE.rrq:
    case OPCODE.wrq: {
      const filename = readString(buf, 2)
      if (!filename) return fail('filename not NUL-terminated UTF-8')
      const mode = readString(buf, filename.next)
      if (!mode) return fail('mode not NUL-terminated')
      const lowered = mode.value.toLowerCase()
      if (!MODES.has(lowered)) return fail(`unknown mode ${JSON.stringify(mode.value)}`)
      const options = readOptions(buf, mode.next)
      if (typeof options === 'string') return fail(options)
      return {
        ok: true,
        packet: { op: opcode === OPCODE.rrq ? 'rrq' : 'wrq', filename: filename.value, mode: lowered, options }
      }
    }
    case OPCODE.data:
      return { ok: true, packet: { op: 'data', block: buf.readUInt16BE(2), data: buf.subarray(4) } }
    case OPCODE.ack:
      // Some clients pad ACKs; only the block number matters.
      return { ok: true, packet: { op: 'ack', block: buf.readUInt16BE(2) } }
    case OPCODE.error: {
      const code = buf.readUInt16BE(2)
      // A missing terminator or bad UTF-8 in the message must not hide the error itself.
      const end = buf.indexOf(0, 4)
      const message = buf.subarray(4, end < 0 ? buf.length : end).toString('latin1')
      return { ok: true, packet: { op: 'error', code, message } }
    }
    case OPCODE.oack: {
      const options = readOptions(buf, 2)
      if (typeof options === 'string') return fail(options)
      return { ok: true, packet: { op: 'oack', options } }
    }
    default:
      return fail(`unknown opcode ${opcode}`)
  }
}

function checkBlock(block: number): void {
  if (!Number.isInteger(block) || block < 0 || block > 0xffff) throw new RangeError(`block number ${block} is not 0..65535`)
}

function cString(value: string, what: string): Buffer {
  if (value.includes('\0')) throw new RangeError(`${what} contains a NUL byte`)
  return Buffer.concat([Buffer.from(value, 'utf8'), Buffer.alloc(1)])
}

function optionBytes(options: readonly TftpOption[]): Buffer[] {
  return options.flatMap((o) => [cString(o.name, 'option name'), cString(o.value, 'option value')])
}

function withOpcode(opcode: number, parts: Buffer[]): Buffer {
  const head = Buffer.alloc(2)
  head.writeUInt16BE(opcode, 0)
  return Buffer.concat([head, ...parts])
}

export function encodeRequest(
  op: 'rrq' | 'wrq',
  filename: string,
  mode: string,
  options: readonly TftpOption[] = []
): Buffer {
  return withOpcode(OPCODE[op], [cString(filename, 'filename'), cString(mode, 'mode'), ...optionBytes(options)])
}

/** Writes the 4-byte DATA header (opcode, block) at `offset`: a DATA packet sent as [header, payload] needs no copy. */
export function writeDataHeader(block: number, out: Buffer, offset: number): void {
  checkBlock(block)
  out.writeUInt16BE(OPCODE.data, offset)
  out.writeUInt16BE(block, offset + 2)
}

export function encodeData(block: number, data: Buffer): Buffer {
  checkBlock(block)
  const out = Buffer.allocUnsafe(4 + data.length)
  out.writeUInt16BE(OPCODE.data, 0)
  out.writeUInt16BE(block, 2)
  data.copy(out, 4)
  return out
}

export function encodeAck(block: number): Buffer {
  checkBlock(block)
  const out = Buffer.alloc(4)
  out.writeUInt16BE(OPCODE.ack, 0)
  out.writeUInt16BE(block, 2)
  return out
}

export function encodeError(code: number, message: string): Buffer {
  checkBlock(code)
  const head = Buffer.alloc(4)
  head.writeUInt16BE(OPCODE.error, 0)
  head.writeUInt16BE(code, 2)
  return Buffer.concat([head, cString(message, 'error message')])
}

export function encodeOack(options: readonly TftpOption[]): Buffer {
  return withOpcode(OPCODE.oack, optionBytes(options))
}
