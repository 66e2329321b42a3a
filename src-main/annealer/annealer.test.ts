import { afterEach, describe, expect, it } from 'vitest'
import { scenario } from '../testing/domain-scenario'
import { getNodeRoleDetail, setNodeRoleData } from '../domain/noderoles'
import { updateNode } from '../domain/nodes'
import type { JigRun } from '../jigs/jig'
import { NoopJig } from '../jigs/noop-jig'
import { TestJig } from '../jigs/test-jig'
import { STORE_KINDS } from '../testing/test-stores'
import { startTestApp, type TestApp, type TestAppOptions } from '../testing/test-app'
import { listJobs } from './jobs'

const chain = (length: number, delayMs: number) => ({
  name: 'chain',
  roles: Array.from({ length }, (_, i) => ({
    name: `chain-${i + 1}`,
    jig: 'test',
    requires: i === 0 ? [] : [`chain-${i}`],
    // Implicit: each node gets its own chain instead of borrowing the first node's.
    flags: { implicit: true },
    attributes: { test_jig: { delay_ms: delayMs } }
  }))
})

describe.each(STORE_KINDS)('annealer on %s', (kind) => {
  let app: TestApp | undefined
  afterEach(async () => {
    await app?.dispose()
    app = undefined
  })

  async function start(options: TestAppOptions = {}) {
    app = await startTestApp(kind, { anneal: true, realClock: true, ...options })
    if (!app.annealer) throw new Error('no annealer')
    return { app, s: scenario(app.ctx), annealer: app.annealer }
  }

  it('converges a committed deployment to active, each wall reaching its children as input', async () => {
    const { app, s, annealer } = await start()
    const n1 = await s.node('n1.lab.test')
    const n2 = await s.node('n2.lab.test')
    const lab = await s.deployment('lab')
    await s.bind(lab, n2, 'test-server')
    const client = await s.bind(lab, n1, 'test-client')
    await s.commit(lab)
    await annealer.idle()
    expect(Object.values(await s.states(lab))).toEqual(['active', 'active', 'active', 'active'])
    const detail = await getNodeRoleDetail(app.ctx.db, client)
    // test-server (on n2) and test-library (on n1) each left a wall naming where they ran.
    expect(detail.attributes.layers.parents_wall).toEqual({
      test_jig: { 'test-server': { node: 'n2.lab.test' }, 'test-library': { node: 'n1.lab.test' } }
    })
    const jobs = await listJobs(app.ctx.db, { limit: 100 })
    expect(jobs).toHaveLength(4)
    expect(jobs.every((j) => j.state === 'done' && j.attempt === 1 && j.finished_at !== null)).toBe(true)
  })

  it('leaves a failed run in error with its log, children blocked, and runs it again once fixed data is committed (no retry)', async () => {
    const { app, s, annealer } = await start()
    const n1 = await s.node('n1.lab.test')
    const lab = await s.deployment('lab')
    await s.bind(lab, n1, 'test-server')
    const lib = await s.id('test-library', n1)
    await setNodeRoleData(app.ctx, lib, { test_jig: { fail: true, message: 'disk on fire' } })
    await s.commit(lab)
    await annealer.idle()
    expect(await s.states(lab)).toEqual({ 'test-library@n1': 'error', 'test-server@n1': 'blocked' })
    expect((await getNodeRoleDetail(app.ctx.db, lib)).runlog).toBe('disk on fire')
    expect((await listJobs(app.ctx.db, { noderole_id: lib, limit: 10 }))[0]?.state).toBe('failed')

    await s.propose(lab)
    await setNodeRoleData(app.ctx, lib, { test_jig: { fail: false } })
    await s.commit(lab)
    await annealer.idle()
    expect(await s.states(lab)).toEqual({ 'test-library@n1': 'active', 'test-server@n1': 'active' })
  })

  it('never runs two jobs on one node, nor more than the limit at once', async () => {
    let running = 0
    let peak = 0
    const perNode = new Map<number, number>()
    let nodeOverlap = false
    const observer = {
      started(run: JigRun) {
        running++
        peak = Math.max(peak, running)
        const n = (perNode.get(run.node.nodeId) ?? 0) + 1
        perNode.set(run.node.nodeId, n)
        if (n > 1) nodeOverlap = true
      },
      finished(run: JigRun) {
        running--
        perNode.set(run.node.nodeId, (perNode.get(run.node.nodeId) ?? 1) - 1)
      }
    }
    const { s, annealer } = await start({ jigs: [new NoopJig(), new TestJig({ observer })] })
    await annealer.setMaxJobs(3)
    await s.barclamp(chain(4, 15))
    const lab = await s.deployment('lab')
    for (let i = 1; i <= 6; i++) await s.bind(lab, await s.node(`n${i}.lab.test`), 'chain-4')
    await s.commit(lab)
    await annealer.idle()
    const states = Object.values(await s.states(lab))
    expect(states).toHaveLength(24)
    expect(states.every((st) => st === 'active')).toBe(true)
    expect(nodeOverlap).toBe(false)
    expect(peak).toBe(3)
    expect((await annealer.status()).max_jobs).toBe(3)
  })

  it('runs nothing on a dead or unavailable node, and starts when it becomes alive and available', async () => {
    const { s, annealer, app } = await start()
    const n1 = await s.node('n1.lab.test', false)
    const lab = await s.deployment('lab')
    await s.bind(lab, n1, 'test-library')
    await s.commit(lab)
    await annealer.idle()
    expect(await s.states(lab)).toEqual({ 'test-library@n1': 'todo' })
    await updateNode(app.ctx, n1, { available: false })
    await updateNode(app.ctx, n1, { alive: true })
    await annealer.idle()
    expect(await s.states(lab)).toEqual({ 'test-library@n1': 'todo' })
    await updateNode(app.ctx, n1, { available: true })
    await annealer.idle()
    expect(await s.states(lab)).toEqual({ 'test-library@n1': 'active' })
  })

  it('runs role hooks after the change that fires them', async () => {
    const { s, annealer, app } = await start()
    const seen: string[] = []
    app.hooks.register('test-library', {
      on_todo: (e) => void seen.push(`todo:${e.role}`),
      on_transition: (e) => void seen.push(`transition:${e.role}`),
      on_active: (e) => void seen.push(`active:${e.role}`),
      on_node_create: (id) => void seen.push(`node:${id}`)
    })
    const n1 = await s.node('n1.lab.test')
    const lab = await s.deployment('lab')
    await s.bind(lab, n1, 'test-library')
    await s.commit(lab)
    await annealer.idle()
    await app.hooks.idle()
    expect(seen).toEqual([`node:${n1}`, 'todo:test-library', 'transition:test-library', 'active:test-library'])
  })
})
