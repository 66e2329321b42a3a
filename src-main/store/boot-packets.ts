// The boot flight recorder's packets: one row per MAC per batch, holding that batch's frames (as
// pcap records, opaque here), appended in one transaction (linked to the node that owns the MAC,
// oldest rows dropped past the caps, which count packets); a MAC's earlier rows are linked when
// its node registers; one machine's rows read back for a pcap export. Why rows of many packets: a
// row per packet cost DHCP a fifth of its throughput under a perfdhcp flood (bench:boot with the
// recorder on); a row per MAC per batch costs a few statements per batch whatever the packet rate.
import type { Queryable } from './database'

export interface NewBootPackets {
  readonly mac: string
  /** The first packet's time, microseconds since the epoch. */
  readonly t: number
  /** How many packets `records` holds. */
  readonly packets: number
  /** The packets as pcap records (header and frame each), in capture order. */
  readonly records: Buffer
}

export interface StoredBootPackets extends NewBootPackets {
  readonly id: number
  readonly nodeId: number | null
}

export interface BootPacketCaps {
  /** Packets kept per MAC; older ones go first. */
  readonly perMac: number
  /** Packets kept in all; older ones go first. */
  readonly total: number
}

export const DEFAULT_BOOT_PACKET_CAPS: BootPacketCaps = { perMac: 4000, total: 200_000 }

/** Rows per INSERT and MACs per IN list: well under SQLite's 32,766 bound parameters. */
const CHUNK = 500
/** Past a cap, rows go until the packets are at most this share of it: one trim per tenth of a cap written. */
const TRIM_TO = 0.9
/** Rows read at once while finding how far a trim goes. */
const TRIM_PAGE = 2000

function chunks<T>(items: readonly T[]): T[][] {
  const out: T[][] = []
  for (let i = 0; i < items.length; i += CHUNK) out.push(items.slice(i, i + CHUNK))
  return out
}

/**
 * Appends batches, keeping the caps, with the counting BootEventWriter uses: a MAC's stored count
 * is read once, the first time it is seen, and a trim runs only for a MAC (or the table) past its
 * cap. A trim goes down to 90 % of the cap, walking from the oldest row.
 */
export class BootPacketWriter {
  private readonly counts = new Map<string, number>()
  private total: number | undefined

  constructor(
    private readonly db: Queryable,
    private readonly caps: BootPacketCaps = DEFAULT_BOOT_PACKET_CAPS
  ) {}

  async append(rows: readonly NewBootPackets[]): Promise<void> {
    const batch = rows.filter((r) => r.packets > 0)
    if (batch.length === 0) return
    try {
      await this.db.transaction().execute((tx) => this.appendIn(tx, batch))
    } catch (err) {
      this.counts.clear()
      this.total = undefined
      throw err
    }
  }

  private async appendIn(tx: Queryable, rows: readonly NewBootPackets[]): Promise<void> {
    const { perMac, total } = this.caps
    const macs = [...new Set(rows.map((r) => r.mac))]
    const owners = new Map<string, number>()
    for (const part of chunks(macs)) {
      for (const r of await tx.selectFrom('node_macs').select(['mac', 'node_id']).where('mac', 'in', part).execute()) owners.set(r.mac, r.node_id)
    }
    if (this.counts.size > 200_000) this.counts.clear()
    const unknown = macs.filter((m) => !this.counts.has(m))
    for (const m of unknown) this.counts.set(m, 0)
    for (const part of chunks(unknown)) {
      const found = await tx.selectFrom('boot_packets').select((eb) => ['mac', eb.fn.sum<number | string>('packets').as('n')]).where('mac', 'in', part).groupBy('mac').execute()
      for (const r of found) this.counts.set(r.mac, Number(r.n))
    }
    if (this.total === undefined) {
      const all = await tx.selectFrom('boot_packets').select((eb) => eb.fn.sum<number | string | null>('packets').as('n')).executeTakeFirstOrThrow()
      this.total = Number(all.n ?? 0)
    }
    for (const part of chunks(rows)) {
      const values = part.map((r) => ({ mac: r.mac, node_id: owners.get(r.mac) ?? null, t: Math.floor(r.t), packets: r.packets, records: r.records.toString('base64') }))
      await tx.insertInto('boot_packets').values(values).execute()
    }
    for (const r of rows) {
      this.counts.set(r.mac, (this.counts.get(r.mac) ?? 0) + r.packets)
      this.total += r.packets
    }
    for (const mac of macs) {
      const n = this.counts.get(mac) ?? 0
      if (n <= perMac) continue
      const gone = await this.trim(tx, n - Math.floor(perMac * TRIM_TO), mac)
      this.total -= gone
      this.counts.set(mac, n - gone)
    }
    if (this.total > total) {
      this.total -= await this.trim(tx, this.total - Math.floor(total * TRIM_TO))
      // Which MACs lost packets is not known here: their counts are read again when next seen.
      this.counts.clear()
    }
  }

  /** Deletes the oldest rows (of `mac`, or of all) holding at least `excess` packets; returns the packets deleted. */
  private async trim(tx: Queryable, excess: number, mac?: string): Promise<number> {
    let gone = 0
    let edge: number | undefined
    while (gone < excess) {
      let q = tx.selectFrom('boot_packets').select(['id', 'packets'])
      if (mac !== undefined) q = q.where('mac', '=', mac)
      if (edge !== undefined) q = q.where('id', '>', edge)
      const page = await q.orderBy('id', 'asc').limit(TRIM_PAGE).execute()
      if (page.length === 0) break
      for (const r of page) {
        if (gone >= excess) break
        gone += r.packets
        edge = r.id
      }
    }
    if (edge === undefined) return 0
    let del = tx.deleteFrom('boot_packets').where('id', '<=', edge)
    if (mac !== undefined) del = del.where('mac', '=', mac)
    await del.execute()
    return gone
  }
}

/** Gives a node the packets its MACs had before it registered; returns how many rows were linked. */
export async function linkBootPackets(db: Queryable, macs: readonly string[], nodeId: number): Promise<number> {
  if (macs.length === 0) return 0
  const r = await db.updateTable('boot_packets').set({ node_id: nodeId }).where('mac', 'in', [...macs]).where('node_id', 'is', null).executeTakeFirst()
  return Number(r.numUpdatedRows)
}

export interface BootPacketQuery {
  /** The node's packets: those linked to it and those of its MACs. */
  readonly nodeId?: number | undefined
  readonly mac?: string | undefined
  /** The newest rows at most (default 20,000). */
  readonly limit?: number
}

/** One machine's rows, oldest first. */
export async function listBootPackets(db: Queryable, query: BootPacketQuery): Promise<StoredBootPackets[]> {
  let q = db.selectFrom('boot_packets').select(['id', 'mac', 'node_id', 't', 'packets', 'records'])
  if (query.nodeId !== undefined) {
    const nodeId = query.nodeId
    const macs = (await db.selectFrom('node_macs').select('mac').where('node_id', '=', nodeId).execute()).map((r) => r.mac)
    q = q.where((eb) => (macs.length > 0 ? eb.or([eb('node_id', '=', nodeId), eb('mac', 'in', macs)]) : eb('node_id', '=', nodeId)))
  }
  if (query.mac !== undefined) q = q.where('mac', '=', query.mac)
  const rows = await q
    .orderBy('id', 'desc')
    .limit(query.limit ?? 20_000)
    .execute()
  return rows.reverse().map((r) => ({ id: r.id, mac: r.mac, nodeId: r.node_id, t: Number(r.t), packets: r.packets, records: Buffer.from(r.records, 'base64') }))
}
