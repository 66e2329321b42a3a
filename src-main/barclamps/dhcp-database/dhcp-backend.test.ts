// The DHCP database role's backend on a real store: DECLINE holds kept in dhcp_leases across
// restarts (SQLite and PostgreSQL), and the reservation cache bounded in entries and in time
// however many unknown MACs ask.
import { randomBytes } from 'node:crypto'
import { afterEach, describe, expect, it } from 'vitest'
import { createNetwork } from '../network/networks'
import { DhcpLeases } from '../../services/dhcp/dhcp-leases'
import { scenario } from '../../testing/domain-scenario'
import { startTestApp, type TestApp } from '../../testing/test-app'
import { STORE_KINDS } from '../../testing/test-stores'
import { NodeReservations, StoreLeaseBook } from './dhcp-backend'

const randomMac = (): string => [0x02, ...randomBytes(5)].map((b) => b.toString(16).padStart(2, '0')).join(':')

describe.each(STORE_KINDS)('DECLINE holds in the %s lease store', (kind) => {
  let app: TestApp | undefined
  afterEach(async () => {
    await app?.dispose()
    app = undefined
  })

  it('keeps a DECLINEd address out of the pool for 10 minutes, across a restart, then offers it again', async () => {
    app = await startTestApp(kind)
    const db = app.ctx.db
    let now = Date.parse('2026-01-02T03:00:00Z')
    const clock = (): Date => new Date(now)
    const reservations = new NodeReservations(db, 0)
    const leasesOver = () =>
      new DhcpLeases({ pool: { first: '10.9.0.10', last: '10.9.0.12' }, leaseSeconds: 3600, store: new StoreLeaseBook({ db, clock }), reservations, clock })
    const take = async (leases: DhcpLeases, mac: string): Promise<string | null> => {
      const offered = await leases.offer(mac)
      if (!offered) return null
      await leases.commit(mac, offered.address, null)
      return offered.address
    }

    let leases = leasesOver()
    const [a, b, c, d, e] = [randomMac(), randomMac(), randomMac(), randomMac(), randomMac()]
    expect(await take(leases, a)).toBe('10.9.0.10')
    expect(await leases.decline(a, '10.9.0.10')).toEqual({ kind: 'held', until: now + 600_000 })
    expect(await take(leases, b)).toBe('10.9.0.11')
    expect(await take(leases, c)).toBe('10.9.0.12')
    // Only the declined address is left, and it is held back.
    expect(await take(leases, d)).toBeNull()
    // A DECLINE of someone else's address takes nothing out of the pool.
    expect(await leases.decline(b, '10.9.0.12')).toEqual({ kind: 'not-theirs' })
    expect((await leases.lease(c))?.address).toBe('10.9.0.12')

    now += 5 * 60_000
    leases = leasesOver()
    expect(await take(leases, d)).toBeNull()
    const held = await db.selectFrom('dhcp_leases').select(['mac', 'expires_at']).where('address', '=', '10.9.0.10').execute()
    expect(held).toEqual([{ mac: 'declined 10.9.0.10', expires_at: '2026-01-02T03:10:00.000Z' }])

    now += 5 * 60_000 + 1000
    expect(await take(leases, e)).toBe('10.9.0.10')
    leases = leasesOver()
    expect((await leases.lease(e))?.address).toBe('10.9.0.10')
    expect(await db.selectFrom('dhcp_leases').select('mac').where('address', '=', '10.9.0.10').execute()).toEqual([{ mac: e }])
  })
})

describe('the reservation cache', () => {
  let app: TestApp | undefined
  afterEach(async () => {
    await app?.dispose()
    app = undefined
  })

  /** A known node with an admin-network address, and a MAC not yet in node_macs. */
  async function knownNode(): Promise<{ app: TestApp; nodeId: number; networkId: number }> {
    app = await startTestApp('sqlite')
    const net = await createNetwork(app.ctx, {
      name: 'admin',
      category: 'admin',
      vlan: 0,
      bond: null,
      v4_subnet: '10.8.0.0/24',
      v6prefix: null,
      ranges: [
        { name: 'host', first: '10.8.0.50', last: '10.8.0.60' },
        { name: 'dhcp', first: '10.8.0.100', last: '10.8.0.110' }
      ],
      routers: []
    })
    const s = scenario(app.ctx)
    const nodeId = await s.node('known1.lab.test')
    await s.bind(await s.system(), nodeId, 'network-admin', true)
    return { app, nodeId, networkId: net.id }
  }

  it('holds at most 4,096 MACs however many unknown MACs ask', async () => {
    const { app, networkId } = await knownNode()
    const reservations = new NodeReservations(app.ctx.db, networkId)
    for (let batch = 0; batch < 100; batch++) {
      await Promise.all(Array.from({ length: 100 }, () => reservations.reservation(randomMac())))
    }
    // Two generations of 2,048: between one and two of them are full.
    expect(reservations.cachedEntries).toBeLessThanOrEqual(4096)
    expect(reservations.cachedEntries).toBeGreaterThan(2048)
  })

  it('forgets an answer after its TTL, so a MAC added without a node event is found', async () => {
    const { app, nodeId, networkId } = await knownNode()
    let now = 0
    const reservations = new NodeReservations(app.ctx.db, networkId, { ttlMs: 60_000, now: () => now })
    const mac = randomMac()
    expect(await reservations.reservation(mac)).toBeNull()
    await app.ctx.db.insertInto('node_macs').values({ mac, node_id: nodeId }).execute()
    now += 59_000
    expect(await reservations.reservation(mac)).toBeNull()
    now += 2_000
    expect(await reservations.reservation(mac)).toMatchObject({ address: '10.8.0.50', hostname: 'known1' })
  })

  it('does not cache what a lookup begun before an invalidation read', async () => {
    const { app, nodeId, networkId } = await knownNode()
    const reservations = new NodeReservations(app.ctx.db, networkId)
    const mac = randomMac()
    // The lookup is queued before the change on SQLite's one connection, so it reads "unknown".
    const before = reservations.reservation(mac)
    const change = app.ctx.db.insertInto('node_macs').values({ mac, node_id: nodeId }).execute()
    reservations.invalidate()
    expect(await before).toBeNull()
    await change
    expect(await reservations.reservation(mac)).toMatchObject({ address: '10.8.0.50' })
  })
})
