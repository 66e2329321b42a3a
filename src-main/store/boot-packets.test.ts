import { afterEach, describe, expect, it } from 'vitest'
import { openTestStore, STORE_KINDS, type TestStore } from '../testing/test-stores'
import { BootPacketWriter, linkBootPackets, listBootPackets, type NewBootPackets } from './boot-packets'

const A = '52:54:00:00:00:0a'
const B = '52:54:00:00:00:0b'
const C = '52:54:00:00:00:0c'
/** Microseconds past 2026 (beyond 2^32, as real times are). */
const T0 = 1_767_225_600_000_000
/** A row of `packets` packets; its records are opaque to the store (n marks it). */
const row = (mac: string, n: number, packets = 1): NewBootPackets => ({ mac, t: T0 + n, packets, records: Buffer.from([n & 0xff, 1, 2, 3]) })
const ns = (rows: ReadonlyArray<{ t: number }>): number[] => rows.map((r) => r.t - T0)
const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i)

describe.each(STORE_KINDS)('boot packets on %s', (kind) => {
  let store: TestStore | undefined
  afterEach(async () => {
    await store?.dispose()
    store = undefined
  })

  async function nodeWithMacs(name: string, macs: string[]): Promise<number> {
    const now = new Date().toISOString()
    const d = await store!.db
      .insertInto('deployments')
      .values({ name: `d-${name}`, description: '', parent_id: null, system: 0, state: 'committed', created_at: now, updated_at: now })
      .returning('id')
      .executeTakeFirstOrThrow()
    const node = await store!.db
      .insertInto('nodes')
      .values({ name: `${name}.lab.test`, description: '', admin: 0, alive: 1, available: 1, bootenv: 'discovery', deployment_id: d.id, hint: '{}', discovery: '{}', created_at: now, updated_at: now })
      .returning('id')
      .executeTakeFirstOrThrow()
    for (const mac of macs) await store!.db.insertInto('node_macs').values({ mac, node_id: node.id }).execute()
    return node.id
  }

  it('keeps a row’s records, microsecond time and packet count, one machine’s rows oldest first', async () => {
    store = await openTestStore(kind)
    const writer = new BootPacketWriter(store.db)
    await writer.append([row(A, 3, 5), row(B, 2), row(A, 1, 0)])
    await writer.append([row(A, 4, 2)])
    const listed = await listBootPackets(store.db, { mac: A })
    expect(ns(listed)).toEqual([3, 4])
    expect(listed[0]).toMatchObject({ mac: A, nodeId: null, t: T0 + 3, packets: 5 })
    expect(listed[0]?.records.equals(Buffer.from([3, 1, 2, 3]))).toBe(true)
  })

  it('trims a MAC past its packet cap to 90 % of it, and the table past its cap to 90 %, oldest rows first', async () => {
    store = await openTestStore(kind)
    const writer = new BootPacketWriter(store.db, { perMac: 10, total: 20 })
    await writer.append([row(B, 100), ...range(1, 10).map((n) => row(A, n))])
    expect(ns(await listBootPackets(store.db, { mac: A }))).toEqual(range(1, 10))
    // A holds 14 packets: down to 9, the oldest rows first (a row of 3 counts 3).
    await writer.append([row(A, 11), row(A, 12, 3)])
    expect(ns(await listBootPackets(store.db, { mac: A }))).toEqual(range(6, 12))
    expect(ns(await listBootPackets(store.db, { mac: B }))).toEqual([100])
    // 1 + 9 + 8 + 8 = 26 packets past a total of 20: the oldest rows holding at least 8 go, whatever their MAC.
    await writer.append([row(C, 200, 8), row(B, 101, 8)])
    expect(ns(await listBootPackets(store.db, { mac: A }))).toEqual([])
    expect(ns(await listBootPackets(store.db, { mac: B }))).toEqual([101])
    expect(ns(await listBootPackets(store.db, { mac: C }))).toEqual([200])
    const sum = await store.db.selectFrom('boot_packets').select((eb) => eb.fn.sum<number | string>('packets').as('n')).executeTakeFirstOrThrow()
    expect(Number(sum.n)).toBe(16)
    // A fresh writer reads the counts again and keeps the caps.
    await new BootPacketWriter(store.db, { perMac: 10, total: 100 }).append(range(13, 21).map((n) => row(A, n)))
    expect(ns(await listBootPackets(store.db, { mac: A }))).toEqual(range(13, 21))
  })

  it('links rows to the node owning the MAC, and lists a node’s rows across its MACs', async () => {
    store = await openTestStore(kind)
    const writer = new BootPacketWriter(store.db)
    await writer.append([row(A, 1), row(B, 2)])
    const nodeId = await nodeWithMacs('n1', [A, B])
    expect(ns(await listBootPackets(store.db, { nodeId }))).toEqual([1, 2])
    expect(await linkBootPackets(store.db, [A], nodeId)).toBe(1)
    await writer.append([row(A, 3)])
    const listed = await listBootPackets(store.db, { nodeId })
    expect(listed.map((p) => [p.t - T0, p.nodeId])).toEqual([
      [1, nodeId],
      [2, null],
      [3, nodeId]
    ])
    expect(ns(await listBootPackets(store.db, { nodeId, mac: B }))).toEqual([2])
    expect(await listBootPackets(store.db, { nodeId: nodeId + 100 })).toEqual([])
  })
})
