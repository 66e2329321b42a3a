// The DHCP database role's backend on a real store: the reservation cache bounded in entries and
// in time however many unknown MACs ask.
import { randomBytes } from 'node:crypto'
import { afterEach, describe, expect, it } from 'vitest'
import { createNetwork } from '../network/networks'
import { scenario } from '../../testing/domain-scenario'
import { startTestApp, type TestApp } from '../../testing/test-app'
import { NodeReservations } from './dhcp-backend'

const randomMac = (): string => [0x02, ...randomBytes(5)].map((b) => b.toString(16).padStart(2, '0')).join(':')

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
    expect(reservations.cachedEntries).toBe(4096)
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
