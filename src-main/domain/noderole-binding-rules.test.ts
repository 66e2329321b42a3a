// Issue 14: the binding rules of Crowbar 2.0's node_role.rb (cluster peers join their clients,
// provides both ways, refusals are 409) and the bulk bind, through the real operator API over HTTP
// on both stores.
import { describe, expect, it } from 'vitest'
import type { ChangeEvent } from '../model'
import { useApiTestApp, type ApiTestEnv } from '../testing/api-test-app'
import { STORE_KINDS } from '../testing/test-stores'

/** A cluster role provided by a second role whose noderoles sit higher in the graph. */
const KV_BARCLAMP = {
  name: 'kv',
  roles: [
    { name: 'kv', jig: 'noop', flags: { cluster: true } },
    { name: 'kv-prep', jig: 'noop', flags: { implicit: true } },
    { name: 'kv-big', jig: 'noop', provides: ['kv'], requires: ['kv-prep'], flags: { cluster: true } },
    { name: 'kv-client', jig: 'noop', requires: ['kv'] },
    { name: 'kv-user', jig: 'noop', requires: ['kv-client'] }
  ]
}

const PROVIDES_BARCLAMP = {
  name: 'pv',
  roles: [
    { name: 'pv-db', jig: 'noop' },
    { name: 'pv-postgres', jig: 'noop', provides: ['pv-db'] }
  ]
}

async function nodes(env: ApiTestEnv, prefix: string, count: number): Promise<number[]> {
  const ids: number[] = []
  for (let i = 1; i <= count; i++) ids.push(await env.s.node(`${prefix}${i}.lab.test`))
  return ids
}

/** The deployment's graph by names (`role@node`): state, cohort and parents of each noderole. */
async function graphOf(env: ApiTestEnv, deployment_id: number, prefix: string) {
  const all = await env.ok('listNodeRoles', {})
  const name = new Map(all.map((nr) => [nr.id, `${nr.role}@${nr.node.split('.')[0]?.replace(prefix, 'n')}`]))
  return Object.fromEntries(
    all
      .filter((nr) => nr.deployment_id === deployment_id)
      .map((nr) => [name.get(nr.id), { state: nr.state, cohort: nr.cohort, parents: nr.parents.map((p) => name.get(p)).sort() }])
  )
}

async function deploymentRoles(env: ApiTestEnv, deployment_id: number): Promise<number[]> {
  const rows = await env.app.ctx.db.selectFrom('deployment_roles').select('role_id').where('deployment_id', '=', deployment_id).execute()
  return rows.map((r) => r.role_id).sort((a, b) => a - b)
}

async function stored(env: ApiTestEnv) {
  const count = async (table: 'noderoles' | 'noderole_edges' | 'deployment_roles') =>
    Number((await env.app.ctx.db.selectFrom(table).select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n)
  return { noderoles: await count('noderoles'), edges: await count('noderole_edges'), deployment_roles: await count('deployment_roles') }
}

describe.each(STORE_KINDS)('binding rules on %s', (kind) => {
  const env = useApiTestApp(kind)

  it('a new peer of a cluster role becomes a parent of the clients bound before it; they wait for it at commit and run again once it is active', async () => {
    const [n1, n2, n3] = (await nodes(env, 'n', 3)) as [number, number, number]
    const lab = await env.s.deployment('lab')
    await env.ok('bindNodeRole', { deployment_id: lab, node_id: n1, role: 'test-cluster' })
    const c2 = (await env.ok('bindNodeRole', { deployment_id: lab, node_id: n2, role: 'test-cluster-client' })).id
    const c3 = (await env.ok('bindNodeRole', { deployment_id: lab, node_id: n3, role: 'test-cluster-client' })).id
    await env.ok('commitDeployment', { id: lab })
    for (const id of [await env.s.id('test-library', n1), await env.s.id('test-cluster', n1), c2, c3]) await env.s.run(id)
    expect(Object.values(await env.s.states(lab)).every((s) => s === 'active')).toBe(true)

    await env.ok('proposeDeployment', { id: lab })
    const peer2 = await env.ok('bindNodeRole', { deployment_id: lab, node_id: n2, role: 'test-cluster' })
    const peer1 = await env.s.id('test-cluster', n1)
    for (const client of [c2, c3]) {
      expect([...(await env.ok('getNodeRole', { id: client })).parents].sort()).toEqual([peer1, peer2.id].sort())
    }
    expect(peer2.children.sort()).toEqual([c2, c3].sort())
    await env.ok('commitDeployment', { id: lab })
    expect(await env.s.states(lab)).toEqual({
      'test-library@n1': 'active',
      'test-cluster@n1': 'active',
      'test-library@n2': 'todo',
      'test-cluster@n2': 'blocked',
      'test-cluster-client@n2': 'blocked',
      'test-cluster-client@n3': 'blocked'
    })
    await env.s.run(await env.s.id('test-library', n2))
    expect((await env.s.states(lab))['test-cluster-client@n2']).toBe('blocked')
    await env.s.run(peer2.id)
    expect(await env.s.states(lab)).toMatchObject({ 'test-cluster-client@n2': 'todo', 'test-cluster-client@n3': 'todo' })
    await env.s.run(c2)
    await env.s.run(c3)
    expect(Object.values(await env.s.states(lab)).every((s) => s === 'active')).toBe(true)
    expect(env.internalErrors).toEqual([])
  })

  it('a new cluster peer raises the cohort of its clients and of everything below them to 1 + the highest parent cohort', async () => {
    await env.ok('importBarclamp', KV_BARCLAMP)
    const [n1, n2, n3] = (await nodes(env, 'n', 3)) as [number, number, number]
    const lab = await env.s.deployment('lab')
    await env.ok('bindNodeRole', { deployment_id: lab, node_id: n1, role: 'kv' })
    await env.ok('bindNodeRole', { deployment_id: lab, node_id: n2, role: 'kv-user' })
    expect(await graphOf(env, lab, 'n')).toMatchObject({ 'kv-client@n2': { cohort: 1 }, 'kv-user@n2': { cohort: 2 } })
    await env.ok('bindNodeRole', { deployment_id: lab, node_id: n3, role: 'kv-big' })
    expect(await graphOf(env, lab, 'n')).toMatchObject({
      'kv-big@n3': { cohort: 1, parents: ['kv-prep@n3'] },
      'kv-client@n2': { cohort: 2, parents: ['kv-big@n3', 'kv@n1'] },
      'kv-user@n2': { cohort: 3, parents: ['kv-client@n2'] }
    })
  })

  it('binding a role that a bound role on the node already provides is refused with 409, whichever was bound first; nothing is written', async () => {
    await env.ok('importBarclamp', PROVIDES_BARCLAMP)
    const [n1, n2] = (await nodes(env, 'n', 2)) as [number, number]
    const lab = await env.s.deployment('lab')
    await env.ok('bindNodeRole', { deployment_id: lab, node_id: n1, role: 'pv-postgres' })
    await env.ok('bindNodeRole', { deployment_id: lab, node_id: n2, role: 'pv-db' })
    const before = await stored(env)
    expect(await env.refused('bindNodeRole', { deployment_id: lab, node_id: n1, role: 'pv-db' })).toEqual({
      status: 409,
      kind: 'conflict',
      message: expect.stringContaining('already has pv-postgres, which provides pv-db') as string
    })
    expect(await env.refused('bindNodeRole', { deployment_id: lab, node_id: n2, role: 'pv-postgres' })).toEqual({
      status: 409,
      kind: 'conflict',
      message: expect.stringContaining('already has pv-db, which pv-postgres provides') as string
    })
    expect(await stored(env)).toEqual(before)
  })

  it('binding an abstract role, one whose requirement only abstract roles or no role provides, or a requirement cycle is refused with 409', async () => {
    await env.ok('importBarclamp', {
      name: 'odd',
      roles: [
        { name: 'odd-abstract', jig: 'noop', flags: { abstract: true } },
        { name: 'odd-needs-abstract', jig: 'noop', requires: ['odd-abstract'] },
        { name: 'odd-a', jig: 'noop' },
        { name: 'odd-b', jig: 'noop' },
        { name: 'odd-orphan', jig: 'noop' }
      ]
    })
    // Installing refuses cycles and dangling requirements, so the rows are edited as an older
    // installation (or a hand edit) could have left them.
    const setRequires = (name: string, requires: string[]) =>
      env.app.ctx.db.updateTable('roles').set({ requires: JSON.stringify(requires) }).where('name', '=', name).execute()
    await setRequires('odd-a', ['odd-b'])
    await setRequires('odd-b', ['odd-a'])
    await setRequires('odd-orphan', ['nowhere'])
    const [n1] = (await nodes(env, 'n', 1)) as [number]
    const lab = await env.s.deployment('lab')
    const before = await stored(env)
    const refusal = (role: string) => env.refused('bindNodeRole', { deployment_id: lab, node_id: n1, role })
    expect(await refusal('odd-abstract')).toEqual({ status: 409, kind: 'conflict', message: 'role odd-abstract is abstract: bind a role that provides it instead' })
    expect(await refusal('odd-needs-abstract')).toEqual({
      status: 409,
      kind: 'conflict',
      message: 'role odd-needs-abstract requires odd-abstract, which only abstract roles provide'
    })
    expect(await refusal('odd-orphan')).toEqual({ status: 409, kind: 'conflict', message: 'role odd-orphan requires nowhere, which no installed role provides' })
    expect(await refusal('odd-a')).toEqual({ status: 409, kind: 'conflict', message: 'role requirements form a cycle: odd-a -> odd-b -> odd-a' })
    expect(await stored(env)).toEqual(before)
  })

  it('a bulk bind gives the same graph, cohorts, states, hook calls, events and deployment roles as binding each node in turn', async () => {
    await env.ok('importBarclamp', KV_BARCLAMP)
    const hookCalls: string[] = []
    const hook = env.app.ctx.bindHooks?.register((_t, bound) => {
      hookCalls.push(`${bound.role}@${bound.node.name.split('.')[0]?.replace(/^[ab]/, 'n')}`)
      return Promise.resolve(bound.role === 'kv' ? { kv: { node: bound.node.name.slice(1) } } : undefined)
    })
    const events: ChangeEvent[] = []
    const unsubscribe = env.app.feed.subscribe((e) => events.push(e))
    const steps: Array<[role: string, nodes: number[]]> = [
      ['test-client', [1, 2, 3, 4]],
      ['test-cluster-client', [1, 2, 3, 4]],
      ['test-cluster', [2, 3, 4]],
      ['kv', [1]],
      ['kv-user', [1, 2, 3, 4]],
      ['kv-big', [3, 4]]
    ]
    const record = async (prefix: string, bind: (deployment_id: number, ids: number[], role: string) => Promise<void>) => {
      const ids = await nodes(env, prefix, 4)
      const lab = await env.s.deployment(`lab-${prefix}`)
      hookCalls.length = 0
      events.length = 0
      for (const [role, at] of steps) await bind(lab, at.map((i) => ids[i - 1] as number), role)
      const byId = new Map((await env.ok('listNodeRoles', { deployment_id: lab })).map((nr) => [nr.id, `${nr.role}@${nr.node.split('.')[0]?.replace(prefix, 'n')}`]))
      const created = events.filter((e) => e.kind === 'noderole' && e.action === 'created').map((e) => byId.get(e.id))
      const proposed = await graphOf(env, lab, prefix)
      const sysdata = await env.app.ctx.db.selectFrom('noderoles').select(['id', 'sysdata']).where('deployment_id', '=', lab).orderBy('id').execute()
      await env.ok('commitDeployment', { id: lab })
      return {
        proposed,
        committed: await graphOf(env, lab, prefix),
        hooks: [...hookCalls],
        created,
        sysdata: sysdata.map((r) => [byId.get(r.id), r.sysdata]),
        roles: await deploymentRoles(env, lab)
      }
    }
    const oneByOne = await record('a', async (deployment_id, ids, role) => {
      for (const node_id of ids) await env.ok('bindNodeRole', { deployment_id, node_id, role })
    })
    const bulk = await record('b', async (deployment_id, ids, role) => {
      const answer = await env.ok('bindNodeRoles', { deployment_id, role, node_ids: ids })
      expect(answer.noderoles.map((nr) => nr.node_id)).toEqual(ids)
      expect(answer.role).toBe(role)
    })
    await hook?.dispose()
    unsubscribe()
    expect(Object.keys(oneByOne.proposed)).toHaveLength(27)
    expect(oneByOne.proposed['kv-client@n1']).toEqual({ state: 'proposed', cohort: 2, parents: ['kv-big@n3', 'kv-big@n4', 'kv@n1'] })
    expect(oneByOne.proposed['test-cluster-client@n4']?.parents).toEqual(['test-cluster@n1', 'test-cluster@n2', 'test-cluster@n3', 'test-cluster@n4'])
    expect(bulk).toEqual(oneByOne)
    expect(env.internalErrors).toEqual([])
  })

  it('a bulk bind answers each node’s noderole and how many it created, and binds again to the same ones', async () => {
    const ids = await nodes(env, 'n', 3)
    const lab = await env.s.deployment('lab')
    const first = await env.ok('bindNodeRoles', { deployment_id: lab, role: 'test-client', node_ids: ids })
    // test-client and test-library on each node, test-server once (on the first node).
    expect(first.created).toBe(7)
    for (const [i, nr] of first.noderoles.entries()) expect(nr).toEqual({ node_id: ids[i], id: await env.s.id('test-client', ids[i] as number) })
    const again = await env.ok('bindNodeRoles', { deployment_id: lab, role: 'test-client', node_ids: [...ids].reverse() })
    expect(again).toEqual({ deployment_id: lab, role: 'test-client', noderoles: [...first.noderoles].reverse(), created: 0 })
  })

  it('a bulk bind refused on one node is refused whole, naming the node, and writes nothing', async () => {
    await env.ok('importBarclamp', PROVIDES_BARCLAMP)
    const [n1, n2, n3] = (await nodes(env, 'n', 3)) as [number, number, number]
    const lab = await env.s.deployment('lab')
    await env.ok('bindNodeRole', { deployment_id: lab, node_id: n2, role: 'pv-postgres' })
    const before = await stored(env)
    expect(await env.refused('bindNodeRoles', { deployment_id: lab, role: 'pv-db', node_ids: [n1, n2, n3] })).toEqual({
      status: 409,
      kind: 'conflict',
      message: 'node n2.lab.test already has pv-postgres, which provides pv-db: bind one or the other'
    })
    expect(await env.refused('bindNodeRoles', { deployment_id: lab, role: 'pv-db', node_ids: [n1, 9999] })).toEqual({
      status: 404,
      kind: 'not_found',
      message: 'no node with id 9999'
    })
    expect(await stored(env)).toEqual(before)
  })

  it('a bulk bind listing a node twice is refused with 400 and writes nothing', async () => {
    const [n1, n2] = (await nodes(env, 'n', 2)) as [number, number]
    const lab = await env.s.deployment('lab')
    const before = await stored(env)
    expect(await env.refused('bindNodeRoles', { deployment_id: lab, role: 'test-server', node_ids: [n1, n2, n1] })).toEqual({
      status: 400,
      kind: 'invalid',
      message: `node ${n1} is listed twice in node_ids: list each node once`
    })
    expect(await stored(env)).toEqual(before)
  })
})
