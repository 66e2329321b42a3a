// Every node's boot timeline in a fixed number of queries, for the boot progress of all nodes: the
// events of the kinds asked for, and per node its MACs' first and newest events (not one query per node).
import type { BootEvent, BootEventSource } from '../model'
import { bootEventOfRow } from './boot-events'
import type { Queryable } from './database'

export interface BootEventKinds {
  /** Every event of these sources. */
  readonly sources: readonly BootEventSource[]
  /** And these (source, event) pairs. */
  readonly events: ReadonlyArray<readonly [BootEventSource, string]>
}

/** The events of these kinds linked to a node, oldest first. */
export async function listNodeBootEventsOfKinds(db: Queryable, kinds: BootEventKinds): Promise<BootEvent[]> {
  const rows = await db
    .selectFrom('boot_events')
    .select(['id', 'mac', 'node_id', 't', 'source', 'event', 'detail'])
    .where('node_id', 'is not', null)
    .where((eb) =>
      eb.or([
        ...(kinds.sources.length > 0 ? [eb('source', 'in', [...kinds.sources])] : []),
        ...kinds.events.map(([source, event]) => eb.and([eb('source', '=', source), eb('event', '=', event)]))
      ])
    )
    .orderBy('id')
    .execute()
  return rows.map(bootEventOfRow)
}

export interface NodeBootSpan {
  readonly node_id: number
  /** The node's MAC whose events began first. */
  readonly mac: string
  /** The newest event's time, any kind. */
  readonly last_t: string
}

/** Per node with events: its first MAC and the time of its newest event. */
export async function nodeBootSpans(db: Queryable): Promise<Map<number, NodeBootSpan>> {
  const rows = await db
    .selectFrom('boot_events')
    .select((eb) => ['node_id', 'mac', eb.fn.min('id').as('first'), eb.fn.max('id').as('last')])
    .where('node_id', 'is not', null)
    .groupBy(['node_id', 'mac'])
    .execute()
  const spans = new Map<number, { mac: string; first: number; last: number }>()
  for (const r of rows) {
    if (r.node_id === null) continue
    const first = Number(r.first)
    const last = Number(r.last)
    const seen = spans.get(r.node_id)
    spans.set(r.node_id, {
      mac: !seen || first < seen.first ? r.mac : seen.mac,
      first: Math.min(first, seen?.first ?? first),
      last: Math.max(last, seen?.last ?? last)
    })
  }
  const lastIds = [...spans.values()].map((s) => s.last)
  const times = new Map<number, string>()
  for (let i = 0; i < lastIds.length; i += 500) {
    const part = lastIds.slice(i, i + 500)
    for (const r of await db.selectFrom('boot_events').select(['id', 't']).where('id', 'in', part).execute()) times.set(r.id, r.t)
  }
  const out = new Map<number, NodeBootSpan>()
  for (const [nodeId, s] of spans) out.set(nodeId, { node_id: nodeId, mac: s.mac, last_t: times.get(s.last) ?? '' })
  return out
}
