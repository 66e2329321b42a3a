// npm run fuzz, TFTP: RRQs with the blksize/tsize/timeout/windowsize options (and ones nobody
// knows, repeated, past the option cap, with values out of range or not decimal), names that try
// to leave the root, WRQs, ACKs, ERRORs, DATA, OACKs and unknown opcodes; strings without their
// NUL or not UTF-8; then byte mutations. The target runs the codec, the request policy, the option
// negotiation and re-encoding on what decodes.
import { posix } from 'node:path'
import { negotiateReadOptions, type NegotiationLimits } from '../src-main/services/tftp/option-negotiation'
import { checkRequestPath } from '../src-main/services/tftp/request-path'
import { decideRequest, openRefusalReply } from '../src-main/services/tftp/request-policy'
import { decodePacket, encodeAck, encodeData, encodeError, encodeOack, encodeRequest, MAX_OPTIONS, OPCODE, type TftpOption, type TftpPacket } from '../src-main/services/tftp/tftp-codec'
import { mutateBytes } from './fuzz-mutate'
import type { Rng } from './fuzz-rng'
import { check, type FuzzTarget } from './fuzz-target'

/** Files the socket phase's root holds (sizes in bytes), and names that must never be served. */
export const ROOT_FILES: Readonly<Record<string, number>> = {
  'pxelinux.0': 42_000,
  'undionly.kpxe': 70_000,
  'ipxe.efi': 1_000,
  'pxelinux.cfg/default': 300,
  'pxelinux.cfg/01-52-54-00-f0-00-01': 512,
  'grub/grub.cfg': 1_024,
  empty: 0
}
/** A symlink inside the root to a file outside it: its content must never go out. */
export const ESCAPE_LINK = 'escape'
export const SECRET_MARKER = 'FUZZ-SECRET-OUTSIDE-THE-TFTP-ROOT'

const NAMES = [
  ...Object.keys(ROOT_FILES),
  ESCAPE_LINK,
  '/pxelinux.0',
  '//pxelinux.0',
  'missing.bin',
  'pxelinux.cfg/01-52-54-00-f0-00-2a',
  'pxelinux.cfg/C0A87C51',
  '../secret',
  '../../etc/passwd',
  '/etc/passwd',
  'grub/../../secret',
  'grub/./grub.cfg',
  '%2e%2e/secret',
  '%252e%252e%252fsecret',
  '%c0%ae%c0%ae/secret',
  'grub\\..\\secret',
  'pxelinux.cfg/',
  '.',
  '..',
  '',
  'x'.repeat(300),
  'ünïcode/ファイル',
  'a\u0001b'
] as const

const OPTION_NAMES = ['blksize', 'tsize', 'timeout', 'windowsize', 'BLKSIZE', 'Windowsize', 'multicast', 'rollover', 'utimeout', 'x'] as const
const VALUES = ['512', '1468', '1024', '8', '7', '0', '65464', '65465', '99999999999', '4294967296', '1', '255', '256', '64', '65535', '-1', '+5', '1e3', '0x200', ' 512', '512 ', '', '٣', '00000000512'] as const

function requestOptions(rng: Rng): TftpOption[] {
  const n = rng.chance(0.3) ? 0 : rng.chance(0.95) ? rng.range(1, 5) : rng.range(MAX_OPTIONS - 1, MAX_OPTIONS + 2)
  const out: TftpOption[] = []
  for (let i = 0; i < n; i++) {
    out.push({ name: rng.chance(0.9) ? rng.pick(OPTION_NAMES) : `o${rng.int(1000)}`, value: rng.chance(0.9) ? rng.pick(VALUES) : String(rng.u32()) })
  }
  // RFC 2349: a read request's tsize is 0, and real clients send it.
  if (rng.chance(0.3)) out.push({ name: 'tsize', value: '0' })
  return out
}

/** NUL-terminated strings, some without their NUL or with bytes that are not UTF-8. */
function strings(values: readonly string[], rng: Rng): Buffer {
  return Buffer.concat(
    values.map((v) => {
      const bytes = rng.chance(0.99) ? Buffer.from(v, 'utf8') : Buffer.concat([Buffer.from(v, 'utf8'), Buffer.from(rng.pick([[0xff], [0xc0, 0xae], [0xed, 0xa0, 0x80]]))])
      return rng.chance(0.99) ? Buffer.concat([bytes, Buffer.alloc(1)]) : bytes
    })
  )
}

const opcode = (code: number): Buffer => {
  const b = Buffer.alloc(2)
  b.writeUInt16BE(code & 0xffff)
  return b
}

export interface TftpShape {
  /** Names in the root to ask for more often, so transfers really start in the socket phase. */
  readonly preferServed: boolean
}

/** A name as long as a datagram allows, of a pattern the path checks loop over. */
function longName(rng: Rng): string {
  const unit = rng.pick(['%2e', '%25', 'a/', '../', '/', '%c0%ae', 'ü', 'x'])
  return unit.repeat(Math.floor(rng.range(1000, 60_000) / unit.length))
}

export function tftpRequest(rng: Rng, shape: TftpShape = { preferServed: false }): Buffer {
  const name = shape.preferServed && rng.chance(0.5) ? rng.pick(Object.keys(ROOT_FILES)) : rng.chance(0.995) ? rng.pick(NAMES) : longName(rng)
  const mode = rng.chance(0.85) ? 'octet' : rng.pick(['netascii', 'mail', 'OCTET', 'Octet', 'binary', ''])
  const options = requestOptions(rng)
  return Buffer.concat([opcode(rng.chance(0.9) ? OPCODE.rrq : OPCODE.wrq), strings([name, mode, ...options.flatMap((o) => [o.name, o.value])], rng)])
}

/** ACK, ERROR or a stray DATA: what a client sends during a transfer (and, wrongly, to port 69). */
export function tftpTransferPacket(rng: Rng, block: number): Buffer {
  switch (rng.int(6)) {
    case 0:
    case 1: {
      const b = Buffer.concat([opcode(OPCODE.ack), opcode(rng.chance(0.8) ? block : rng.pick([0, block - 1, block + 1, 0xffff, rng.int(0x10000)]))])
      return rng.chance(0.1) ? Buffer.concat([b, rng.bytes(rng.range(1, 8))]) : b
    }
    case 2:
      return Buffer.concat([opcode(OPCODE.error), opcode(rng.pick([0, 1, 2, 4, 5, 8, 0xffff])), strings([rng.pick(['', 'tsize probe', 'Disk full', 'ü'.repeat(100)])], rng)])
    case 3:
      return Buffer.concat([opcode(OPCODE.data), opcode(block), rng.bytes(rng.pick([0, 1, 512, 600]))])
    case 4:
      return Buffer.concat([opcode(OPCODE.oack), strings(requestOptions(rng).flatMap((o) => [o.name, o.value]), rng)])
    default:
      return Buffer.concat([opcode(rng.pick([0, 7, 8, 0x0100, 0xffff])), rng.bytes(rng.int(20))])
  }
}

export function tftpPacket(rng: Rng): Buffer {
  const base = rng.chance(0.75) ? tftpRequest(rng) : tftpTransferPacket(rng, rng.int(0x10000))
  return mutateBytes(base, rng)
}

const LIMITS: readonly NegotiationLimits[] = [
  { maxBlockSize: 1468, maxWindowSize: 64 },
  { maxBlockSize: 65464, maxWindowSize: 65535 },
  { maxBlockSize: 512, maxWindowSize: 1 }
]
const FILE_SIZES = [0, 1, 511, 512, 42_000, 2 ** 32, 2 ** 40] as const

function sameOptions(a: readonly TftpOption[], b: readonly TftpOption[]): boolean {
  return a.length === b.length && a.every((o, i) => o.name === b[i]?.name && o.value === b[i]?.value)
}

/** Every packet that decodes must encode to bytes that decode to the same packet. */
function checkRoundTrip(p: TftpPacket): void {
  let bytes: Buffer
  switch (p.op) {
    case 'rrq':
    case 'wrq':
      bytes = encodeRequest(p.op, p.filename, p.mode, p.options)
      break
    case 'data':
      bytes = encodeData(p.block, p.data)
      break
    case 'ack':
      bytes = encodeAck(p.block)
      break
    case 'error':
      // The message is read as latin1 and written as UTF-8: only its code and presence round-trip.
      bytes = encodeError(p.code, p.message)
      break
    case 'oack':
      bytes = encodeOack(p.options)
      break
  }
  const again = decodePacket(bytes)
  check(again.ok && again.packet.op === p.op, `${p.op} does not survive encode and decode`)
  const q = again.packet
  if ((p.op === 'rrq' || p.op === 'wrq') && (q.op === 'rrq' || q.op === 'wrq')) {
    check(p.filename === q.filename && p.mode === q.mode && sameOptions(p.options, q.options), `${p.op} changed across encode and decode`)
  } else if (p.op === 'oack' && q.op === 'oack') {
    check(sameOptions(p.options, q.options), 'OACK options changed across encode and decode')
  } else if (p.op === 'data' && q.op === 'data') {
    check(p.block === q.block && p.data.equals(q.data), 'DATA changed across encode and decode')
  } else if (p.op === 'ack' && q.op === 'ack') {
    check(p.block === q.block, 'ACK changed across encode and decode')
  } else if (p.op === 'error' && q.op === 'error') {
    check(p.code === q.code, 'ERROR code changed across encode and decode')
  }
}

export const tftpTarget: FuzzTarget = {
  protocol: 'tftp',
  generate: tftpPacket,
  run(input) {
    const decoded = decodePacket(input)
    const decision = decideRequest(decoded)
    if (decision.action === 'refuse') check(decision.code >= 0 && decision.code <= 8 && decision.message.length > 0, `refusal with code ${decision.code}`)
    if (decision.action === 'serve') {
      // Confinement, lexically: what is looked up is relative, canonical and stays under the root.
      const r = decision.relative
      check(r !== '' && !r.startsWith('/') && !r.includes('\\') && !r.includes('\0'), `served name ${JSON.stringify(r)} is not a plain relative path`)
      check(posix.normalize(r) === r && !r.split('/').includes('..'), `served name ${JSON.stringify(r)} is not canonical`)
      for (const limits of LIMITS) {
        for (const size of FILE_SIZES) {
          const n = negotiateReadOptions(decision.options, size, limits)
          check(n.blockSize >= 8 && n.blockSize <= Math.max(512, limits.maxBlockSize), `negotiated blksize ${n.blockSize}`)
          check(n.windowSize >= 1 && n.windowSize <= limits.maxWindowSize, `negotiated windowsize ${n.windowSize}`)
          check(n.timeoutMs === null || (n.timeoutMs >= 1000 && n.timeoutMs <= 255_000), `negotiated timeout ${n.timeoutMs} ms`)
          check(new Set(n.oack.map((o) => o.name)).size === n.oack.length, 'the OACK names an option twice')
          // No OACK goes out when nothing was acknowledged (RFC 2347: the transfer starts at DATA 1).
          if (n.oack.length === 0) continue
          const oack = decodePacket(encodeOack(n.oack))
          check(oack.ok && oack.packet.op === 'oack' && sameOptions(oack.packet.options, n.oack), 'the OACK does not decode to what was negotiated')
        }
      }
    }
    if (!decoded.ok) return { decoded: false }
    const p = decoded.packet
    if (p.op === 'rrq' || p.op === 'wrq') checkRequestPath(p.filename)
    for (const refusal of ['not-found', 'io', 'outside-root', 'not-a-file', 'denied'] as const) openRefusalReply(refusal)
    checkRoundTrip(p)
    return { decoded: true }
  }
}
