// What one TFTP transfer hands the packet sink, bounded whatever the file's size: the OACK and any
// ERROR, the first 8 DATA and 8 ACK packets, every retransmitted DATA (up to a cap), and the last 8
// DATA/ACK packets (a ring, handed over when the transfer ends). DATA payloads are cut to 512 bytes
// kept; the record still says their real length. Cheap per packet: the ring keeps views, and sums
// and copies are made only for what is handed over.
import type { CapturedDatagram, DatagramSink, PacketEndpoint } from '../pcap/captured-packet'
import { onesSum } from '../pcap/frames'

const HEAD_PACKETS = 8
const TAIL_PACKETS = 8
const MAX_RETRANSMITS_KEPT = 256
/** DATA bytes kept after the 4-byte header. */
export const TFTP_DATA_KEPT = 512

interface Pending {
  readonly t: number
  readonly direction: 'in' | 'out'
  readonly parts: readonly Buffer[]
}

export class TransferCapture {
  private data = 0
  private acks = 0
  private retransmits = 0
  private readonly tail: Pending[] = []
  private ended = false

  constructor(
    private readonly sink: DatagramSink,
    /** The client's address and port (its TID). */
    private readonly client: PacketEndpoint,
    /** The transfer's own address and port (our TID). */
    private readonly server: PacketEndpoint,
    private readonly now: () => number
  ) {}

  /** A packet the transfer sent: `packet` is the datagram, or [DATA header, payload]. */
  sent(packet: Buffer | readonly Buffer[], retransmit = false): void {
    if (this.ended) return
    const parts = Buffer.isBuffer(packet) ? [packet] : packet
    const isData = (parts[0]?.[1] ?? 0) === 3 && (parts[0]?.[0] ?? 1) === 0
    const p: Pending = { t: this.now(), direction: 'out', parts }
    if (!isData) return this.hand(p)
    if (retransmit) {
      if (this.retransmits++ < MAX_RETRANSMITS_KEPT) this.hand(p)
      return
    }
    if (this.data < HEAD_PACKETS) {
      this.data++
      this.hand(p)
      return
    }
    this.keepInTail(p)
  }

  /** A datagram the transfer received from the client (an ACK or an ERROR). */
  received(msg: Buffer): void {
    if (this.ended) return
    const p: Pending = { t: this.now(), direction: 'in', parts: [msg] }
    const isAck = msg.length >= 2 && msg[0] === 0 && msg[1] === 4
    if (!isAck) return this.hand(p)
    if (this.acks < HEAD_PACKETS) {
      this.acks++
      this.hand(p)
      return
    }
    this.keepInTail(p)
  }

  /** The transfer ended: the ring goes to the sink. Idempotent. */
  end(): void {
    if (this.ended) return
    this.ended = true
    for (const p of this.tail.splice(0)) this.hand(p)
  }

  private keepInTail(p: Pending): void {
    this.tail.push(p)
    if (this.tail.length > TAIL_PACKETS) this.tail.shift()
  }

  private hand(p: Pending): void {
    let payloadLen = 0
    for (const part of p.parts) payloadLen += part.length
    const keep = Math.min(payloadLen, 4 + TFTP_DATA_KEPT)
    const payload = Buffer.allocUnsafe(keep)
    let at = 0
    for (const part of p.parts) {
      if (at >= keep) break
      at += part.copy(payload, at, 0, Math.min(part.length, keep - at))
    }
    let payloadSum: number | undefined
    if (keep < payloadLen) {
      // Every part but the last has an even length (the 4-byte header), so the words line up.
      payloadSum = 0
      for (const part of p.parts) payloadSum = onesSum(part, payloadSum)
    }
    const [src, dst] = p.direction === 'out' ? [this.server, this.client] : [this.client, this.server]
    const datagram: CapturedDatagram = { t: p.t, direction: p.direction, src, dst, payload, payloadLen, ...(payloadSum !== undefined ? { payloadSum } : {}) }
    try {
      this.sink(datagram)
    } catch {
      // A witness must not stop a transfer; the sink logs its own faults.
    }
  }
}
