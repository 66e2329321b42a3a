// The install wizard through the API's handlers on a real store of each kind: nothing exists while
// it is pending, bad choices are refused with the field named and nothing written, completion
// creates the admin network and node in one transaction and commits them, and happens only once.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest'
import type { ChangeEvent, SetupInput } from '../model'
import { invokeOperation, type OperationResult } from '../api/operations'
import { startApp, type CrowbarApp } from '../app'
import { createRootLogger } from '../base/log'
import type { StoreKind } from '../store/store-kind'
import { createTestDatabase, STORE_KINDS } from '../testing/test-stores'

const VALID: SetupInput = {
  interface: 'none',
  v4_subnet: '10.40.0.0/24',
  dhcp_first: '10.40.0.100',
  dhcp_last: '10.40.0.199',
  v6prefix: '2001:db8:40::/64',
  domain: 'wizard.lab',
  admin_name: 'boss'
}

const failOnInternal = (err: unknown): never => {
  throw err
}

describe.each(STORE_KINDS)('install wizard on %s', (kind: StoreKind) => {
  let dataDir: string
  let databaseUrl: string | undefined
  const apps: CrowbarApp[] = []
  const start = async (wizard = true): Promise<CrowbarApp> => {
    const app = await startApp({ dataDir, databaseUrl, logger: createRootLogger('silent'), anneal: false, wizard })
    apps.push(app)
    return app
  }
  const call = (app: CrowbarApp, name: 'checkSetup' | 'completeSetup', input: unknown): Promise<OperationResult> =>
    invokeOperation(app.handlers, name, input, failOnInternal)
  /** What a setup writes: none of it may exist before one succeeds. */
  const written = async (app: CrowbarApp) => {
    const system = (await app.handlers.listDeployments({})).find((d) => d.system)
    return {
      networks: (await app.handlers.listNetworks({})).length,
      nodes: (await app.handlers.listNodes({})).length,
      systemNodeRoles: (await app.handlers.listNodeRoles({ deployment_id: system?.id })).length,
      settings: (await app.ctx.db.selectFrom('settings').select('key').where('key', 'in', ['bootstrap.done', 'cluster_domain', 'setup.interface']).execute()).length
    }
  }
  const NOTHING = { networks: 0, nodes: 0, systemNodeRoles: 0, settings: 0 }

  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'crowbar-setup-'))
    databaseUrl = kind === 'postgres' ? await createTestDatabase(inject('postgresUrl')) : undefined
  })
  afterEach(async () => {
    for (const app of apps.splice(0)) await app.stop()
    await rm(dataDir, { recursive: true, force: true })
  })

  it('is pending after a wizard start, proposes the defaults, lists the loopback as unusable, and creates nothing', async () => {
    const app = await start()
    const state = await app.handlers.getSetup({})
    expect(state.state).toBe('pending')
    expect(state.proposal).toMatchObject({ interface: 'none', v4_subnet: '192.168.124.0/24', dhcp_first: '192.168.124.161', dhcp_last: '192.168.124.240', v6prefix: 'auto', domain: 'crowbar.lab' })
    expect(state.proposal.admin_name).toMatch(/\.crowbar\.lab$/)
    expect(state.interfaces.find((i) => i.name === 'lo')).toMatchObject({ loopback: true, proposal: null, addresses: [{ address: '127.0.0.1', prefix_length: 8, subnet: '127.0.0.0/8' }] })
    expect(state.boot).toEqual({ interface: null, url: null, error: null })
    expect(await written(app)).toEqual(NOTHING)
    expect(app.boot).toBeUndefined()
  })

  it('refuses each bad choice with the field named, and writes nothing', async () => {
    const app = await start()
    const bad: Array<[Partial<SetupInput> | Record<string, unknown>, string]> = [
      [{ v4_subnet: '10.0.0.0/33' }, 'setup is not valid: v4_subnet: prefix length /33 is too long for IPv4'],
      [{ dhcp_last: '10.41.0.20' }, 'setup is not valid: dhcp_last: 10.41.0.20 is outside v4_subnet 10.40.0.0/24'],
      [{ v6prefix: '2001:db8::/56' }, 'setup is not valid: v6prefix: 2001:db8::/56 is not an IPv6 /64'],
      [{ domain: 'under_score.lab' }, 'setup is not valid: domain: "under_score.lab" is not a DNS name'],
      [{ admin_name: 'boss.elsewhere.lab' }, 'setup is not valid: admin_name: boss.elsewhere.lab is not in the cluster domain wizard.lab'],
      [{ interface: 'lo' }, 'setup is not valid: interface: lo is the loopback interface'],
      [{ interface: 'nosuch0' }, 'setup is not valid: interface: there is no interface named nosuch0 on this machine'],
      [{ color: 'blue' }, 'invalid input for completeSetup: body: unknown field(s) color']
    ]
    for (const [over, message] of bad) {
      for (const op of ['checkSetup', 'completeSetup'] as const) {
        const result = await call(app, op, { ...VALID, ...over })
        expect(result.ok).toBe(false)
        if (result.ok) continue
        expect(result.status).toBe(400)
        expect(result.body.error.message).toContain(message.replace('completeSetup', op))
      }
    }
    expect(await written(app)).toEqual(NOTHING)
    expect((await app.handlers.getSetup({})).state).toBe('pending')
  })

  it('rolls back the network when the admin node cannot be created, so nothing is half-created', async () => {
    const app = await start()
    await app.handlers.createNode({ name: 'boss.wizard.lab', description: '', admin: false, alive: false, available: true, bootenv: 'discovery', hint: {} })
    const events: ChangeEvent[] = []
    app.feed.subscribe((e) => events.push(e))
    const result = await call(app, 'completeSetup', VALID)
    expect(result).toMatchObject({ ok: false, status: 409, body: { error: { message: 'a node named boss.wizard.lab already exists' } } })
    expect(await written(app)).toEqual({ ...NOTHING, nodes: 1 })
    // Nothing announced either: the network's creation never committed.
    expect(events).toEqual([])
    expect((await app.handlers.getSetup({})).state).toBe('pending')
  })

  it('creates the chosen admin network and node and commits them in the system deployment, once', async () => {
    const app = await start()
    const plan = await app.handlers.checkSetup(VALID)
    expect(await written(app)).toEqual(NOTHING)
    const events: ChangeEvent[] = []
    app.feed.subscribe((e) => events.push(e))

    const result = await app.handlers.completeSetup(VALID)
    expect(result).toEqual({ plan, boot: { interface: null, url: null, error: null } })
    const [admin, ...others] = await app.handlers.listNetworks({})
    expect(others).toEqual([])
    expect(admin).toMatchObject({
      name: 'admin',
      category: 'admin',
      v4_subnet: '10.40.0.0/24',
      v6prefix_setting: '2001:db8:40::/64',
      v6prefix: '2001:db8:40::/64',
      routers: [{ family: 4, address: '10.40.0.1', pref: 10 }],
      ranges: [
        { name: 'admin', family: 4, first: '10.40.0.10', last: '10.40.0.11' },
        { name: 'host', family: 4, first: '10.40.0.81', last: '10.40.0.99' },
        { name: 'dhcp', family: 4, first: '10.40.0.100', last: '10.40.0.199' }
      ]
    })
    const nodes = await app.handlers.listNodes({})
    expect(nodes).toHaveLength(1)
    expect(nodes[0]).toMatchObject({ name: 'boss.wizard.lab', admin: true, alive: true })
    expect(nodes[0]?.addresses.map((a) => [a.family, a.address.split(':').slice(0, 3).join(':')])).toEqual([
      [4, '10.40.0.10'],
      [6, '2001:db8:40']
    ])
    const system = (await app.handlers.listDeployments({})).find((d) => d.system)
    expect(system?.state).toBe('committed')
    const noderoles = await app.handlers.listNodeRoles({ deployment_id: system?.id })
    expect(noderoles.map((nr) => [nr.role, nr.node, nr.state])).toEqual([
      ['network-admin', 'boss.wizard.lab', 'todo'],
      ['crowbar-admin-node', 'boss.wizard.lab', 'todo'],
      ['dhcp-database', 'boss.wizard.lab', 'todo'],
      ['dns-database', 'boss.wizard.lab', 'todo']
    ])
    expect((await app.handlers.getSetup({})).state).toBe('done')
    // Announced after the commit, the wizard's own event last.
    expect(events.map((e) => e.kind)).toEqual(expect.arrayContaining(['network', 'node', 'noderole']))
    expect(events.at(-1)).toEqual({ kind: 'setup', id: 1, action: 'updated' })

    for (const op of ['completeSetup', 'checkSetup'] as const) {
      const again = await call(app, op, { ...VALID, admin_name: 'other' })
      expect(again).toMatchObject({ ok: false, status: 409, body: { error: { kind: 'conflict' } } })
      if (!again.ok) expect(again.body.error.message).toMatch(/^setup is already done/)
    }
    expect(await app.handlers.listNodes({})).toHaveLength(1)
  })

  it('is done after a restart on the same data, with or without --wizard, and creates nothing again', async () => {
    const first = await start()
    await first.handlers.completeSetup({ ...VALID, v6prefix: null, admin_name: 'boss.rack1.wizard.lab' })
    await first.stop()
    for (const wizard of [true, false]) {
      const again = await start(wizard)
      const state = await again.handlers.getSetup({})
      expect(state.state).toBe('done')
      expect(state.boot.interface).toBeNull()
      expect(again.boot).toBeUndefined()
      const networks = await again.handlers.listNetworks({})
      expect(networks.map((n) => [n.name, n.v4_subnet, n.v6prefix])).toEqual([['admin', '10.40.0.0/24', null]])
      expect((await again.handlers.listNodes({})).map((n) => n.name)).toEqual(['boss.rack1.wizard.lab'])
      await again.stop()
    }
  })

  it('leaves a start without --wizard as it was: the defaults are created at once', async () => {
    const app = await start(false)
    expect((await app.handlers.getSetup({})).state).toBe('done')
    expect((await app.handlers.listNetworks({}))[0]?.v4_subnet).toBe('192.168.124.0/24')
    const refused = await call(app, 'completeSetup', VALID)
    expect(refused).toMatchObject({ ok: false, status: 409 })
  })
})
