// Test support: a small TFTP client over a real UDP socket, for raw requests and windowed reads
// that check every block. Not used by the application.
import dgram from 'node:dgram'
import { decodePacket, encodeAck, encodeRequest, type TftpOption, type TftpPacket } from '../services/tftp/tftp-codec'

export interface Received {
  readonly packet: TftpPacket
  readonly raw: Buffer
  readonly from: dgram.RemoteInfo
}

/** A UDP socket on 127.0.0.1 that queues what arrives and hands it out with a bounded wait. */
export class UdpTestClient {
  private readonly queue: Received[] = []
  private waiter: ((r: Received | null) => void) | null = null
  /** Datagrams that did not decode as TFTP; kept so a test can say nothing arrived at all. */
  readonly undecodable: Buffer[] = []

  private constructor(private readonly socket: dgram.Socket) {
    socket.on('message', (raw, from) => {
      const decoded = decodePacket(raw)
      if (!decoded.ok) {
        this.undecodable.push(raw)
        return
      }
      const received = { packet: decoded.packet, raw, from }
      const waiter = this.waiter
      if (waiter) {
        this.waiter = null
        waiter(received)
      } else {
        this.queue.push(received)
      }
    })
  }

  static async open(): Promise<UdpTestClient> {
    const socket = dgram.createSocket('udp4')
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject)
      socket.bind(0, '127.0.0.1', () => resolve())
    })
    return new UdpTestClient(socket)
  }

  get port(): number {
    return this.socket.address().port
  }

  send(packet: Buffer, port: number): Promise<void> {
    return new Promise((resolve, reject) =>
      this.socket.send(packet, port, '127.0.0.1', (err) => (err ? reject(err) : resolve()))
    )
  }

  /** The next packet, or null if none arrives within `timeoutMs`. */
  next(timeoutMs: number): Promise<Received | null> {
    const queued = this.queue.shift()
    if (queued) return Promise.resolve(queued)
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiter = null
        resolve(null)
      }, timeoutMs)
      this.waiter = (r) => {
        clearTimeout(timer)
        resolve(r)
      }
    })
  }

  /** Everything that arrives until `quietMs` pass with nothing new (bounded by `maxMs`). */
  async drain(quietMs: number, maxMs = 5000): Promise<Received[]> {
    const all: Received[] = []
    const deadline = Date.now() + maxMs
    while (Date.now() < deadline) {
      const r = await this.next(quietMs)
      if (!r) break
      all.push(r)
    }
    return all
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.socket.close(() => resolve()))
  }
}

export class TftpReadError extends Error {
  constructor(
    readonly code: number,
    message: string
  ) {
    super(`TFTP error ${code}: ${message}`)
  }
}

export interface TftpReadResult {
  readonly data: Buffer
  readonly oack: readonly TftpOption[] | null
  readonly dataPackets: number
  /** Length of the last DATA packet's payload (0 when the file is a multiple of the block size). */
  readonly lastBlockLength: number
}

/**
 * Reads a file as RFC 7440 describes the receiver: ACK after each full window or the last
 * block, and on a gap ACK the last block received in order. Every wait is bounded.
 */
export async function tftpRead(
  serverPort: number,
  filename: string,
  options: readonly TftpOption[] = [],
  limits: { readonly packetTimeoutMs?: number; readonly totalMs?: number } = {}
): Promise<TftpReadResult> {
  const packetTimeoutMs = limits.packetTimeoutMs ?? 3000
  const deadline = Date.now() + (limits.totalMs ?? 30_000)
  const client = await UdpTestClient.open()
  try {
    await client.send(encodeRequest('rrq', filename, 'octet', options), serverPort)
    const chunks: Buffer[] = []
    let oack: TftpOption[] | null = null
    let blockSize = 512
    let windowSize = 1
    let peerPort = 0
    let expected = 1
    let sinceAck = 0
    let dataPackets = 0
    for (;;) {
      if (Date.now() > deadline) throw new Error(`read of ${filename} took longer than allowed`)
      const r = await client.next(packetTimeoutMs)
      if (!r) throw new Error(`no packet within ${packetTimeoutMs} ms while reading ${filename} (expecting block ${expected})`)
      if (peerPort === 0) peerPort = r.from.port
      else if (r.from.port !== peerPort) continue
      const p = r.packet
      if (p.op === 'error') throw new TftpReadError(p.code, p.message)
      if (p.op === 'oack' && oack === null && expected === 1) {
        oack = [...p.options]
        for (const o of p.options) {
          if (o.name === 'blksize') blockSize = Number(o.value)
          if (o.name === 'windowsize') windowSize = Number(o.value)
        }
        await client.send(encodeAck(0), peerPort)
        continue
      }
      if (p.op !== 'data') throw new Error(`unexpected ${p.op} while reading ${filename}`)
      dataPackets++
      if (p.block !== (expected & 0xffff)) {
        // Out of order or duplicate: tell the sender where we are.
        await client.send(encodeAck((expected - 1) & 0xffff), peerPort)
        sinceAck = 0
        continue
      }
      chunks.push(Buffer.from(p.data))
      expected++
      sinceAck++
      if (p.data.length < blockSize) {
        await client.send(encodeAck(p.block), peerPort)
        return { data: Buffer.concat(chunks), oack, dataPackets, lastBlockLength: p.data.length }
      }
      if (sinceAck >= windowSize) {
        await client.send(encodeAck(p.block), peerPort)
        sinceAck = 0
      }
    }
  } finally {
    await client.close()
  }
}
