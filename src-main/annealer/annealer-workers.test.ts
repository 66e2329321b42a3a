// Two annealer workers, each with its own connection pool, sharing one PostgreSQL queue: claims
// under FOR UPDATE SKIP LOCKED and an advisory lock keep the limits across both, and LISTEN/NOTIFY
// wakes a worker for work another process made runnable.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { ChangeFeed } from '../domain/change-feed'
import { scenario } from '../testing/domain-scenario'
import type { JigRun } from '../jigs/jig'
import { NoopJig } from '../jigs/noop-jig'
import { TestJig } from '../jigs/test-jig'
import { createRootLogger } from '../base/log'
import { openStore, type Store } from '../store/store'
import { startTestApp, type TestApp } from '../testing/test-app'
import { Annealer, type AnnealerOptions } from './annealer'

describe('annealer workers sharing PostgreSQL', () => {
  let app: TestApp | undefined
  let store: Store | undefined
  let worker: Annealer | undefined
  let dir: string | undefined
  afterEach(async () => {
    await worker?.stop()
    await store?.close()
    await app?.dispose()
    if (dir) await rm(dir, { recursive: true, force: true })
  })

  /** Another worker process's part: its own pool on the app's database, its own feed, the peer channel. */
  async function startSecondWorker(on: TestApp, options: Pick<AnnealerOptions, 'jigs' | 'localLimit' | 'peerPollMs'>): Promise<void> {
    dir = await mkdtemp(join(tmpdir(), 'crowbar-worker-'))
    store = await openStore({ dataDir: dir, databaseUrl: on.store.location })
    worker = new Annealer({
      ctx: { db: store.db, kind: 'postgres', clock: () => new Date(), feed: new ChangeFeed() },
      logger: createRootLogger('silent'),
      peers: store.peers,
      ...options
    })
    await worker.start()
  }

  it('converges one deployment with two workers, never more than the shared limit at once nor two on a node', async () => {
    let running = 0
    let peak = 0
    const busy = new Set<number>()
    let overlap = false
    const observer = {
      started(run: JigRun) {
        running++
        peak = Math.max(peak, running)
        if (busy.has(run.node.nodeId)) overlap = true
        busy.add(run.node.nodeId)
      },
      finished(run: JigRun) {
        running--
        busy.delete(run.node.nodeId)
      }
    }
    app = await startTestApp('postgres', { anneal: true, realClock: true, jigs: [new NoopJig(), new TestJig({ observer })], localLimit: 2 })
    await app.annealer?.setMaxJobs(3)
    await startSecondWorker(app, { jigs: [new NoopJig(), new TestJig({ observer })], localLimit: 2 })

    const s = scenario(app.ctx)
    await s.barclamp({
      name: 'chain',
      roles: Array.from({ length: 4 }, (_, i) => ({
        name: `chain-${i + 1}`,
        jig: 'test',
        requires: i === 0 ? [] : [`chain-${i}`],
        flags: { implicit: true },
        attributes: { test_jig: { delay_ms: 100 } }
      }))
    })
    const lab = await s.deployment('lab')
    for (let i = 1; i <= 8; i++) await s.bind(lab, await s.node(`n${i}.lab.test`), 'chain-4')
    await s.commit(lab)
    const deadline = Date.now() + 30_000
    for (let i = 0; i < 600 && Date.now() < deadline; i++) {
      if (Object.values(await s.states(lab)).every((st) => st === 'active')) break
      await new Promise((r) => setTimeout(r, 50))
    }
    const states = Object.values(await s.states(lab))
    expect(states).toHaveLength(32)
    expect(states.every((st) => st === 'active')).toBe(true)
    expect(overlap).toBe(false)
    expect(peak).toBeLessThanOrEqual(3)
    const workers = await app.ctx.db.selectFrom('jobs').select('worker').distinct().execute()
    expect(workers).toHaveLength(2)
  }, 60_000)

  it('wakes a worker at once for work another process committed (NOTIFY), with no polling at all', async () => {
    // The app's own annealer has no test jig: only the second worker can run these roles, and it
    // never looks at the queue by itself, so it can only learn of the commit from the signal.
    app = await startTestApp('postgres', { anneal: true, realClock: true, jigs: [new NoopJig()] })
    await startSecondWorker(app, { jigs: [new NoopJig(), new TestJig()], peerPollMs: 0 })

    // Binding asks which jigs run here; in this cluster the second worker's do, the test jig too.
    const s = scenario({ ...app.ctx, activeJigs: new Set(['noop', 'test']) })
    await s.barclamp({
      name: 'pair',
      roles: [
        { name: 'pair-1', jig: 'test', requires: [], flags: { implicit: true }, attributes: {} },
        { name: 'pair-2', jig: 'test', requires: ['pair-1'], flags: { implicit: true }, attributes: {} }
      ]
    })
    const lab = await s.deployment('lab')
    for (let i = 1; i <= 3; i++) await s.bind(lab, await s.node(`p${i}.lab.test`), 'pair-2')
    const committed = Date.now()
    await s.commit(lab)
    let states: string[] = []
    for (let i = 0; i < 200 && Date.now() - committed < 10_000; i++) {
      states = Object.values(await s.states(lab))
      if (states.length === 6 && states.every((st) => st === 'active')) break
      await new Promise((r) => setTimeout(r, 50))
    }
    expect(states).toEqual(Array.from({ length: 6 }, () => 'active'))
    const ran = await app.ctx.db.selectFrom('jobs').select('worker').distinct().execute()
    expect(ran).toHaveLength(1)
  }, 30_000)
})
