// The boot flight recorder (DESIGN.md §6.2): what the boot services and the node-facing API saw
// for each machine, buffered and written in batches (every ~200 ms or 500 events, one transaction)
// so the DHCP and TFTP paths never wait on the store. TFTP and HTTP know an address, not a MAC:
// the DHCP replies seen map it back (the store's leases and allocations after a restart).
import type { Disposable } from '../../base/lifecycle'
import type { Logger } from '../../base/log'
import type { DomainContext } from '../../domain/context'
import type { BootEventSource } from '../../model'
import type { DhcpBootEvent, DhcpEventSink } from '../../services/dhcp/dhcp-boot-event'
import type { HttpBootEvent } from '../../services/http/boot-http-server'
import type { TftpBootEvent } from '../../services/tftp/tftp-boot-event'
import { AddressMisses } from './address-misses'
import { BATCH_SIZE, EVENT_BUDGET, FLUSH_MS, RecordBudget } from './record-budget'
import type { Queryable } from '../../store/database'
import { BootEventWriter, linkBootEvents, type BootEventCaps, type NewBootEvent } from '../../store/boot-events'
import { linkBootPackets, type BootPacketCaps } from '../../store/boot-packets'
import { BootPacketRecorder } from './boot-packet-recorder'

export interface BootRecorderOptions {
  readonly ctx: DomainContext
  readonly logger: Logger
  readonly flushMs?: number
  /** Buffered events that trigger a flush at once. */
  readonly batchSize?: number
  /** Buffered events past which new ones are dropped (the store is not keeping up). */
  readonly maxBuffered?: number
  readonly caps?: BootEventCaps
  /** Where the batches are written: a connection of its own (store.ts openWriterConnection); default ctx.db. */
  readonly writeDb?: Queryable | undefined
  /** The packets' caps (per MAC and in all), for the pcap export. */
  readonly packetCaps?: BootPacketCaps
}

/** Addresses remembered for the IP -> MAC map; the oldest is forgotten first. */
const MAX_ADDRESSES = 65_536
const MAC = /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/
/** The key of a client seen by its address alone (no DHCP reply of ours named it): ip:10.0.0.7. */
const ADDRESS_KEY = /^ip:[0-9a-f.:]{2,45}$/
/** A MAC in an HTTP boot path (/boot/52-54-00-12-34-56.ipxe, colons or dashes). */
const MAC_IN_PATH = /([0-9a-fA-F]{2}([:-])(?:[0-9a-fA-F]{2}\2){4}[0-9a-fA-F]{2})/

export class BootRecorder implements Disposable {
  private buffer: NewBootEvent[] = []
  private timer: NodeJS.Timeout | undefined
  private flushing: Promise<void> = Promise.resolve()
  private readonly addressToMac = new Map<string, string>()
  private droppedCount = 0
  private disposed = false
  private readonly flushMs: number
  private readonly batchSize: number
  private readonly maxBuffered: number
  private readonly writer: BootEventWriter
  private readonly budget = new RecordBudget(EVENT_BUDGET)
  /** Addresses no MAC was found for in the store, and when (a stranger's flood is not looked up per packet). */
  private readonly misses = new AddressMisses(() => performance.now())
  /** The packets the servers saw, for the pcap export: its sinks map addresses with this recorder's map. */
  readonly packets: BootPacketRecorder

  constructor(private readonly options: BootRecorderOptions) {
    this.writer = new BootEventWriter(options.writeDb ?? options.ctx.db, options.caps)
    this.packets = new BootPacketRecorder({
      ctx: options.ctx,
      logger: options.logger,
      macOf: { known: (address) => this.addressToMac.get(address), lookUp: (address) => this.macFor(address) },
      ...(options.writeDb ? { writeDb: options.writeDb } : {}),
      ...(options.flushMs !== undefined ? { flushMs: options.flushMs } : {}),
      ...(options.packetCaps ? { caps: options.packetCaps } : {})
    })
    this.flushMs = options.flushMs ?? FLUSH_MS
    this.batchSize = options.batchSize ?? BATCH_SIZE
    this.maxBuffered = options.maxBuffered ?? 20_000
  }

  /** Events dropped because the buffer was full. */
  get dropped(): number {
    return this.droppedCount
  }

  record(mac: string, source: BootEventSource, event: string, detail: Record<string, unknown>): void {
    if (this.admits(mac, source)) this.keep(mac, source, event, detail)
  }

  /** A DHCP event the server built: the sink's work without its laziness (tests, the bench). */
  readonly dhcp = (e: DhcpBootEvent): void => this.dhcpSink(e.mac, e.direction, e.message, () => e)

  /**
   * The DHCP server's sink. The budget is asked first, so a flood's refused packets cost a lookup,
   * not an event (bench:boot's recorder section); an ACK is always read, as it maps its address to
   * the MAC for TFTP and HTTP.
   */
  readonly dhcpSink: DhcpEventSink = (mac, direction, message, build) => {
    const ack = direction === 'out' && message === 'ack'
    if (!ack && !this.admits(mac, 'dhcp')) return
    const e = build()
    if (ack) {
      if (e.address) this.remember(e.address, e.mac)
      if (!this.admits(mac, 'dhcp')) return
    }
    this.keep(e.mac, 'dhcp', e.message, {
      xid: e.xid,
      ...(e.arch !== undefined ? { arch: e.arch } : {}),
      ...(e.vendorClass !== undefined ? { vendor_class: e.vendorClass } : {}),
      ...(e.userClass !== undefined ? { user_class: [...e.userClass] } : {}),
      ...(e.address !== undefined ? { address: e.address } : {}),
      ...(e.bootFile !== undefined ? { boot_file: e.bootFile } : {}),
      ...(e.nextServer !== undefined ? { next_server: e.nextServer } : {}),
      ...(e.reason !== undefined ? { reason: e.reason } : {}),
      ...(e.serverId !== undefined ? { server_id: e.serverId } : {})
    })
  }

  /**
   * Whether an event of this MAC may be kept: a valid key, room in the buffer, and (for the boot
   * services; the node API's and the installer's words are always kept) within the budget. When it
   * may after some were refused, their count goes on the timeline first.
   */
  private admits(mac: string, source: BootEventSource): boolean {
    if (this.disposed || !(MAC.test(mac) || ADDRESS_KEY.test(mac))) return false
    if (this.buffer.length >= this.maxBuffered) {
      this.droppedCount++
      return false
    }
    if (source === 'api' || source === 'install') return true
    const budget = this.budget.admit(mac)
    if (!budget.admitted) return false
    if (budget.refusedBefore > 0) {
      this.buffer.push({
        mac,
        t: this.options.ctx.clock().toISOString(),
        source,
        event: 'not_recorded',
        detail: { events: budget.refusedBefore, reason: `more than ${EVENT_BUDGET.perMacPerSecond} events a second from this machine (or ${EVENT_BUDGET.totalPerSecond} from all): the rest were counted, not recorded` }
      })
    }
    return true
  }

  private keep(mac: string, source: BootEventSource, event: string, detail: Record<string, unknown>): void {
    this.buffer.push({ mac, t: this.options.ctx.clock().toISOString(), source, event, detail })
    if (this.buffer.length >= this.batchSize) void this.flush()
    else this.timer ??= setTimeout(() => void this.flush(), this.flushMs)
  }

  /** The TFTP server's sink. */
  readonly tftp = (e: TftpBootEvent): void => {
    const { kind, clientAddress, ...detail } = e
    this.byAddress(clientAddress, 'tftp', kind, { client: clientAddress, ...detail })
  }

  /** HTTP boot's sink: the MAC from the path when it names one (iPXE scripts), else from the address. */
  readonly http = (e: HttpBootEvent): void => {
    const detail = { client: e.clientAddress, method: e.method, path: e.path, status: e.status, bytes: e.bytes, ms: e.ms, ...(e.searched !== undefined ? { searched: e.searched } : {}) }
    const event = e.method === 'GET' ? 'http_get' : `http_${e.method.toLowerCase()}`
    const inPath = MAC_IN_PATH.exec(safeDecode(e.path))?.[1]
    if (inPath) this.record(inPath.toLowerCase().replaceAll('-', ':'), 'http', event, detail)
    else this.byAddress(e.clientAddress, 'http', event, detail)
  }

  /**
   * A node registered with these MACs: its registration goes on their timelines, and the events
   * they had before are linked to it (what is still buffered is linked as it is written).
   */
  async registered(macs: readonly string[], nodeId: number, detail: Record<string, unknown>): Promise<void> {
    for (const mac of macs) this.record(mac, 'api', 'register', { node_id: nodeId, ...detail })
    await Promise.all([this.flush(), this.packets.flush()])
    try {
      await linkBootEvents(this.options.ctx.db, macs, nodeId)
      await linkBootPackets(this.options.ctx.db, macs, nodeId)
    } catch (err) {
      this.options.logger.warn({ err, nodeId }, 'boot events not linked to the registered node')
    }
  }

  /** A node-facing API call by a known node: on the timeline of the node's MACs. */
  async forNode(nodeId: number, source: BootEventSource, event: string, detail: Record<string, unknown>): Promise<void> {
    try {
      const rows = await this.options.ctx.db.selectFrom('node_macs').select('mac').where('node_id', '=', nodeId).orderBy('mac').limit(8).execute()
      for (const r of rows) this.record(r.mac, source, event, detail)
    } catch (err) {
      this.options.logger.warn({ err, nodeId }, 'boot event of a node not recorded')
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
    await Promise.all([this.flush(), this.packets.dispose()])
    this.disposed = true
  }

  /** The MAC an address was leased to: from this process's map, else from the store (then remembered). */
  async macFor(address: string): Promise<string | undefined> {
    const mac = this.addressToMac.get(address)
    if (mac) return mac
    return this.macFromStore(address).then((found) => {
      if (found) this.remember(address, found)
      return found
    })
  }

  private async write(batch: NewBootEvent[]): Promise<void> {
    const { ctx, logger } = this.options
    try {
      const appended = await this.writer.append(batch)
      for (const a of appended) ctx.feed.publish({ kind: 'boot_event', id: a.lastId, action: 'created', mac: a.mac, node_id: a.nodeId })
    } catch (err) {
      // The recorder is a witness: losing a batch must never stop a boot.
      logger.warn({ err, events: batch.length }, 'boot events not recorded')
    }
  }

  private remember(address: string, mac: string): void {
    this.addressToMac.delete(address)
    this.addressToMac.set(address, mac)
    if (this.addressToMac.size > MAX_ADDRESSES) {
      const oldest = this.addressToMac.keys().next().value
      if (oldest !== undefined) this.addressToMac.delete(oldest)
    }
  }

  private byAddress(address: string, source: BootEventSource, event: string, detail: Record<string, unknown>): void {
    const mac = this.addressToMac.get(address)
    if (mac) {
      this.record(mac, source, event, detail)
      return
    }
    // Seen before this process started: the store's lease, or the node allocated that address.
    // Else it stays on the address's own timeline (a client another DHCP server sent here, say).
    if (this.misses.recent(address)) {
      this.record(addressKey(address), source, event, detail)
      return
    }
    void this.macFromStore(address).then((found) => {
      if (found) {
        this.remember(address, found)
        this.record(found, source, event, detail)
      } else {
        this.misses.note(address)
        this.record(addressKey(address), source, event, detail)
      }
    })
  }

  private async macFromStore(address: string): Promise<string | undefined> {
    const db = this.options.ctx.db
    try {
      const lease = await db.selectFrom('dhcp_leases').select('mac').where('address', '=', address).executeTakeFirst()
      if (lease) return lease.mac
      const owner = await db
        .selectFrom('network_allocations')
        .innerJoin('node_macs', 'node_macs.node_id', 'network_allocations.node_id')
        .select('node_macs.mac')
        .where('network_allocations.address', '=', address)
        .orderBy('node_macs.mac')
        .executeTakeFirst()
      return owner?.mac
    } catch (err) {
      this.options.logger.warn({ err, address }, 'boot event address not mapped to a MAC')
      return undefined
    }
  }
}

/** The timeline key of a client known by its address only. */
export function addressKey(address: string): string {
  return `ip:${address.toLowerCase()}`
}

function safeDecode(path: string): string {
  try {
    return decodeURIComponent(path)
  } catch {
    return path
  }
}
