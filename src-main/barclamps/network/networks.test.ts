import { createHash } from 'node:crypto'
import { afterEach, describe, expect, it } from 'vitest'
import type { NetworkInput } from '../../model'
import { NetworkInputSchema } from '../../model'
import { startApp } from '../../app'
import { transact } from '../../domain/context'
import { scenario } from '../../testing/domain-scenario'
import { getNodeRoleDetail, listNodeRoles } from '../../domain/noderoles'
import { deleteNode } from '../../domain/nodes'
import { createRootLogger } from '../../base/log'
import { STORE_KINDS } from '../../testing/test-stores'
import { startTestApp, type TestApp } from '../../testing/test-app'
import { allocateNodeAddresses } from './allocations'
import { createNetwork, listNetworks, updateNetwork } from './networks'

const net = (over: Partial<NetworkInput> & { name: string }): NetworkInput =>
  NetworkInputSchema.parse({ category: 'storage', v4_subnet: '10.20.0.0/22', ranges: [{ name: 'host', first: '10.20.0.10', last: '10.20.3.250' }], ...over })

const iid = (fqdn: string) => createHash('md5').update(fqdn).digest('hex').slice(16)

describe.each(STORE_KINDS)('network barclamp on %s', (kind) => {
  let app: TestApp | undefined
  afterEach(async () => {
    await app?.dispose()
    app = undefined
  })

  it('creates the admin network and the admin node with its addresses on a first start', async () => {
    app = await startTestApp(kind, { bootstrap: true })
    const [admin] = await listNetworks(app.ctx.db)
    expect(admin).toMatchObject({
      name: 'admin',
      category: 'admin',
      v4_subnet: '192.168.124.0/24',
      v6prefix_setting: 'auto',
      routers: [{ family: 4, address: '192.168.124.1', pref: 10 }],
      ranges: [
        { name: 'admin', family: 4, first: '192.168.124.10', last: '192.168.124.11' },
        { name: 'host', family: 4, first: '192.168.124.81', last: '192.168.124.160' },
        { name: 'dhcp', family: 4, first: '192.168.124.161', last: '192.168.124.240' }
      ]
    })
    expect(admin?.v6prefix).toMatch(/^fd[0-9a-f]{2}(:[0-9a-f]{1,4}){3}::\/64$/)
    const nodes = await app.handlers.listNodes({})
    expect(nodes).toHaveLength(1)
    const node = nodes[0]
    expect(node).toMatchObject({ admin: true, alive: true })
    const prefix = (admin?.v6prefix ?? '').replace('::/64', '')
    const groups = iid(node?.name ?? '').match(/.{4}/g)?.map((g) => g.replace(/^0+(?=.)/, '')) ?? []
    expect(node?.addresses).toEqual([
      { network: 'admin', family: 4, address: '192.168.124.10' },
      { network: 'admin', family: 6, address: `${prefix}:${groups.join(':')}` }
    ])
    const system = await listNodeRoles(app.ctx.db, { node_id: node?.id })
    expect(system.map((nr) => [nr.role, nr.state])).toEqual([
      ['network-admin', 'todo'],
      ['crowbar-admin-node', 'todo'],
      ['dhcp-database', 'todo'],
      ['dns-database', 'todo']
    ])
  })

  it('keeps the ULA global ID across restarts and gives each network its own subnet ID', async () => {
    app = await startTestApp(kind, { bootstrap: true })
    const storage = await createNetwork(app.ctx, net({ name: 'storage', v6prefix: 'auto' }))
    const admin = (await listNetworks(app.ctx.db))[0]
    const gid = (p: string | null | undefined) => (p ?? '').split(':').slice(0, 3).join(':')
    expect(gid(storage.v6prefix)).toBe(gid(admin?.v6prefix))
    expect(storage.v6prefix?.split(':')[3]).toBe(storage.id.toString(16))
    const url = app.store.kind === 'postgres' ? app.store.location : undefined
    if (kind === 'sqlite') {
      await app.stop()
      const again = await startApp({ dataDir: app.dataDir, logger: createRootLogger('silent'), anneal: false })
      const reopened = await listNetworks(again.ctx.db)
      expect(reopened.map((n) => n.v6prefix)).toEqual([admin?.v6prefix, storage.v6prefix])
      await again.stop()
    } else {
      expect(url).toMatch(/^postgres:/)
    }
  })

  it('hands out 500 distinct addresses to 500 parallel allocations', async () => {
    app = await startTestApp(kind)
    const s = scenario(app.ctx)
    const network = await createNetwork(app.ctx, net({ name: 'storage', v6prefix: '2001:db8:5:6::/64' }))
    const nodes: Array<{ id: number; name: string }> = []
    for (let i = 0; i < 500; i++) nodes.push({ id: await s.node(`n${i}.lab.test`), name: `n${i}.lab.test` })
    const ctx = app.ctx
    const results = await Promise.all(nodes.map((n) => transact(ctx, (t) => allocateNodeAddresses(t, network.id, n, 'host'))))
    const v4 = results.map((r) => r.find((a) => a.family === 4)?.address)
    const v6 = results.map((r) => r.find((a) => a.family === 6)?.address)
    expect(new Set(v4).size).toBe(500)
    expect(new Set(v6).size).toBe(500)
    expect(v4.every((a) => a?.startsWith('10.20.'))).toBe(true)
    expect(v6[0]).toBe(`2001:db8:5:6:${iid('n0.lab.test').match(/.{4}/g)?.map((g) => g.replace(/^0+(?=.)/, '')).join(':')}`)
    expect((await listNetworks(app.ctx.db))[0]?.allocations).toHaveLength(1000)
  }, 60_000)

  it('refuses a full range with a clear error and reuses an address when its node is deleted', async () => {
    app = await startTestApp(kind)
    const s = scenario(app.ctx)
    const network = await createNetwork(app.ctx, net({ name: 'tiny', v4_subnet: '10.9.0.0/29', ranges: [{ name: 'host', first: '10.9.0.2', last: '10.9.0.3' }] }))
    const alloc = async (name: string) => {
      const id = await s.node(name)
      return { id, result: await transact(app!.ctx, (t) => allocateNodeAddresses(t, network.id, { id, name }, 'host')) }
    }
    const a = await alloc('a.lab.test')
    await alloc('b.lab.test')
    await expect(alloc('c.lab.test')).rejects.toThrow('range host of network tiny (10.9.0.2-10.9.0.3) is full')
    await deleteNode(app.ctx, a.id)
    const d = await alloc('d.lab.test')
    expect(d.result).toEqual([{ network: 'tiny', family: 4, address: '10.9.0.2' }])
  })

  it('refuses bad networks with a message naming each problem, writing nothing', async () => {
    app = await startTestApp(kind)
    const bad: Array<[Partial<NetworkInput>, string]> = [
      [{ ranges: [{ name: 'host', first: '10.20.0.10', last: '10.20.1.0' }, { name: 'dhcp', first: '10.20.0.200', last: '10.20.2.0' }] }, 'ranges[1] (dhcp): overlaps range host'],
      [{ ranges: [{ name: 'host', first: '10.21.0.10', last: '10.21.0.20' }] }, 'ranges[0] (host): 10.21.0.10-10.21.0.20 is outside 10.20.0.0/22'],
      [{ v6prefix: '2001:db8::/48' }, 'v6prefix: 2001:db8::/48 must be an IPv6 /64'],
      [{ v6prefix: 'nope' }, 'v6prefix: "nope" is not in address/prefix-length form'],
      [{ v4_subnet: '10.20.0.1/22' }, 'v4_subnet: "10.20.0.1/22" has host bits set'],
      [{ routers: [{ address: '10.99.0.1', pref: 10 }] }, 'routers[0]: 10.99.0.1 is outside the network'],
      [{ ranges: [{ name: 'host', first: '10.20.0.50', last: '10.20.0.40' }] }, 'first 10.20.0.50 comes after last 10.20.0.40']
    ]
    for (const [over, message] of bad) {
      await expect(createNetwork(app.ctx, net({ name: 'storage', ...over }))).rejects.toThrow(message)
    }
    expect(await listNetworks(app.ctx.db)).toEqual([])
    const good = await createNetwork(app.ctx, net({ name: 'storage' }))
    await expect(
      updateNetwork(app.ctx, good.id, { ...net({ name: 'storage' }), routers: [{ address: '192.0.2.1', pref: 1 }] })
    ).rejects.toThrow('routers[0]: 192.0.2.1 is outside')
    expect((await listNetworks(app.ctx.db))[0]?.routers).toEqual([])
  })

  it('refuses a subnet overlapping another network on the same VLAN, and a tagged VLAN reused for another subnet', async () => {
    app = await startTestApp(kind, { bootstrap: true })
    // Inside the admin /24, untagged like it: refused, naming both.
    await expect(createNetwork(app.ctx, net({ name: 'inner', v4_subnet: '192.168.124.0/25', ranges: [] }))).rejects.toThrow(
      "network inner's subnet 192.168.124.0/25 overlaps network admin's 192.168.124.0/24, both untagged (VLAN 0)"
    )
    // The same addresses on their own VLAN are another broadcast domain: allowed.
    const tagged = await createNetwork(app.ctx, net({ name: 'inner', vlan: 20, v4_subnet: '192.168.124.0/25', ranges: [] }))
    expect(tagged.vlan).toBe(20)
    // VLAN 20 carries that subnet: another subnet on it is refused.
    await expect(createNetwork(app.ctx, net({ name: 'other', vlan: 20, v4_subnet: '10.99.0.0/24', ranges: [] }))).rejects.toThrow(
      'VLAN 20 already carries network inner (192.168.124.0/25): a tagged VLAN carries one subnet'
    )
    // An update that moves a network onto another's addresses is refused too; itself is no conflict.
    const storage = await createNetwork(app.ctx, net({ name: 'storage', v4_subnet: '10.30.0.0/24', ranges: [] }))
    await expect(updateNetwork(app.ctx, storage.id, { ...net({ name: 'storage', v4_subnet: '192.168.124.128/25', ranges: [] }) })).rejects.toThrow(/overlaps network admin/)
    expect((await updateNetwork(app.ctx, storage.id, { ...net({ name: 'storage', v4_subnet: '10.30.0.0/23', ranges: [] }) })).v4_subnet).toBe('10.30.0.0/23')
    expect((await listNetworks(app.ctx.db)).map((n) => n.name).sort()).toEqual(['admin', 'inner', 'storage'])
  })

  it('binding a node to a network role puts its addresses in system data, and child roles receive them', async () => {
    app = await startTestApp(kind)
    const s = scenario(app.ctx)
    await createNetwork(app.ctx, net({ name: 'storage', v6prefix: '2001:db8:5:6::/64', routers: [{ address: '10.20.0.1', pref: 5 }] }))
    await s.barclamp({ name: 'ceph', roles: [{ name: 'ceph-osd', jig: 'noop', requires: ['network-storage'] }] })
    const n1 = await s.node('n1.lab.test')
    const lab = await s.deployment('lab')
    const osd = await s.bind(lab, n1, 'ceph-osd')
    const netNr = await s.id('network-storage', n1)
    const expected = {
      category: 'storage',
      vlan: 0,
      v4: { address: '10.20.0.10', subnet: '10.20.0.0/22', prefix_length: 22, router: '10.20.0.1' },
      v6: { address: expect.stringMatching(/^2001:db8:5:6:/), prefix: '2001:db8:5:6::/64', router: null }
    }
    // The framework's layer: the node's hints (none set here), then what the network hook gave.
    expect((await getNodeRoleDetail(app.ctx.db, netNr)).attributes.layers.system).toEqual({ hints: {}, crowbar: { network: { storage: expected } } })
    expect((await getNodeRoleDetail(app.ctx.db, osd)).attributes.layers.parents_wall).toEqual({ crowbar: { network: { storage: expected } } })
  })
})
