// Issue 14 point 10, "why is this waiting": every todo and blocked noderole carries its reason and
// sentence, and the annealer counts waiting noderoles by reason, through the real HTTP API on both stores.
import { describe, expect, it } from 'vitest'
import { WAITING_REASONS, type NodeRole, type WaitingReason } from '../model'
import { NoopJig } from '../jigs/noop-jig'
import { TestJig } from '../jigs/test-jig'
import { useApiTestApp, type ApiTestEnv } from '../testing/api-test-app'
import { STORE_KINDS } from '../testing/test-stores'
import { waitingCounts } from './noderole-waiting'

const none = (): Record<WaitingReason, number> => Object.fromEntries(WAITING_REASONS.map((r) => [r, 0])) as Record<WaitingReason, number>

async function noderoles(env: ApiTestEnv, deployment_id?: number): Promise<Map<string, NodeRole>> {
  const list = await env.ok('listNodeRoles', deployment_id === undefined ? {} : { deployment_id })
  return new Map(list.map((nr) => [`${nr.role}@${nr.node.split('.')[0]}`, nr]))
}

async function waitingOf(env: ApiTestEnv, deployment_id: number): Promise<Record<string, NodeRole['waiting']>> {
  return Object.fromEntries([...(await noderoles(env, deployment_id))].map(([k, nr]) => [k, nr.waiting]))
}

describe.each(STORE_KINDS)('why a noderole waits, on %s', (kind) => {
  const env = useApiTestApp(kind)

  async function node(name: string, alive = true): Promise<number> {
    return (await env.ok('createNode', { name, alive })).id
  }

  /** lab with test-server on n1 (test-library below it), committed: library todo, server blocked. */
  async function committedServer(alive = true) {
    const n1 = await node('n1.lab.test', alive)
    const lab = (await env.ok('createDeployment', { name: 'lab' })).id
    await env.ok('bindNodeRole', { deployment_id: lab, node_id: n1, role: 'test-server' })
    await env.ok('commitDeployment', { id: lab })
    return { n1, lab }
  }

  it('a runnable todo noderole is ready and a blocked one names its parent and the state it is in', async () => {
    const { lab } = await committedServer()
    const nrs = await noderoles(env, lab)
    const library = nrs.get('test-library@n1')
    expect(await waitingOf(env, lab)).toEqual({
      'test-library@n1': { reason: 'ready', message: 'runnable: the annealer picks it up next', noderole_id: null },
      'test-server@n1': { reason: 'parent', message: 'waiting for parent test-library@n1.lab.test, which is todo', noderole_id: library?.id }
    })
    // One noderole by id carries the same.
    expect((await env.ok('getNodeRole', { id: library?.id ?? 0 })).waiting?.reason).toBe('ready')
  })

  it('proposed, transition, active and error noderoles carry no waiting reason', async () => {
    const n1 = await node('n1.lab.test')
    const lab = (await env.ok('createDeployment', { name: 'lab' })).id
    await env.ok('bindNodeRole', { deployment_id: lab, node_id: n1, role: 'test-server' })
    expect(Object.values(await waitingOf(env, lab))).toEqual([null, null])
    await env.ok('commitDeployment', { id: lab })
    await env.s.run(await env.s.id('test-library', n1), true)
    await env.s.run(await env.s.id('test-server', n1), false)
    expect(await env.s.states(lab)).toEqual({ 'test-library@n1': 'active', 'test-server@n1': 'error' })
    expect(Object.values(await waitingOf(env, lab))).toEqual([null, null])
  })

  it('an open proposal holds every committed noderole of the deployment (proposal_open)', async () => {
    const { lab } = await committedServer()
    await env.ok('proposeDeployment', { id: lab })
    const message = 'deployment lab has an open proposal: commit it to let its noderoles run'
    expect(await waitingOf(env, lab)).toEqual({
      'test-library@n1': { reason: 'proposal_open', message, noderole_id: null },
      'test-server@n1': { reason: 'proposal_open', message, noderole_id: null }
    })
  })

  it('a dead node holds its noderoles until it comes back (node_dead), before anything else', async () => {
    const { n1, lab } = await committedServer(false)
    // Unavailable too: dead is said first.
    await env.ok('updateNode', { id: n1, available: false })
    const message = 'node n1.lab.test is dead: its noderoles wait for it to come back'
    expect(await waitingOf(env, lab)).toEqual({
      'test-library@n1': { reason: 'node_dead', message, noderole_id: null },
      'test-server@n1': { reason: 'node_dead', message, noderole_id: null }
    })
  })

  it('an unavailable node holds its noderoles (node_unavailable)', async () => {
    const { n1, lab } = await committedServer()
    await env.ok('updateNode', { id: n1, available: false })
    const reasons = Object.values(await waitingOf(env, lab))
    expect(reasons.map((w) => w?.reason)).toEqual(['node_unavailable', 'node_unavailable'])
    expect(reasons[0]?.message).toBe('node n1.lab.test is not available: the annealer leaves it alone until it is made available again')
  })

  it('an unavailable noderole waits for its own switch (noderole_unavailable)', async () => {
    const { n1, lab } = await committedServer()
    await env.ok('updateNodeRole', { id: await env.s.id('test-library', n1), available: false })
    expect((await waitingOf(env, lab))['test-library@n1']).toEqual({
      reason: 'noderole_unavailable',
      message: 'this noderole is not available: the annealer leaves it alone until it is made available again',
      noderole_id: null
    })
  })

  it('a role whose jig is not active on this installation says so (jig_inactive)', async () => {
    const { lab } = await committedServer()
    // An installation that no longer runs the jig its roles were bound with (binding refuses it today).
    await env.app.ctx.db.updateTable('roles').set({ jig: 'ansible' }).where('name', '=', 'test-library').execute()
    expect((await waitingOf(env, lab))['test-library@n1']).toEqual({
      reason: 'jig_inactive',
      message: 'the ansible jig of role test-library is not active on this installation',
      noderole_id: null
    })
  })

  it('an error on a node halts its other noderoles and names the one in error (node_error)', async () => {
    const n1 = await node('n1.lab.test')
    const lab = (await env.ok('createDeployment', { name: 'lab' })).id
    await env.ok('bindNodeRole', { deployment_id: lab, node_id: n1, role: 'test-server' })
    await env.ok('bindNodeRole', { deployment_id: lab, node_id: n1, role: 'test-cluster' })
    await env.ok('commitDeployment', { id: lab })
    await env.s.run(await env.s.id('test-library', n1), true)
    const server = await env.s.id('test-server', n1)
    await env.s.run(server, false)
    expect((await env.s.states(lab))['test-cluster@n1']).toBe('todo')
    expect((await waitingOf(env, lab))['test-cluster@n1']).toEqual({
      reason: 'node_error',
      message: `test-server (noderole ${server}) on node n1.lab.test is in error: the node does no more work until it is retried`,
      noderole_id: server
    })
  })

  it('a blocked child waits for its first parent that is not active, lowest cohort first (parent)', async () => {
    const n1 = await node('n1.lab.test')
    const n2 = await node('n2.lab.test')
    const lab = (await env.ok('createDeployment', { name: 'lab' })).id
    await env.ok('bindNodeRole', { deployment_id: lab, node_id: n1, role: 'test-server' })
    await env.ok('bindNodeRole', { deployment_id: lab, node_id: n2, role: 'test-client' })
    await env.ok('commitDeployment', { id: lab })
    // Both of its parents are not active: the library on its own node (cohort 0) comes first.
    const client = (await noderoles(env, lab)).get('test-client@n2')
    expect(client?.waiting).toEqual({
      reason: 'parent',
      message: 'waiting for parent test-library@n2.lab.test, which is todo',
      noderole_id: await env.s.id('test-library', n2)
    })
    await env.s.run(await env.s.id('test-library', n2), true)
    await env.s.run(await env.s.id('test-library', n1), true)
    const server = await env.s.id('test-server', n1)
    await env.s.run(server, false)
    expect((await noderoles(env, lab)).get('test-client@n2')?.waiting).toEqual({
      reason: 'parent',
      message: 'waiting for parent test-server@n1.lab.test, which is error',
      noderole_id: server
    })
  })

  it('the counts by reason match the reasons of the listed noderoles, for every reason a stopped queue can show', async () => {
    await env.ok('importBarclamp', { name: 'legacy', roles: [{ name: 'legacy-role', jig: 'test' }] })
    // lab on n1: its library switched off (noderole_unavailable), the server above it (parent).
    const { n1 } = await committedServer()
    await env.ok('updateNodeRole', { id: await env.s.id('test-library', n1), available: false })
    // other on a dead node: client, server and library (node_dead).
    const other = (await env.ok('createDeployment', { name: 'other' })).id
    await env.ok('bindNodeRole', { deployment_id: other, node_id: await node('n2.lab.test', false), role: 'test-client' })
    await env.ok('commitDeployment', { id: other })
    // mixed: one noderole of each remaining kind, on nodes of their own.
    const mixed = (await env.ok('createDeployment', { name: 'mixed' })).id
    const [n3, n4, n5, n6] = [await node('n3.lab.test'), await node('n4.lab.test'), await node('n5.lab.test'), await node('n6.lab.test')]
    await env.ok('bindNodeRole', { deployment_id: mixed, node_id: n3, role: 'test-library' })
    await env.ok('bindNodeRole', { deployment_id: mixed, node_id: n4, role: 'test-server' })
    await env.ok('bindNodeRole', { deployment_id: mixed, node_id: n4, role: 'test-cluster' })
    await env.ok('bindNodeRole', { deployment_id: mixed, node_id: n5, role: 'legacy-role' })
    await env.ok('bindNodeRole', { deployment_id: mixed, node_id: n6, role: 'test-library' })
    await env.ok('commitDeployment', { id: mixed })
    await env.s.run(await env.s.id('test-library', n4), true)
    await env.s.run(await env.s.id('test-server', n4), false)
    await env.app.ctx.db.updateTable('roles').set({ jig: 'ansible' }).where('name', '=', 'legacy-role').execute()
    await env.ok('updateNode', { id: n6, available: false })
    // open: committed, then proposed again.
    const open = (await env.ok('createDeployment', { name: 'open' })).id
    await env.ok('bindNodeRole', { deployment_id: open, node_id: await node('n7.lab.test'), role: 'test-library' })
    await env.ok('commitDeployment', { id: open })
    await env.ok('proposeDeployment', { id: open })

    const listed = none()
    for (const nr of (await noderoles(env)).values()) if (nr.waiting) listed[nr.waiting.reason]++
    expect(listed).toEqual({
      ...none(),
      proposal_open: 1,
      node_dead: 3,
      node_unavailable: 1,
      noderole_unavailable: 1,
      jig_inactive: 1,
      node_error: 1,
      parent: 1,
      ready: 1
    })
    expect(await waitingCounts(env.app.ctx.db)).toEqual(listed)
  })
})

describe.each(STORE_KINDS)('the annealer counts waiting noderoles by reason, on %s', (kind) => {
  const env = useApiTestApp(kind, { anneal: true, realClock: true, jigs: [new NoopJig(), new TestJig()] })

  it('a busy node and a full queue are reasons, and every reason is counted in the annealer status', async () => {
    // Runs that last until the test ends (the annealer aborts them when it stops).
    await env.ok('importBarclamp', {
      name: 'slow',
      roles: ['slow-one', 'slow-two'].map((name) => ({ name, jig: 'test', attributes: { test_jig: { delay_ms: 600_000 } } }))
    })
    expect((await env.ok('getAnnealer', {})).waiting).toEqual(none())
    await env.ok('setAnnealer', { max_jobs: 1 })
    const n1 = (await env.ok('createNode', { name: 'n1.lab.test', alive: true })).id
    const n2 = (await env.ok('createNode', { name: 'n2.lab.test', alive: true })).id
    const n3 = (await env.ok('createNode', { name: 'n3.lab.test', alive: false })).id
    const lab = (await env.ok('createDeployment', { name: 'lab' })).id
    for (const [node_id, role] of [
      [n1, 'slow-one'],
      [n1, 'slow-two'],
      [n2, 'slow-one'],
      [n3, 'slow-one']
    ] as const) {
      await env.ok('bindNodeRole', { deployment_id: lab, node_id, role })
    }
    await env.ok('commitDeployment', { id: lab })
    const first = await env.s.id('slow-one', n1)
    await expect.poll(async () => (await env.ok('getNodeRole', { id: first })).state, { timeout: 10_000 }).toBe('transition')

    const nrs = await noderoles(env, lab)
    expect(nrs.get('slow-one@n1')?.waiting).toBeNull()
    expect(nrs.get('slow-two@n1')?.waiting).toEqual({
      reason: 'node_busy',
      message: `slow-one (noderole ${first}) is running on node n1.lab.test: one run per node at a time`,
      noderole_id: first
    })
    expect(nrs.get('slow-one@n2')?.waiting).toEqual({ reason: 'queue_full', message: 'the queue is full: 1 runs in flight, at most 1 at once', noderole_id: null })
    expect(nrs.get('slow-one@n3')?.waiting?.reason).toBe('node_dead')
    const status = await env.ok('getAnnealer', {})
    expect(status).toMatchObject({ max_jobs: 1, running: 1, queued: 0 })
    expect(status.waiting).toEqual({ ...none(), node_busy: 1, queue_full: 1, node_dead: 1 })
  })
})
