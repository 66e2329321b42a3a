// One read transfer: sends a file to one client from its own UDP port (its TID), a window of
// DATA blocks at a time (RFC 7440), with retransmission on timeout. Owns its socket and source.
import type dgram from 'node:dgram'
import { messageOf } from '../../base/error-message'
import type { ReadSource } from './read-source'
import { decodePacket, encodeError, TFTP_ERROR, writeDataHeader } from './tftp-codec'
import type { TransferCapture } from './transfer-capture'

/**
 * Bytes read from the file at once. Each FileHandle.read is a round trip through the libuv thread
 * pool (two cross-thread wake-ups), so reading per window halved throughput; a quarter MiB per
 * read makes it noise, and stays small enough for `maxTransfers` transfers at once.
 */
const READ_AHEAD_BYTES = 256 * 1024

/** A run of blocks read from the source, each ready to send as [DATA header, payload view]. */
interface Chunk {
  /** Absolute number of the first block. */
  readonly first: number
  readonly packets: ReadonlyArray<readonly [Buffer, Buffer]>
}

export interface TftpPeer {
  readonly address: string
  readonly port: number
}

export type TransferOutcome =
  | { readonly kind: 'complete'; readonly bytes: number; readonly ms: number }
  /** The client sent ERROR: often code 8 after a PXE ROM's tsize probe, which is normal. */
  | { readonly kind: 'client-error'; readonly code: number; readonly message: string }
  /** No ACK moved the transfer on for `stallMs`, or after `retries` retransmissions. */
  | { readonly kind: 'timed-out'; readonly block: number; readonly idleMs: number }
  /** Its slot went to a new request while the server was full and this transfer was stalled. */
  | { readonly kind: 'preempted'; readonly idleMs: number }
  /** The client's port is closed (ICMP port unreachable): it quit without an ERROR. */
  | { readonly kind: 'client-gone' }
  | { readonly kind: 'failed'; readonly reason: string }
  | { readonly kind: 'stopped' }

export interface ReadTransferParams {
  /**
   * Bound and connected to `peer`, unused otherwise; the transfer closes it. Connected, the
   * kernel drops datagrams from any other address or port (a foreign TID), as tftpd-hpa's
   * connected socket does, so those no longer get RFC 1350's error 5 ("should", not "must").
   */
  readonly socket: dgram.Socket
  readonly peer: TftpPeer
  /** The bytes to send (the file, or the file converted to netascii); the transfer closes it. */
  readonly source: ReadSource
  readonly blockSize: number
  readonly windowSize: number
  readonly timeoutMs: number
  /** Retransmissions of one window (or of the OACK) before giving up. */
  readonly retries: number
  /**
   * Longest time without progress (an ACK that moves the window on) before giving up, whatever
   * `timeoutMs` and `retries` would allow: the bound on how long a silent client holds a slot.
   */
  readonly stallMs: number
  /** The OACK to send first and have acknowledged with ACK 0; null for a plain RFC 1350 start. */
  readonly oack: Buffer | null
  readonly now: () => number
  /** The packet sink's view of this transfer (the boot flight recorder's pcap), when one listens. */
  readonly capture?: TransferCapture | undefined
}

export class ReadTransfer {
  readonly done: Promise<TransferOutcome>
  private resolveDone!: (outcome: TransferOutcome) => void
  /** Bytes sent in all; null until the source reaches its end when it could not say in advance. */
  private wireSize: number | null
  /** The last block's number; infinite while `wireSize` is unknown. */
  private totalBlocks: number
  private finished = false
  private awaitingOackAck: boolean
  /** First block (1-based, absolute: not wrapped at 65535) the client has not acknowledged. */
  private base = 1
  /** Blocks per read: whole windows, so a window never straddles two reads in a steady transfer. */
  private readonly chunkBlocks: number
  private chunk: Chunk | null = null
  /** The block the last window sent starts at (0: none sent yet). */
  private sentBase = 0
  /** A read is in flight; the window at `base` goes out when it lands. */
  private reading = false
  private attempts = 0
  /** Windows (or OACKs) sent again, in all: the flight recorder reports it. */
  private resent = 0
  /** One timer for the whole transfer, re-armed with refresh(): no new timer per window. */
  private timer: NodeJS.Timeout | null = null
  /** The delay `timer` was created with (refresh() re-arms with the same one). */
  private timerDelay = 0
  private startedAt = 0
  private lastProgressAt = 0

  constructor(private readonly p: ReadTransferParams) {
    this.done = new Promise((resolve) => {
      this.resolveDone = resolve
    })
    this.wireSize = p.source.wireSize
    this.totalBlocks = this.wireSize === null ? Number.POSITIVE_INFINITY : this.lastBlockOf(this.wireSize)
    const windows = Math.max(1, Math.ceil(READ_AHEAD_BYTES / p.blockSize / p.windowSize))
    this.chunkBlocks = windows * p.windowSize
    this.awaitingOackAck = p.oack !== null
    p.socket.on('message', (msg, rinfo) => {
      try {
        this.onMessage(msg, rinfo)
      } catch (err) {
        this.fail(`internal error: ${messageOf(err)}`)
      }
    })
    p.socket.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ECONNREFUSED') this.finish({ kind: 'client-gone' })
      else this.finish({ kind: 'failed', reason: `socket error: ${err.message}` })
    })
  }

  start(): void {
    this.startedAt = this.p.now()
    this.lastProgressAt = this.startedAt
    if (this.p.oack) {
      this.send(this.p.oack)
      this.arm()
    } else {
      this.pump()
    }
  }

  /** Ends the transfer now, telling the client why. */
  stop(): void {
    this.finish({ kind: 'stopped' }, encodeError(TFTP_ERROR.notDefined, 'server is stopping'))
  }

  /** Milliseconds since the transfer last moved on (0 before it starts). */
  idleMs(): number {
    return this.startedAt === 0 ? 0 : this.p.now() - this.lastProgressAt
  }

  /**
   * The last block is the first one shorter than blockSize, so a size that is a multiple of
   * blockSize (0 included) ends with an empty block.
   */
  private lastBlockOf(size: number): number {
    return Math.floor(size / this.p.blockSize) + 1
  }

  get retransmits(): number {
    return this.resent
  }

  /** The last block the client acknowledged (absolute; 0 before any). */
  get lastAcked(): number {
    return this.base - 1
  }

  /** Milliseconds since start (0 before it starts). */
  elapsedMs(): number {
    return this.startedAt === 0 ? 0 : this.p.now() - this.startedAt
  }

  get isFinished(): boolean {
    return this.finished
  }

  /** Gives the slot to another request: the client is told to retry. */
  preempt(): void {
    this.finish(
      { kind: 'preempted', idleMs: this.idleMs() },
      encodeError(TFTP_ERROR.notDefined, 'server busy and this transfer had stalled; retry later')
    )
  }

  private onMessage(msg: Buffer, rinfo: dgram.RemoteInfo): void {
    if (this.finished) return
    // The socket is connected, so the kernel already dropped foreign TIDs; this only guards that.
    if (rinfo.address !== this.p.peer.address || rinfo.port !== this.p.peer.port) return
    this.p.capture?.received(msg)
    const decoded = decodePacket(msg)
    // Garbage is dropped rather than answered: the retransmission timer still bounds the wait.
    if (!decoded.ok) return
    const packet = decoded.packet
    switch (packet.op) {
      case 'ack':
        this.onAck(packet.block)
        return
      case 'error':
        this.finish({ kind: 'client-error', code: packet.code, message: packet.message })
        return
      default:
        this.finish(
          { kind: 'failed', reason: `client sent ${packet.op.toUpperCase()} during a read transfer` },
          encodeError(TFTP_ERROR.illegalOperation, 'Illegal TFTP operation')
        )
    }
  }

  private onAck(block: number): void {
    if (this.awaitingOackAck) {
      if (block !== 0) return
      this.awaitingOackAck = false
      this.progress()
      return
    }
    const acked = this.absoluteOf(block)
    if (acked === null) return
    if (acked === this.base - 1) {
      // No progress. With a window, that is the client saying the window's first block was lost
      // (RFC 7440 §4), so send it again now; in lock-step, answering duplicate ACKs would start
      // the Sorcerer's Apprentice bug, so only the timer retransmits.
      if (this.p.windowSize > 1 && this.sentBase === this.base && !this.reading) {
        this.resent++
        this.sendWindow(true)
      }
      return
    }
    if (acked >= this.totalBlocks) {
      this.finish({ kind: 'complete', bytes: this.wireSize ?? 0, ms: this.p.now() - this.startedAt })
      return
    }
    this.base = acked + 1
    this.progress()
  }

  /**
   * The absolute block an ACK's 16-bit number means, if it lies between the last block already
   * acknowledged and the end of the current window, and has been read (so could have been sent:
   * a netascii source can only go on from what it has read); block numbers wrap from 65535 to 0.
   */
  private absoluteOf(block: number): number | null {
    const read = this.chunk ? this.chunk.first + this.chunk.packets.length - 1 : 0
    const last = Math.min(this.base + this.p.windowSize - 1, this.totalBlocks, read)
    const distance = (block - ((this.base - 1) & 0xffff) + 0x10000) & 0xffff
    const absolute = this.base - 1 + distance
    return absolute <= last ? absolute : null
  }

  private progress(): void {
    this.attempts = 0
    this.lastProgressAt = this.p.now()
    this.pump()
  }

  private windowEnd(): number {
    return Math.min(this.base + this.p.windowSize - 1, this.totalBlocks)
  }

  /** Sends the window at `base`, reading the source first when the current chunk does not hold it. */
  private pump(): void {
    // A read in flight sends the window at the `base` of when it lands.
    if (this.reading) return
    const chunk = this.chunk
    if (chunk && chunk.first <= this.base && this.windowEnd() < chunk.first + chunk.packets.length) {
      this.sendWindow()
      return
    }
    this.reading = true
    // The timer runs during the read too: one slower than the timeout counts as a retry.
    this.arm()
    this.readChunk(this.base)
      .then((loaded) => {
        this.reading = false
        if (this.finished) return
        if (!loaded) return
        this.chunk = loaded
        this.pump()
      })
      .catch((err: unknown) => {
        this.reading = false
        this.fail(`read failed: ${messageOf(err)}`)
      })
  }

  /** Reads `chunkBlocks` blocks from `first` into a fresh buffer; null when the transfer ended meanwhile. */
  private async readChunk(first: number): Promise<Chunk | null> {
    const bs = this.p.blockSize
    let blocks = Math.min(this.chunkBlocks, this.totalBlocks - first + 1)
    const position = (first - 1) * bs
    const length = this.wireSize === null ? blocks * bs : Math.min(this.wireSize - position, blocks * bs)
    // Fresh, not reused: a send the kernel could not take at once is queued by libuv with a view
    // of this buffer, and must not see it overwritten by the next read.
    const buf = Buffer.allocUnsafe(length + blocks * 4)
    const headers = buf.subarray(length)
    const filled = await this.p.source.read(buf.subarray(0, length), position)
    if (this.finished) return null
    if (filled < length) {
      if (this.wireSize !== null) {
        // The size was announced (tsize) and block boundaries depend on it: a short read would end
        // the client's file early and silently.
        this.fail('file shrank during transfer')
        return null
      }
      // The end of a stream whose size was not known: this chunk holds the last block, which is
      // shorter than blockSize (empty when the stream ends on a block boundary).
      this.wireSize = position + filled
      this.totalBlocks = this.lastBlockOf(this.wireSize)
      blocks = this.totalBlocks - first + 1
    }
    const packets: Array<readonly [Buffer, Buffer]> = []
    for (let i = 0; i < blocks; i++) {
      writeDataHeader((first + i) & 0xffff, headers, 4 * i)
      const from = i * bs
      packets.push([headers.subarray(4 * i, 4 * i + 4), buf.subarray(from, Math.min(from + bs, filled))])
    }
    return { first, packets }
  }

  /** Sends the window at `base` from the current chunk, which holds it (pump checked). */
  private sendWindow(retransmit = false): void {
    const chunk = this.chunk
    if (!chunk) return
    const last = this.windowEnd()
    for (let block = this.base; block <= last; block++) {
      const packet = chunk.packets[block - chunk.first]
      if (packet) this.send(packet, retransmit)
    }
    this.sentBase = this.base
    this.arm()
  }

  /** Arms the timer for the next retransmission, or for the stall bound if that comes first. */
  private arm(): void {
    const untilStall = this.lastProgressAt + this.p.stallMs - this.p.now()
    const delay = Math.max(1, Math.ceil(Math.min(this.p.timeoutMs, untilStall)))
    if (this.timer && delay === this.timerDelay) {
      this.timer.refresh()
      return
    }
    if (this.timer) clearTimeout(this.timer)
    this.timerDelay = delay
    this.timer = setTimeout(() => {
      try {
        this.onTimeout()
      } catch (err) {
        // A throw from a timer would reach the process, not a handler.
        this.fail(`internal error: ${messageOf(err)}`)
      }
    }, delay)
  }

  private disarm(): void {
    if (this.timer) clearTimeout(this.timer)
    this.timer = null
  }

  private onTimeout(): void {
    if (this.finished) return
    const idleMs = this.p.now() - this.lastProgressAt
    if (idleMs >= this.p.stallMs || ++this.attempts > this.p.retries) {
      this.finish(
        { kind: 'timed-out', block: this.awaitingOackAck ? 0 : this.base, idleMs },
        encodeError(TFTP_ERROR.notDefined, 'timed out')
      )
      return
    }
    if (this.awaitingOackAck && this.p.oack) {
      this.resent++
      this.send(this.p.oack, true)
      this.arm()
    } else if (this.sentBase === this.base && !this.reading) {
      this.resent++
      this.sendWindow(true)
    } else {
      this.arm()
    }
  }

  private fail(reason: string): void {
    this.finish({ kind: 'failed', reason }, encodeError(TFTP_ERROR.notDefined, 'server error'))
  }

  /**
   * Sends without a callback: on a connected socket Node then hands the datagram to the kernel
   * synchronously and allocates nothing to report back. A failed send is thus a lost packet,
   * which the retransmission timer covers like any other.
   */
  private send(packet: Buffer | readonly Buffer[], retransmit = false): void {
    this.p.capture?.sent(packet, retransmit)
    try {
      this.p.socket.send(packet)
    } catch (err) {
      // send() throws synchronously once the socket is closed.
      if (!this.finished) this.finish({ kind: 'failed', reason: `send failed: ${messageOf(err)}` })
    }
  }

  /** Sends one last packet, then calls `then` whether or not it went out. */
  private sendLast(packet: Buffer, then: () => void): void {
    this.p.capture?.sent(packet)
    try {
      this.p.socket.send(packet, () => then())
    } catch {
      then()
    }
  }

  /** Settles once: stops the timer, optionally sends a last ERROR, then closes socket and source. */
  private finish(outcome: TransferOutcome, farewell?: Buffer): void {
    if (this.finished) return
    this.finished = true
    this.disarm()
    const release = (): void => {
      try {
        this.p.socket.close()
      } catch {
        // Already closed after a socket error.
      }
      this.p.source
        .close()
        .catch(() => undefined)
        .finally(() => this.resolveDone(outcome))
    }
    // A send the kernel could not take at once is still queued: closing now would drop the ERROR.
    if (farewell) this.sendLast(farewell, release)
    else release()
    this.p.capture?.end()
  }
}
