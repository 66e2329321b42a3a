// Which requested options a read transfer accepts (RFC 2347 blksize/tsize/timeout from 2348-2349,
// windowsize from RFC 7440) and the values the OACK carries. Pure: no sockets, no files.
import type { TftpOption } from './tftp-codec'

export interface NegotiationLimits {
  /** Largest block offered; 1468 keeps a DATA packet inside one Ethernet frame. */
  readonly maxBlockSize: number
  readonly maxWindowSize: number
  /**
   * Longest timeout option honoured, in seconds. RFC 2349 lets a server accept the client's value
   * or leave the option out, never answer another, so a longer one is left out of the OACK and the
   * server keeps its own retransmission interval: a client asking 255 s must not hold a transfer
   * slot for 255 s per retransmission. Default 255, the RFC's maximum (the server passes its own).
   */
  readonly maxTimeoutSeconds?: number
}

export interface NegotiatedRead {
  readonly blockSize: number
  readonly windowSize: number
  /** The client's retransmission interval, or null to keep the server's. */
  readonly timeoutMs: number | null
  /** Options to acknowledge, in request order. Empty: no OACK, the transfer starts at DATA 1 (RFC 2347). */
  readonly oack: readonly TftpOption[]
}

export const DEFAULT_BLOCK_SIZE = 512
const BLKSIZE_MIN = 8
const BLKSIZE_MAX = 65464
const TIMEOUT_MIN_S = 1
const TIMEOUT_MAX_S = 255
const WINDOWSIZE_MAX = 65535

/** Plain decimal only: no sign, no exponent, no hex, nothing Number() would also accept. */
function decimal(value: string): number | null {
  return /^[0-9]{1,10}$/.test(value) ? Number(value) : null
}

/**
 * Options a server does not understand, or values outside their RFC range, are left out of the
 * OACK rather than refused with error 8: RFC 2347 lets the server ignore them, and a boot ROM
 * then still gets its file with the defaults.
 *
 * `transferSize` is the number of bytes the transfer will send, or null when that is not known
 * before it ends: a netascii read, whose size only converting the whole file would tell.
 */
export function negotiateReadOptions(
  requested: readonly TftpOption[],
  transferSize: number | null,
  limits: NegotiationLimits
): NegotiatedRead {
  let blockSize = DEFAULT_BLOCK_SIZE
  let windowSize = 1
  let timeoutMs: number | null = null
  const oack: TftpOption[] = []
  const seen = new Set<string>()

  for (const { name, value } of requested) {
    // A repeated option keeps its first value, so the OACK never names one option twice.
    if (seen.has(name)) continue
    seen.add(name)
    const n = decimal(value)
    if (n === null) continue
    switch (name) {
      case 'blksize':
        if (n < BLKSIZE_MIN) break
        blockSize = Math.min(n, BLKSIZE_MAX, limits.maxBlockSize)
        oack.push({ name, value: String(blockSize) })
        break
      case 'tsize':
        // RFC 2349: a read request carries 0 and the server answers with the real size. An empty
        // file's tsize is left out: curl (7.88 here) takes "tsize 0" for a broken OACK and quits
        // without an ERROR, and no firmware needs to pre-allocate nothing. An unknown size
        // (netascii) is left out too: the file's size would be wrong by a byte per CR and LF, and
        // the right one would mean converting the whole file before the OACK. (tftpd-hpa 5.2, as
        // measured here, answers such a request with error 8 instead, which fails the transfer;
        // RFC 2347 lets a server leave out an option, and the client then goes on without it.)
        if (transferSize !== null && transferSize > 0) oack.push({ name, value: String(transferSize) })
        break
      case 'timeout':
        if (n < TIMEOUT_MIN_S || n > Math.min(TIMEOUT_MAX_S, limits.maxTimeoutSeconds ?? TIMEOUT_MAX_S)) break
        timeoutMs = n * 1000
        oack.push({ name, value: String(n) })
        break
      case 'windowsize':
        if (n < 1) break
        windowSize = Math.min(n, WINDOWSIZE_MAX, limits.maxWindowSize)
        oack.push({ name, value: String(windowSize) })
        break
      default:
        break
    }
  }
  return { blockSize, windowSize, timeoutMs, oack }
}
