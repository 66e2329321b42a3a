import { afterEach, describe, expect, it } from 'vitest'
import { createRootLogger } from '../../base/log'
import { ChangeFeed } from '../../domain/change-feed'
import type { DomainContext } from '../../domain/context'
import type { ChangeEvent } from '../../model'
import { listBootEvents } from '../../store/boot-events'
import { openTestStore, STORE_KINDS, type TestStore } from '../../testing/test-stores'
import { BootRecorder } from './boot-recorder'

const MAC = '52:54:00:aa:bb:01'

describe.each(STORE_KINDS)('boot recorder on %s', (kind) => {
  let store: TestStore | undefined
  let recorder: BootRecorder | undefined
  afterEach(async () => {
    await recorder?.dispose()
    await store?.dispose()
    recorder = undefined
    store = undefined
  })

  async function start(options: { flushMs?: number; batchSize?: number } = {}): Promise<{ ctx: DomainContext; changes: ChangeEvent[] }> {
    store = await openTestStore(kind)
    const ctx: DomainContext = { db: store.db, kind, clock: () => new Date('2026-01-01T00:00:00Z'), feed: new ChangeFeed() }
    const changes: ChangeEvent[] = []
    ctx.feed.subscribe((e) => changes.push(e))
    recorder = new BootRecorder({ ctx, logger: createRootLogger('silent'), ...options })
    return { ctx, changes }
  }

  it('keeps a flooding machine to its budget and says on its timeline how many events were not recorded', async () => {
    const { ctx } = await start()
    for (let i = 0; i < 150; i++) recorder!.dhcp({ mac: MAC, direction: 'in', message: 'discover', xid: i })
    // The node API's words are never refused.
    recorder!.record(MAC, 'api', 'alive', { alive: true })
    await new Promise((r) => setTimeout(r, 300))
    recorder!.dhcp({ mac: MAC, direction: 'in', message: 'request', xid: 999 })
    await recorder!.flush()
    const events = (await listBootEvents(ctx.db, { mac: MAC, limit: 1000 })).reverse()
    expect(events.filter((e) => e.event === 'discover')).toHaveLength(100)
    expect(events.some((e) => e.event === 'alive')).toBe(true)
    const skipped = events.find((e) => e.event === 'not_recorded')
    expect(skipped).toMatchObject({ source: 'dhcp', detail: { events: 50 } })
    expect(String(skipped?.detail.reason)).toContain('more than 20 events a second from this machine')
    expect(events.at(-1)).toMatchObject({ event: 'request', detail: { xid: 999 } })
  })

  it('writes nothing until the flush interval, then the whole batch with one change event per MAC', async () => {
    const { ctx, changes } = await start({ flushMs: 150 })
    for (let i = 0; i < 5; i++) recorder!.dhcp({ mac: MAC, direction: 'in', message: 'discover', xid: i })
    recorder!.dhcp({ mac: '52:54:00:aa:bb:02', direction: 'in', message: 'discover', xid: 9 })
    expect(await listBootEvents(ctx.db, { mac: MAC, limit: 100 })).toHaveLength(0)
    await new Promise((r) => setTimeout(r, 400))
    const events = await listBootEvents(ctx.db, { mac: MAC, limit: 100 })
    expect(events.map((e) => e.detail.xid)).toEqual([4, 3, 2, 1, 0])
    expect(changes).toEqual([
      { kind: 'boot_event', id: events[0]?.id, action: 'created', mac: MAC, node_id: null },
      expect.objectContaining({ kind: 'boot_event', mac: '52:54:00:aa:bb:02' })
    ])
  })

  it('flushes at once when a batch fills, before the interval', async () => {
    const { ctx } = await start({ flushMs: 60_000, batchSize: 3 })
    for (let i = 0; i < 3; i++) recorder!.dhcp({ mac: MAC, direction: 'in', message: 'discover', xid: i })
    let n = 0
    for (let i = 0; i < 50 && n < 3; i++) {
      await new Promise((r) => setTimeout(r, 20))
      n = (await listBootEvents(ctx.db, { mac: MAC, limit: 100 })).length
    }
    expect(n).toBe(3)
  })

  it('puts a TFTP request on the MAC the stored lease gives its address, when no ACK was seen', async () => {
    const { ctx } = await start()
    await ctx.db.insertInto('dhcp_leases').values({ mac: MAC, address: '198.19.9.20', hostname: null, expires_at: '2030-01-01T00:00:00Z', updated_at: '2026-01-01T00:00:00Z' }).execute()
    recorder!.tftp({ kind: 'rrq', clientAddress: '198.19.9.20', file: 'undionly.kpxe', mode: 'octet', options: { blksize: '1468' } })
    recorder!.tftp({ kind: 'rrq', clientAddress: '198.19.9.99', file: 'nobody', mode: 'octet', options: {} })
    let events: Awaited<ReturnType<typeof listBootEvents>> = []
    for (let i = 0; i < 50 && events.length === 0; i++) {
      await new Promise((r) => setTimeout(r, 50))
      await recorder!.flush()
      events = await listBootEvents(ctx.db, { mac: MAC, limit: 100 })
    }
    expect(events).toMatchObject([{ source: 'tftp', event: 'rrq', detail: { client: '198.19.9.20', file: 'undionly.kpxe', options: { blksize: '1468' } } }])
  })

  it('takes the MAC of an HTTP boot request from its path when the path names one', async () => {
    const { ctx } = await start()
    recorder!.http({ clientAddress: '198.19.9.77', method: 'GET', path: '/boot/52-54-00-AA-BB-01.ipxe', status: 200, bytes: 321, ms: 2 })
    await recorder!.flush()
    expect(await listBootEvents(ctx.db, { mac: MAC, limit: 10 })).toMatchObject([{ source: 'http', event: 'http_get', detail: { status: 200, bytes: 321, path: '/boot/52-54-00-AA-BB-01.ipxe' } }])
  })
})
