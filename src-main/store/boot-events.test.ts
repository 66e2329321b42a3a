import { afterEach, describe, expect, it } from 'vitest'
import { openTestStore, STORE_KINDS, type TestStore } from '../testing/test-stores'
import { appendBootEvents, BootEventWriter, linkBootEvents, listBootEvents, type NewBootEvent } from './boot-events'

const A = '52:54:00:00:00:0a'
const B = '52:54:00:00:00:0b'
const ev = (mac: string, n: number): NewBootEvent => ({ mac, t: new Date(Date.UTC(2026, 0, 1, 0, 0, n)).toISOString(), source: 'dhcp', event: 'discover', detail: { n } })
const ns = (events: ReadonlyArray<{ detail: Record<string, unknown> }>): unknown[] => events.map((e) => e.detail.n)

describe.each(STORE_KINDS)('boot events on %s', (kind) => {
  let store: TestStore | undefined
  afterEach(async () => {
    await store?.dispose()
    store = undefined
  })

  async function nodeWithMac(mac: string): Promise<number> {
    const now = new Date().toISOString()
    const d = await store!.db
      .insertInto('deployments')
      .values({ name: `d${mac.slice(-2)}`, description: '', parent_id: null, system: 0, state: 'committed', created_at: now, updated_at: now })
      .returning('id')
      .executeTakeFirstOrThrow()
    const node = await store!.db
      .insertInto('nodes')
      .values({ name: `n${mac.slice(-2)}.lab.test`, description: '', admin: 0, alive: 1, available: 1, bootenv: 'discovery', deployment_id: d.id, hint: '{}', discovery: '{}', created_at: now, updated_at: now })
      .returning('id')
      .executeTakeFirstOrThrow()
    await store!.db.insertInto('node_macs').values({ mac, node_id: node.id }).execute()
    return node.id
  }

  it('lists one MAC’s timeline newest first, in pages before an id', async () => {
    store = await openTestStore(kind)
    await appendBootEvents(store.db, [ev(A, 1), ev(B, 100), ev(A, 2), ev(A, 3)])
    const page = await listBootEvents(store.db, { mac: A, limit: 2 })
    expect(ns(page)).toEqual([3, 2])
    expect(page[0]).toMatchObject({ mac: A, node_id: null, source: 'dhcp', event: 'discover', t: '2026-01-01T00:00:03.000Z' })
    expect(ns(await listBootEvents(store.db, { mac: A, limit: 2, before_id: page[1]!.id }))).toEqual([1])
  })

  it('drops a MAC’s oldest events past its cap, leaving other MACs alone', async () => {
    store = await openTestStore(kind)
    await appendBootEvents(store.db, [ev(B, 100), ...[1, 2, 3].map((n) => ev(A, n))], { perMac: 4, total: 1000 })
    const appended = await appendBootEvents(store.db, [4, 5, 6].map((n) => ev(A, n)), { perMac: 4, total: 1000 })
    expect(ns(await listBootEvents(store.db, { mac: A, limit: 100 }))).toEqual([6, 5, 4, 3])
    expect(ns(await listBootEvents(store.db, { mac: B, limit: 100 }))).toEqual([100])
    const newest = (await listBootEvents(store.db, { mac: A, limit: 1 }))[0]
    expect(appended).toEqual([{ mac: A, lastId: newest?.id, nodeId: null }])
  })

  it('drops the oldest events overall past the total cap, whatever their MAC', async () => {
    store = await openTestStore(kind)
    await appendBootEvents(store.db, [ev(A, 1), ev(B, 2), ev(A, 3)], { perMac: 100, total: 3 })
    await appendBootEvents(store.db, [ev(B, 4), ev(B, 5)], { perMac: 100, total: 3 })
    expect(ns(await listBootEvents(store.db, { mac: A, limit: 100 }))).toEqual([3])
    expect(ns(await listBootEvents(store.db, { mac: B, limit: 100 }))).toEqual([5, 4])
  })

  it('keeps both caps across many batches with the counts one writer keeps', async () => {
    store = await openTestStore(kind)
    await appendBootEvents(store.db, [ev(B, 0), ev(A, 0)])
    const writer = new BootEventWriter(store.db, { perMac: 3, total: 5 })
    for (let n = 1; n <= 6; n++) await writer.append([ev(A, n), ...(n % 2 === 0 ? [ev(B, n)] : [])])
    expect(ns(await listBootEvents(store.db, { mac: A, limit: 100 }))).toEqual([6, 5, 4])
    expect(ns(await listBootEvents(store.db, { mac: B, limit: 100 }))).toEqual([6, 4])
  })

  it('trims a cap of ten or more to a tenth below it, the oldest first, so the next trim comes later', async () => {
    store = await openTestStore(kind)
    const writer = new BootEventWriter(store.db, { perMac: 20, total: 30 })
    await writer.append(Array.from({ length: 21 }, (_, i) => ev(A, i + 1)))
    expect(ns(await listBootEvents(store.db, { mac: A, limit: 100 }))).toEqual(Array.from({ length: 18 }, (_, i) => 21 - i))
    await writer.append([ev(A, 22), ev(A, 23)])
    expect(await listBootEvents(store.db, { mac: A, limit: 100 })).toHaveLength(20)
    // The total: 20 of A and 11 of B is past 30, so the oldest go down to 27.
    await writer.append(Array.from({ length: 11 }, (_, i) => ev(B, 100 + i)))
    const a = ns(await listBootEvents(store.db, { mac: A, limit: 100 }))
    expect(a.length + (await listBootEvents(store.db, { mac: B, limit: 100 })).length).toBe(27)
    expect(a[a.length - 1]).toBe(8)
  })

  it('links a MAC’s earlier events to the node that registers it, and later ones as they are written', async () => {
    store = await openTestStore(kind)
    await appendBootEvents(store.db, [ev(A, 1), ev(A, 2), ev(B, 3)])
    const nodeId = await nodeWithMac(A)
    expect(await linkBootEvents(store.db, [A], nodeId)).toBe(2)
    const appended = await appendBootEvents(store.db, [ev(A, 4)])
    expect(appended[0]?.nodeId).toBe(nodeId)
    const timeline = await listBootEvents(store.db, { node_id: nodeId, limit: 100 })
    expect(ns(timeline)).toEqual([4, 2, 1])
    expect(timeline.every((e) => e.node_id === nodeId)).toBe(true)
    expect((await listBootEvents(store.db, { mac: B, limit: 100 }))[0]?.node_id).toBeNull()
  })
})
