// The boot flight recorder's packets (DESIGN.md §6.2): what the DHCP, TFTP and HTTP boot servers
// received and sent for each machine, as Ethernet frames for a pcap export. The servers' sinks only
// queue what they are handed; frames are built and written in batches (every ~200 ms or 500
// items, one transaction), so no packet path waits on the store or on checksums.
import type { Disposable } from '../../base/lifecycle'
import type { Logger } from '../../base/log'
import type { DomainContext } from '../../domain/context'
import type { CapturedDatagram, CapturedHttpExchange, DatagramSink, HttpExchangeSink, MacDatagramSink } from '../../services/pcap/captured-packet'
import { BROADCAST_MAC, udpFrame, ZERO_MAC } from '../../services/pcap/frames'
import { httpConversation } from '../../services/pcap/http-conversation'
import { encodeRecords, type PcapRecord } from '../../services/pcap/pcap-file'
import { AddressMisses } from './address-misses'
import { BATCH_SIZE, FLUSH_MS, PACKET_BUDGET, RecordBudget } from './record-budget'
import type { Queryable } from '../../store/database'
import { BootPacketWriter, type BootPacketCaps, type NewBootPackets } from '../../store/boot-packets'

export interface BootPacketRecorderOptions {
  readonly ctx: DomainContext
  readonly logger: Logger
  /** The MAC an address was leased to: seen by this process (at once), or from the store (after a restart). */
  readonly macOf: { known(address: string): string | undefined; lookUp(address: string): Promise<string | undefined> }
  readonly flushMs?: number
  /** Buffered items that trigger a flush at once. */
  readonly batchSize?: number
  /** Buffered items past which new ones are dropped (the store is not keeping up). */
  readonly maxBuffered?: number
  readonly caps?: BootPacketCaps
  /** Where the batches are written (see BootRecorderOptions.writeDb); default ctx.db. */
  readonly writeDb?: Queryable | undefined
}

/** The sinks the boot servers on one interface are given. */
export interface BootPacketSinks {
  /** Asks the budget before the datagram is built (the DHCP server's floods). */
  readonly dhcp: MacDatagramSink
  readonly tftp: DatagramSink
  readonly http: HttpExchangeSink
}

type Pending =
  | { readonly kind: 'udp'; readonly mac: string; readonly serverMac: string; readonly d: CapturedDatagram }
  | { readonly kind: 'http'; readonly mac: string; readonly serverMac: string; readonly x: CapturedHttpExchange }

const MAC = /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/

export class BootPacketRecorder implements Disposable {
  private buffer: Pending[] = []
  private timer: NodeJS.Timeout | undefined
  private flushing: Promise<void> = Promise.resolve()
  private droppedCount = 0
  private disposed = false
  private ipId = 0
  /** Store look-ups in flight by address: a transfer's packets share one. */
  private readonly lookups = new Map<string, Promise<string | undefined>>()
  /** Addresses with no MAC found, and when that was. */
  private readonly misses = new AddressMisses(() => this.now())
  private readonly flushMs: number
  private readonly batchSize: number
  private readonly maxBuffered: number
  private readonly writer: BootPacketWriter
  private readonly budget = new RecordBudget(PACKET_BUDGET)

  constructor(private readonly options: BootPacketRecorderOptions) {
    this.writer = new BootPacketWriter(options.writeDb ?? options.ctx.db, options.caps)
    this.flushMs = options.flushMs ?? FLUSH_MS
    this.batchSize = options.batchSize ?? BATCH_SIZE
    this.maxBuffered = options.maxBuffered ?? 20_000
  }

  /** Items dropped because the buffer was full. */
  get dropped(): number {
    return this.droppedCount
  }

  /** The sinks for servers on an interface whose own Ethernet address is `serverMac`. */
  sinks(serverMac: string): BootPacketSinks {
    const server = MAC.test(serverMac) ? serverMac : ZERO_MAC
    return {
      dhcp: (mac, datagram) => {
        if (this.admits(mac)) this.keep({ kind: 'udp', mac, serverMac: server, d: datagram() })
      },
      tftp: (d) => this.byAddress(d.direction === 'in' ? d.src.address : d.dst.address, (mac) => ({ kind: 'udp', mac, serverMac: server, d })),
      http: (x) => this.byAddress(x.client.address, (mac) => ({ kind: 'http', mac, serverMac: server, x }))
    }
  }

  /** Writes what is buffered; resolves when it (and any write before it) is in the store. */
  flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer)
    this.timer = undefined
    const batch = this.buffer
    this.buffer = []
    this.flushing = this.flushing.then(() => (batch.length > 0 ? this.write(batch) : undefined))
    return this.flushing
  }

  async dispose(): Promise<void> {
    if (this.disposed) return
    await this.flush()
    this.disposed = true
  }

  private byAddress(address: string, pending: (mac: string) => Pending): void {
    const known = this.options.macOf.known(address)
    if (known) return this.push(pending(known))
    if (this.misses.recent(address)) return
    let found = this.lookups.get(address)
    if (!found) {
      found = this.options.macOf.lookUp(address).then(
        (mac) => {
          this.lookups.delete(address)
          if (!mac) this.misses.note(address)
          return mac
        },
        () => {
          this.lookups.delete(address)
          this.misses.note(address)
          return undefined
        }
      )
      this.lookups.set(address, found)
    }
    void found.then((mac) => {
      if (mac) this.push(pending(mac))
    })
  }

  private now(): number {
    return this.options.ctx.clock().getTime()
  }

  private push(p: Pending): void {
    if (this.admits(p.mac)) this.keep(p)
  }

  /** Whether a packet of this MAC may be kept: a valid MAC, within the budget (record-budget.ts: a flood's are counted, not kept), room in the buffer. */
  private admits(mac: string): boolean {
    if (this.disposed || !MAC.test(mac)) return false
    if (!this.budget.admit(mac).admitted) return false
    if (this.buffer.length >= this.maxBuffered) {
      this.droppedCount++
      return false
    }
    return true
  }

  private keep(p: Pending): void {
    this.buffer.push(p)
    if (this.buffer.length >= this.batchSize) void this.flush()
    else this.timer ??= setTimeout(() => void this.flush(), this.flushMs)
  }

  private framesOf(p: Pending): PcapRecord[] {
    if (p.kind === 'http') {
      return httpConversation(p.x, p.mac, p.serverMac).map((f) => ({ tMicros: f.t, frame: f.frame, origLen: f.origLen }))
    }
    const d = p.d
    const client = d.broadcast ? BROADCAST_MAC : p.mac
    const srcMac = d.direction === 'in' ? p.mac : p.serverMac
    const dstMac = d.direction === 'in' ? (d.broadcast ? BROADCAST_MAC : p.serverMac) : client
    const built = udpFrame({
      src: { mac: srcMac, ...d.src },
      dst: { mac: dstMac, ...d.dst },
      payload: d.payload,
      payloadLen: d.payloadLen,
      ...(d.payloadSum !== undefined ? { payloadSum: d.payloadSum } : {}),
      id: this.ipId++ & 0xffff
    })
    return [{ tMicros: d.t, frame: built.frame, origLen: built.origLen }]
  }

  /** One row per MAC: its frames as pcap records in capture order (a TFTP ring and HTTP come late). */
  private rowsOf(batch: readonly Pending[]): NewBootPackets[] {
    const byMac = new Map<string, PcapRecord[]>()
    for (const p of batch) {
      let records = byMac.get(p.mac)
      if (!records) byMac.set(p.mac, (records = []))
      for (const r of this.framesOf(p)) records.push(r)
    }
    return [...byMac].map(([mac, records]) => {
      records.sort((a, b) => a.tMicros - b.tMicros)
      return { mac, t: records[0]?.tMicros ?? 0, packets: records.length, records: encodeRecords(records) }
    })
  }

  private async write(batch: Pending[]): Promise<void> {
    try {
      await this.writer.append(this.rowsOf(batch))
    } catch (err) {
      // The recorder is a witness: losing a batch must never stop a boot.
      this.options.logger.warn({ err, items: batch.length }, 'boot packets not recorded')
    }
  }
}
