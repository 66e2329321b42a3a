// The boot flight recorder's table: append a batch in one transaction (linked to the node that owns
// each MAC, oldest dropped past the caps), link a MAC's earlier events when its node registers, and
// read one machine's timeline newest first.
import type { BootEvent, BootEventQuery, BootEventSource } from '../model'
import { BootEventSourceSchema } from '../model'
import type { Queryable } from './database'

export interface NewBootEvent {
  readonly mac: string
  readonly t: string
  readonly source: BootEventSource
  readonly event: string
  readonly detail: Readonly<Record<string, unknown>>
}

export interface BootEventCaps {
  /** Events kept per MAC; older ones go first. */
  readonly perMac: number
  /** Events kept in all; older ones go first. */
  readonly total: number
}

export const DEFAULT_BOOT_EVENT_CAPS: BootEventCaps = { perMac: 1000, total: 100_000 }

/** What a batch wrote for one MAC: its newest event's id and the node it is linked to. */
export interface AppendedMac {
  readonly mac: string
  readonly lastId: number
  readonly nodeId: number | null
}

/**
 * What a trim past a cap keeps: the cap less a tenth (whole events), so the next trim comes a tenth
 * of the cap later instead of at every batch. Small caps (under 10) are kept exactly.
 */
export function keptAfterTrim(cap: number): number {
  return cap - Math.floor(cap / 10)
}

/** Rows per INSERT, and MACs per IN list: well under SQLite's 32,766 bound parameters. */
const CHUNK = 500

function chunks<T>(items: readonly T[]): T[][] {
  const out: T[][] = []
  for (let i = 0; i < items.length; i += CHUNK) out.push(items.slice(i, i + CHUNK))
  return out
}

/**
 * Appends batches, keeping the caps. It counts what it wrote, so a batch costs a fixed number of
 * statements (not two per MAC): a MAC's stored count is read once, the first time it is seen, and
 * a trim runs only for a MAC (or the table) past its cap. Another process writing the same
 * PostgreSQL table makes its counts low, so the caps are then kept late, never early.
 */
export class BootEventWriter {
  private readonly counts = new Map<string, number>()
  private total: number | undefined

  constructor(
    private readonly db: Queryable,
    private readonly caps: BootEventCaps = DEFAULT_BOOT_EVENT_CAPS
  ) {}

  async append(events: readonly NewBootEvent[]): Promise<AppendedMac[]> {
    if (events.length === 0) return []
    try {
      // The reads first, outside the transaction: on SQLite it holds the write lock, which the
      // boot services' lease writes (on another connection) wait for, so it does only the writes.
      const owners = await this.read(events)
      return await this.db.transaction().execute((tx) => this.appendIn(tx, events, owners))
    } catch (err) {
      // The counts may hold what was rolled back: read them again next time.
      this.counts.clear()
      this.total = undefined
      throw err
    }
  }

  /** The MACs' nodes, and the stored counts of MACs not seen before (and the total, once). */
  private async read(events: readonly NewBootEvent[]): Promise<Map<string, number>> {
    const db = this.db
    const macs = [...new Set(events.map((e) => e.mac))]
    const owners = new Map<string, number>()
    for (const part of chunks(macs)) {
      for (const r of await db.selectFrom('node_macs').select(['mac', 'node_id']).where('mac', 'in', part).execute()) owners.set(r.mac, r.node_id)
    }
    if (this.counts.size > 200_000) this.counts.clear()
    const unknown = macs.filter((m) => !this.counts.has(m))
    for (const m of unknown) this.counts.set(m, 0)
    for (const part of chunks(unknown)) {
      const rows = await db.selectFrom('boot_events').select((eb) => ['mac', eb.fn.countAll().as('n')]).where('mac', 'in', part).groupBy('mac').execute()
      for (const r of rows) this.counts.set(r.mac, Number(r.n))
    }
    if (this.total === undefined) {
      const all = await db.selectFrom('boot_events').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()
      this.total = Number(all.n)
    }
    return owners
  }

  private async appendIn(tx: Queryable, events: readonly NewBootEvent[], owners: ReadonlyMap<string, number>): Promise<AppendedMac[]> {
    const { perMac, total } = this.caps
    const macs = [...new Set(events.map((e) => e.mac))]
    this.total ??= 0
    const lastIds = new Map<string, number>()
    for (const part of chunks(events)) {
      const rows = part.map((e) => ({ mac: e.mac, node_id: owners.get(e.mac) ?? null, t: e.t, source: e.source, event: e.event, detail: JSON.stringify(e.detail) }))
      for (const r of await tx.insertInto('boot_events').values(rows).returning(['id', 'mac']).execute()) {
        const id = Number(r.id)
        if (id > (lastIds.get(r.mac) ?? 0)) lastIds.set(r.mac, id)
      }
    }
    for (const e of events) this.counts.set(e.mac, (this.counts.get(e.mac) ?? 0) + 1)
    this.total += events.length
    for (const mac of macs) {
      const n = this.counts.get(mac) ?? 0
      if (n <= perMac) continue
      // The oldest events go, down to the cap less its slack: found from the oldest end, so a
      // trim reads only what it deletes, and it runs once per slack's worth of events.
      const keep = keptAfterTrim(perMac)
      const edge = await tx.selectFrom('boot_events').select('id').where('mac', '=', mac).orderBy('id', 'asc').offset(n - keep - 1).limit(1).executeTakeFirst()
      if (edge) {
        const gone = await tx.deleteFrom('boot_events').where('mac', '=', mac).where('id', '<=', edge.id).executeTakeFirst()
        this.total -= Number(gone.numDeletedRows)
      }
      this.counts.set(mac, keep)
    }
    if (this.total > total) {
      const keep = keptAfterTrim(total)
      const edge = await tx.selectFrom('boot_events').select('id').orderBy('id', 'asc').offset(this.total - keep - 1).limit(1).executeTakeFirst()
      if (edge) await tx.deleteFrom('boot_events').where('id', '<=', edge.id).execute()
      this.total = keep
      // Which MACs lost events is not known here: their counts are read again when next seen.
      this.counts.clear()
    }
    return macs.flatMap((mac) => {
      const lastId = lastIds.get(mac)
      return lastId === undefined ? [] : [{ mac, lastId, nodeId: owners.get(mac) ?? null }]
    })
  }
}

/** One batch with counts read afresh (tests, one-off writers). */
export function appendBootEvents(db: Queryable, events: readonly NewBootEvent[], caps: BootEventCaps = DEFAULT_BOOT_EVENT_CAPS): Promise<AppendedMac[]> {
  return new BootEventWriter(db, caps).append(events)
}

/** Gives a node the events its MACs had before it registered; returns how many were linked. */
export async function linkBootEvents(db: Queryable, macs: readonly string[], nodeId: number): Promise<number> {
  if (macs.length === 0) return 0
  const r = await db.updateTable('boot_events').set({ node_id: nodeId }).where('mac', 'in', [...macs]).where('node_id', 'is', null).executeTakeFirst()
  return Number(r.numUpdatedRows)
}

/** One machine's timeline (by node or by MAC, both when both are given), newest first. */
export async function listBootEvents(db: Queryable, query: BootEventQuery): Promise<BootEvent[]> {
  let q = db.selectFrom('boot_events').select(['id', 'mac', 'node_id', 't', 'source', 'event', 'detail'])
  if (query.node_id !== undefined) q = q.where('node_id', '=', query.node_id)
  if (query.mac !== undefined) q = q.where('mac', '=', query.mac)
  // The recorder's key for a client known by its address only (boot-recorder.ts addressKey).
  if (query.address !== undefined) q = q.where('mac', '=', `ip:${query.address.toLowerCase()}`)
  if (query.before_id !== undefined) q = q.where('id', '<', query.before_id)
  const rows = await q.orderBy('id', 'desc').limit(query.limit).execute()
  return rows.map(bootEventOfRow)
}

/** A stored row as the contract's event (an unknown source reads as api). */
export function bootEventOfRow(r: { id: number; mac: string; node_id: number | null; t: string; source: string; event: string; detail: string }): BootEvent {
  return {
    id: r.id,
    mac: r.mac,
    node_id: r.node_id,
    t: r.t,
    source: BootEventSourceSchema.catch('api').parse(r.source),
    event: r.event,
    detail: JSON.parse(r.detail) as BootEvent['detail']
  }
}
