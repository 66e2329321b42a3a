// One read transfer: sends a file to one client from its own UDP port (its TID), a window of
// DATA blocks at a time (RFC 7440), with retransmission on timeout. Owns its socket and file.
import type dgram from 'node:dgram'
import type { FileHandle } from 'node:fs/promises'
import { decodePacket, encodeData, encodeError, TFTP_ERROR } from './tftp-codec'

export interface TftpPeer {
  readonly address: string
  readonly port: number
}

export type TransferOutcome =
  | { readonly kind: 'complete'; readonly bytes: number; readonly ms: number }
  /** The client sent ERROR: often code 8 after a PXE ROM's tsize probe, which is normal. */
  | { readonly kind: 'client-error'; readonly code: number; readonly message: string }
  | { readonly kind: 'timed-out'; readonly block: number }
  | { readonly kind: 'failed'; readonly reason: string }
  | { readonly kind: 'stopped' }

export interface ReadTransferParams {
  /** Bound and unused; the transfer closes it. */
  readonly socket: dgram.Socket
  readonly peer: TftpPeer
  /** Open for reading; the transfer closes it. */
  readonly file: FileHandle
  readonly size: number
  readonly blockSize: number
  readonly windowSize: number
  readonly timeoutMs: number
  /** Retransmissions of one window (or of the OACK) before giving up. */
  readonly retries: number
  /** The OACK to send first and have acknowledged with ACK 0; null for a plain RFC 1350 start. */
  readonly oack: Buffer | null
  readonly now: () => number
}

export class ReadTransfer {
  readonly done: Promise<TransferOutcome>
  private resolveDone!: (outcome: TransferOutcome) => void
  private readonly totalBlocks: number
  private finished = false
  private awaitingOackAck: boolean
  /** First block (1-based, absolute: not wrapped at 65535) the client has not acknowledged. */
  private base = 1
  /** Encoded DATA packets of the window that starts at `packetsBase`. */
  private packets: Buffer[] = []
  private packetsBase = 0
  private pumping = false
  private pumpAgain = false
  private attempts = 0
  private timer: NodeJS.Timeout | null = null
  private startedAt = 0

  constructor(private readonly p: ReadTransferParams) {
    this.done = new Promise((resolve) => {
      this.resolveDone = resolve
    })
    // The last block is the first one shorter than blockSize, so a size that is a multiple of
    // blockSize (0 included) ends with an empty block.
    this.totalBlocks = Math.floor(p.size / p.blockSize) + 1
    this.awaitingOackAck = p.oack !== null
    p.socket.on('message', (msg, rinfo) => {
      try {
        this.onMessage(msg, rinfo)
      } catch (err) {
        this.fail(`internal error: ${err instanceof Error ? err.message : String(err)}`)
      }
    })
    p.socket.on('error', (err) => this.finish({ kind: 'failed', reason: `socket error: ${err.message}` }))
  }

  start(): void {
    this.startedAt = this.p.now()
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

  private onMessage(msg: Buffer, rinfo: dgram.RemoteInfo): void {
    if (this.finished) return
    if (rinfo.address !== this.p.peer.address || rinfo.port !== this.p.peer.port) {
      // RFC 1350: a packet from a foreign TID gets error 5 and must not disturb this transfer.
      this.sendTo(encodeError(TFTP_ERROR.unknownTransferId, 'Unknown transfer ID'), rinfo)
      return
    }
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
      if (this.p.windowSize > 1 && this.packetsBase === this.base && !this.pumping) this.resend()
      return
    }
    if (acked >= this.totalBlocks) {
      this.finish({ kind: 'complete', bytes: this.p.size, ms: this.p.now() - this.startedAt })
      return
    }
    this.base = acked + 1
    this.progress()
  }

  /**
   * The absolute block an ACK's 16-bit number means, if it lies between the last block already
   * acknowledged and the end of the current window; block numbers wrap from 65535 to 0.
   */
  private absoluteOf(block: number): number | null {
    const last = Math.min(this.base + this.p.windowSize - 1, this.totalBlocks)
    const distance = (block - ((this.base - 1) & 0xffff) + 0x10000) & 0xffff
    const absolute = this.base - 1 + distance
    return absolute <= last ? absolute : null
  }

  private progress(): void {
    this.attempts = 0
    this.disarm()
    this.pump()
  }

  /** Reads and sends the window at `base`; serialised so an ACK during a read cannot interleave. */
  private pump(): void {
    if (this.pumping) {
      this.pumpAgain = true
      return
    }
    this.pumping = true
    this.fillWindow()
      .then((ready) => {
        this.pumping = false
        if (this.finished) return
        if (this.pumpAgain || !ready) {
          this.pumpAgain = false
          this.pump()
          return
        }
        this.resend()
      })
      .catch((err: unknown) => {
        this.pumping = false
        this.fail(`read failed: ${err instanceof Error ? err.message : String(err)}`)
      })
  }

  /** Encodes the window at `base`; false when `base` moved during the read. */
  private async fillWindow(): Promise<boolean> {
    const first = this.base
    const last = Math.min(first + this.p.windowSize - 1, this.totalBlocks)
    const bs = this.p.blockSize
    const position = (first - 1) * bs
    const length = Math.min(this.p.size - position, (last - first + 1) * bs)
    const buf = Buffer.allocUnsafe(length)
    let filled = 0
    while (filled < length) {
      const { bytesRead } = await this.p.file.read(buf, filled, length - filled, position + filled)
      if (bytesRead === 0) break
      filled += bytesRead
    }
    if (this.finished) return true
    if (filled < length) {
      // The size was announced (tsize) and block boundaries depend on it: a short read would end
      // the client's file early and silently.
      this.fail('file shrank during transfer')
      return true
    }
    if (this.base !== first) return false
    const packets: Buffer[] = []
    for (let block = first; block <= last; block++) {
      const from = (block - first) * bs
      packets.push(encodeData(block & 0xffff, buf.subarray(from, Math.min(from + bs, length))))
    }
    this.packets = packets
    this.packetsBase = first
    return true
  }

  private resend(): void {
    for (const packet of this.packets) this.send(packet)
    this.arm()
  }

  private arm(): void {
    this.disarm()
    this.timer = setTimeout(() => this.onTimeout(), this.p.timeoutMs)
  }

  private disarm(): void {
    if (this.timer) clearTimeout(this.timer)
    this.timer = null
  }

  private onTimeout(): void {
    this.timer = null
    if (this.finished) return
    if (++this.attempts > this.p.retries) {
      this.finish(
        { kind: 'timed-out', block: this.awaitingOackAck ? 0 : this.base },
        encodeError(TFTP_ERROR.notDefined, 'timed out')
      )
      return
    }
    if (this.awaitingOackAck && this.p.oack) {
      this.send(this.p.oack)
      this.arm()
    } else if (this.packetsBase === this.base && !this.pumping) {
      this.resend()
    } else {
      this.arm()
    }
  }

  private fail(reason: string): void {
    this.finish({ kind: 'failed', reason }, encodeError(TFTP_ERROR.notDefined, 'server error'))
  }

  private send(packet: Buffer): void {
    this.sendTo(packet, this.p.peer)
  }

  private sendTo(packet: Buffer, to: TftpPeer, then?: () => void): void {
    try {
      this.p.socket.send(packet, to.port, to.address, (err) => {
        if (err && !this.finished) this.finish({ kind: 'failed', reason: `send failed: ${err.message}` })
        then?.()
      })
    } catch (err) {
      // send() throws synchronously once the socket is closed.
      if (!this.finished) this.finish({ kind: 'failed', reason: `send failed: ${err instanceof Error ? err.message : String(err)}` })
      then?.()
    }
  }

  /** Settles once: stops the timer, optionally sends a last ERROR, then closes socket and file. */
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
      this.p.file
        .close()
        .catch(() => undefined)
        .finally(() => this.resolveDone(outcome))
    }
    // dgram sends after an async address lookup, so closing in the same tick would drop the ERROR.
    if (farewell) this.sendTo(farewell, this.p.peer, release)
    else release()
  }
}
