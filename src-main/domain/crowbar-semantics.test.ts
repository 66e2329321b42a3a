// Issue 14: how a running deployment changes (Crowbar 2.0's node_role.rb semantics), through the
// real operator API over HTTP, with the real annealer and the test jig, on both stores.
import { beforeEach, describe, expect, it } from 'vitest'
import type { JsonObject } from './attributes'
import { TestJig } from '../jigs/test-jig'
import { NoopJig } from '../jigs/noop-jig'
import type { JigRun } from '../jigs/jig'
import { useApiTestApp, httpCall, type ApiTestEnv } from '../testing/api-test-app'
import { STORE_KINDS } from '../testing/test-stores'

/** What each run was given: noderole id -> the attributes of every run, in order. */
class RunInputs {
  readonly runs = new Map<number, JsonObject[]>()
  readonly jig = new TestJig({
    observer: {
      started: (run: JigRun) => this.runs.set(run.noderoleId, [...(this.runs.get(run.noderoleId) ?? []), run.attributes]),
      finished: () => undefined
    }
  })
  last(id: number): JsonObject | undefined {
    return this.runs.get(id)?.at(-1)
  }
  count(id: number): number {
    return this.runs.get(id)?.length ?? 0
  }
}

async function settle(env: ApiTestEnv): Promise<void> {
  const annealer = env.app.annealer
  if (!annealer) throw new Error('the test app runs no annealer')
  // A completion wakes the next claim: idle twice in a row means nothing more became runnable.
  for (let i = 0; i < 50; i++) {
    await annealer.idle()
    await new Promise((r) => setTimeout(r, 20))
    if ((await annealer.status()).running === 0) {
      await annealer.idle()
      return
    }
  }
  throw new Error('the annealer did not settle in 50 rounds')
}

async function stateOf(env: ApiTestEnv, id: number): Promise<string> {
  return (await env.ok('getNodeRole', { id })).state
}

describe.each(STORE_KINDS)('a running deployment changes as in Crowbar 2.0, on %s', (kind) => {
  const inputs = new RunInputs()
  const env = useApiTestApp(kind, { anneal: true, realClock: true, jigs: [new NoopJig(), inputs.jig] })
  // Ids start again in each test's fresh store.
  beforeEach(() => inputs.runs.clear())

  /** lab: test-server on n1 with test-client on n2 (client -> server -> library), all active. */
  async function converged() {
    const n1 = (await env.ok('createNode', { name: 'n1.lab.test', alive: true })).id
    const n2 = (await env.ok('createNode', { name: 'n2.lab.test', alive: true })).id
    const lab = (await env.ok('createDeployment', { name: 'lab' })).id
    const server = (await env.ok('bindNodeRole', { deployment_id: lab, node_id: n1, role: 'test-server' })).id
    const client = (await env.ok('bindNodeRole', { deployment_id: lab, node_id: n2, role: 'test-client' })).id
    await env.ok('commitDeployment', { id: lab })
    await settle(env)
    for (const id of [server, client]) expect(await stateOf(env, id)).toBe('active')
    return { n1, n2, lab, server, client }
  }

  it('a committed change to an active noderole runs it again with the new data, and its descendants after it', async () => {
    const { lab, server, client } = await converged()
    const library = (await env.ok('getNodeRole', { id: server })).parents[0] as number
    await env.ok('proposeDeployment', { id: lab })
    await env.ok('setNodeRoleData', { id: server, data: { greeting: 'hello' } })
    // Nothing runs while the proposal is open: the edit is not live yet.
    await settle(env)
    expect(inputs.count(server)).toBe(1)
    await env.ok('commitDeployment', { id: lab })
    await settle(env)
    expect(await stateOf(env, server)).toBe('active')
    expect(inputs.count(server)).toBe(2)
    expect(inputs.last(server)).toMatchObject({ greeting: 'hello' })
    // The client below it ran again with what the new run produced; the library above did not.
    expect(inputs.count(client)).toBe(2)
    expect(inputs.count(library)).toBe(1)
    expect(await stateOf(env, client)).toBe('active')
  })

  it('committing the same data again (keys in another order) runs nothing again', async () => {
    const { lab, server } = await converged()
    await env.ok('proposeDeployment', { id: lab })
    await env.ok('setNodeRoleData', { id: server, data: { a: 1, b: { c: 2, d: 3 } } })
    await env.ok('commitDeployment', { id: lab })
    await settle(env)
    expect(inputs.count(server)).toBe(2)
    await env.ok('proposeDeployment', { id: lab })
    await env.ok('setNodeRoleData', { id: server, data: { b: { d: 3, c: 2 }, a: 1 } })
    await env.ok('commitDeployment', { id: lab })
    await settle(env)
    expect(inputs.count(server)).toBe(2)
  })

  it('fixing an errored noderole is one step: edit its data and commit, no retry', async () => {
    const n1 = (await env.ok('createNode', { name: 'n1.lab.test', alive: true })).id
    const lab = (await env.ok('createDeployment', { name: 'lab' })).id
    const server = (await env.ok('bindNodeRole', { deployment_id: lab, node_id: n1, role: 'test-server' })).id
    await env.ok('setNodeRoleData', { id: server, data: { test_jig: { fail: true, message: 'bad port' } } })
    await env.ok('commitDeployment', { id: lab })
    await settle(env)
    expect(await stateOf(env, server)).toBe('error')
    await env.ok('proposeDeployment', { id: lab })
    // A merge patch: null removes the failing switch, the rest stays.
    const patched = await env.ok('patchNodeRoleData', { id: server, data: { test_jig: { fail: null }, port: 8080 } })
    expect(patched.proposed_data).toEqual({ test_jig: { message: 'bad port' }, port: 8080 })
    await env.ok('commitDeployment', { id: lab })
    await settle(env)
    expect(await stateOf(env, server)).toBe('active')
    expect(inputs.count(server)).toBe(2)
    expect(inputs.last(server)).toMatchObject({ port: 8080 })
  })

  it('retry still puts an errored noderole back to todo with unchanged data, and only an errored one (409 otherwise)', async () => {
    const { server } = await converged()
    const refused = await env.refused('retryNodeRole', { id: server })
    expect(refused).toMatchObject({ status: 409, kind: 'conflict' })
    expect(refused.message).toMatch(/only a noderole in error can be retried/)
  })

  it('deployment-role data reaches every noderole of the role in the deployment, and a committed change runs them again', async () => {
    const { lab, server } = await converged()
    const closed = await env.refused('setDeploymentRoleData', { id: lab, role: 'test-server', data: { port: 1 } })
    expect(closed.status).toBe(409)
    await env.ok('proposeDeployment', { id: lab })
    await env.ok('setDeploymentRoleData', { id: lab, role: 'test-server', data: { port: 80, tls: { on: true } } })
    const patched = await env.ok('patchDeploymentRoleData', { id: lab, role: 'test-server', data: { tls: null, port: 443 } })
    expect(patched).toMatchObject({ role: 'test-server', proposed_data: { port: 443 }, committed_data: {} })
    await env.ok('commitDeployment', { id: lab })
    await settle(env)
    expect(inputs.count(server)).toBe(2)
    expect(inputs.last(server)).toMatchObject({ port: 443 })
    const detail = await env.ok('getNodeRole', { id: server })
    expect(detail.attributes.layers.deployment_role).toEqual({ port: 443 })
    const listed = await env.ok('listDeploymentRoles', { id: lab })
    expect(listed.find((r) => r.role === 'test-server')).toMatchObject({ committed_data: { port: 443 }, proposed_data: { port: 443 } })
    expect((await env.refused('setDeploymentRoleData', { id: lab, role: 'no-such-role', data: {} })).status).toBe(404)
  })

  it('merge patches are accepted with the RFC 7396 media type too', async () => {
    const { lab, server } = await converged()
    await env.ok('proposeDeployment', { id: lab })
    const url = `/api/v2/noderoles/${server}/data`
    const r = await httpCall(env.port, env.app.apiToken, 'PATCH', url, JSON.stringify({ data: { x: { y: 1 } } }), 'application/merge-patch+json')
    expect(r.status).toBe(200)
    expect((r.body as { proposed_data: unknown }).proposed_data).toEqual({ x: { y: 1 } })
    const text = await httpCall(env.port, env.app.apiToken, 'PATCH', url, JSON.stringify({ data: {} }), 'text/plain')
    expect(text.status).toBe(415)
  })

  it('re-runs an active noderole on demand, and its descendants after it; refuses one that is not active', async () => {
    const { server, client } = await converged()
    const todo = await env.ok('rerunNodeRole', { id: server })
    expect(['todo', 'transition']).toContain(todo.state)
    await settle(env)
    expect(inputs.count(server)).toBe(2)
    expect(inputs.count(client)).toBe(2)
    expect(await stateOf(env, client)).toBe('active')
    const n3 = (await env.ok('createNode', { name: 'n3.lab.test', alive: true })).id
    const other = (await env.ok('createDeployment', { name: 'other' })).id
    const proposed = (await env.ok('bindNodeRole', { deployment_id: other, node_id: n3, role: 'test-server' })).id
    const refused = await env.refused('rerunNodeRole', { id: proposed })
    expect(refused).toMatchObject({ status: 409 })
    expect(refused.message).toMatch(/only an active noderole can be re-run/)
  })

  it('an unavailable noderole is left alone by the annealer, and runs once made available again', async () => {
    const n1 = (await env.ok('createNode', { name: 'n1.lab.test', alive: true })).id
    const lab = (await env.ok('createDeployment', { name: 'lab' })).id
    const server = (await env.ok('bindNodeRole', { deployment_id: lab, node_id: n1, role: 'test-server' })).id
    const library = (await env.ok('getNodeRole', { id: server })).parents[0] as number
    expect((await env.ok('updateNodeRole', { id: server, available: false })).available).toBe(false)
    await env.ok('commitDeployment', { id: lab })
    await settle(env)
    expect(await stateOf(env, library)).toBe('active')
    expect(await stateOf(env, server)).toBe('todo')
    expect(inputs.count(server)).toBe(0)
    await env.ok('updateNodeRole', { id: server, available: true })
    await settle(env)
    expect(await stateOf(env, server)).toBe('active')
  })
})

describe.each(STORE_KINDS)('attributes, deletes and refusals as in Crowbar 2.0, on %s', (kind) => {
  const env = useApiTestApp(kind)

  async function chain() {
    await env.ok('importBarclamp', {
      name: 'chain',
      roles: [
        { name: 'chain-a', jig: 'test' },
        { name: 'chain-b', jig: 'test', requires: ['chain-a'] },
        { name: 'chain-c', jig: 'test', requires: ['chain-b'] }
      ]
    })
    const n1 = (await env.ok('createNode', { name: 'n1.lab.test', alive: true, hint: { admin_address: '192.0.2.10' } })).id
    const lab = (await env.ok('createDeployment', { name: 'lab' })).id
    const c = (await env.ok('bindNodeRole', { deployment_id: lab, node_id: n1, role: 'chain-c' })).id
    await env.ok('commitDeployment', { id: lab })
    const b = (await env.ok('getNodeRole', { id: c })).parents[0] as number
    const a = (await env.ok('getNodeRole', { id: b })).parents[0] as number
    return { n1, lab, a, b, c }
  }

  it('the run input merges the walls of every ancestor, the nearest winning, and carries the node hints', async () => {
    const { a, b, c } = await chain()
    await env.s.run(a, true, { from_a: 'a', shared: 'a' } as Record<string, string>)
    await env.s.run(b, true, { shared: 'b' })
    const detail = await env.ok('getNodeRole', { id: c })
    // chain-a is a grandparent: only every-ancestor injection brings its wall here.
    expect(detail.attributes.layers.parents_wall).toEqual({ from_a: 'a', shared: 'b' })
    expect(detail.attributes.merged).toMatchObject({ from_a: 'a', shared: 'b', hints: { admin_address: '192.0.2.10' } })
  })

  it('refusals are 409 and invalid input 400', async () => {
    const system = (await env.ok('listDeployments', {})).find((d) => d.system)?.id as number
    expect(await env.refused('proposeDeployment', { id: system })).toMatchObject({ status: 409, kind: 'conflict' })
    expect(await env.refused('deleteDeployment', { id: system })).toMatchObject({ status: 409, kind: 'conflict' })
    const { a } = await chain()
    expect(await env.refused('retryNodeRole', { id: a })).toMatchObject({ status: 409, kind: 'conflict' })
    const bad = await env.call('updateNodeRole', { id: a, available: 'no' as unknown as boolean })
    expect(bad.status).toBe(400)
  })

  it('a node whose noderoles feed a noderole that ran on another node cannot be deleted, and the refusal names it', async () => {
    const n1 = (await env.ok('createNode', { name: 'n1.lab.test', alive: true })).id
    const n2 = (await env.ok('createNode', { name: 'n2.lab.test', alive: true })).id
    const lab = (await env.ok('createDeployment', { name: 'lab' })).id
    const server = (await env.ok('bindNodeRole', { deployment_id: lab, node_id: n1, role: 'test-server' })).id
    const client = (await env.ok('bindNodeRole', { deployment_id: lab, node_id: n2, role: 'test-client' })).id
    await env.ok('commitDeployment', { id: lab })
    for (const id of [(await env.ok('getNodeRole', { id: server })).parents[0] as number, server]) await env.s.run(id)
    const refused = await env.refused('deleteNode', { id: n1 })
    expect(refused).toMatchObject({ status: 409, kind: 'conflict' })
    expect(refused.message).toContain(`test-client@n2.lab.test (noderole ${client}`)
    expect((await env.ok('listNodes', {})).map((n) => n.name)).toEqual(['n1.lab.test', 'n2.lab.test'])
    // Once the dependent binding is gone, the node goes (with its own noderoles).
    await env.s.run((await env.ok('getNodeRole', { id: client })).parents.find((p) => p !== server) as number)
    await env.ok('deleteNodeRole', { id: client })
    expect(await env.ok('deleteNode', { id: n1 })).toEqual({ deleted: n1 })
    expect((await env.ok('listNodeRoles', { node_id: n1 })).length).toBe(0)
  })

  it('deleting a node takes the proposed, never-run noderoles on other nodes that depend on it', async () => {
    const n1 = (await env.ok('createNode', { name: 'n1.lab.test', alive: true })).id
    const n2 = (await env.ok('createNode', { name: 'n2.lab.test', alive: true })).id
    const lab = (await env.ok('createDeployment', { name: 'lab' })).id
    await env.ok('bindNodeRole', { deployment_id: lab, node_id: n1, role: 'test-server' })
    const client = (await env.ok('bindNodeRole', { deployment_id: lab, node_id: n2, role: 'test-client' })).id
    expect(await env.ok('deleteNode', { id: n1 })).toEqual({ deleted: n1 })
    expect((await env.call('getNodeRole', { id: client })).status).toBe(404)
    // n2's own library stays: it does not depend on n1.
    expect((await env.ok('listNodeRoles', { node_id: n2 })).map((nr) => nr.role)).toEqual(['test-library'])
  })

  it('the last admin node can never be deleted', async () => {
    const admin1 = (await env.ok('createNode', { name: 'admin1.lab.test', admin: true, alive: true })).id
    const admin2 = (await env.ok('createNode', { name: 'admin2.lab.test', admin: true, alive: true })).id
    expect(await env.ok('deleteNode', { id: admin1 })).toEqual({ deleted: admin1 })
    const refused = await env.refused('deleteNode', { id: admin2 })
    expect(refused).toMatchObject({ status: 409 })
    expect(refused.message).toMatch(/last admin node/)
  })
})
