// bench:anneal — 1,000 nodes x 20 roles (20,000 noderoles in real requirement chains) converged by
// the annealer with the test jig at 0 delay on the embedded SQLite store, against a raw floor: the
// same number of noderole state writes done by a plain Kysely loop on the same store, in the same run.
// bind_seconds: one bulk bind of the top role to every node, and the commit (BENCH_NODES sets the size).
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { BarclampDefinitionSchema } from '../src-main/model'
import { Annealer } from '../src-main/annealer/annealer'
import { startApp } from '../src-main/app'
import { importBarclamp } from '../src-main/domain/barclamps'
import { commitDeployment, createDeployment } from '../src-main/domain/deployments'
import { bindNodeRoles } from '../src-main/domain/noderole-binding'
import { STATE_CODE } from '../src-main/domain/noderole-states'
import { createNode } from '../src-main/domain/nodes'
import { NoopJig } from '../src-main/jigs/noop-jig'
import { TestJig } from '../src-main/jigs/test-jig'
import { createRootLogger } from '../src-main/base/log'

const NODES = Number(process.env.BENCH_NODES ?? 1000)
const ROLES = 20
const MAX_JOBS = Number(process.env.BENCH_MAX_JOBS ?? 10)

/** A chain of 20 roles per node; every fourth also requires the role three back (diamonds). */
function benchBarclamp() {
  return BarclampDefinitionSchema.parse({
    name: 'bench',
    roles: Array.from({ length: ROLES }, (_, i) => {
      const requires = i === 0 ? [] : [`bench-${i}`]
      if (i >= 3 && i % 4 === 0) requires.push(`bench-${i - 2}`)
      return { name: `bench-${i + 1}`, jig: 'test', requires, flags: { implicit: true }, attributes: { test_jig: { delay_ms: 0 } } }
    })
  })
}

const seconds = (start: bigint): number => Number(process.hrtime.bigint() - start) / 1e9

async function main(): Promise<void> {
  const dataDir = await mkdtemp(join(tmpdir(), 'crowbar-bench-anneal-'))
  const logger = createRootLogger('silent')
  const app = await startApp({ dataDir, logger, anneal: false, bootstrap: false })
  try {
    const ctx = app.ctx
    await importBarclamp(ctx, benchBarclamp())
    const setup = process.hrtime.bigint()
    const deployment = await createDeployment(ctx, { name: 'bench', description: '' })
    const nodeIds: number[] = []
    for (let i = 0; i < NODES; i++) {
      const node = await createNode(ctx, { name: `n${i}.bench.test`, description: '', admin: false, alive: true, available: true, bootenv: 'local', hint: {} })
      nodeIds.push(node.id)
      if ((i + 1) % 1000 === 0) process.stderr.write(`\rsetup: created ${i + 1}/${NODES} nodes`)
    }
    const nodesSeconds = seconds(setup)
    process.stderr.write(`\rsetup: ${NODES} nodes created in ${nodesSeconds.toFixed(1)} s\n`)
    // One bulk bind for every node (the operator API's POST /noderoles/bulk), then the commit.
    const bindStart = process.hrtime.bigint()
    await bindNodeRoles(ctx, { deployment_id: deployment.id, role: `bench-${ROLES}`, node_ids: nodeIds })
    const boundSeconds = seconds(bindStart)
    await commitDeployment(ctx, deployment.id)
    const bindSeconds = seconds(bindStart)
    process.stderr.write(`setup: bound in ${boundSeconds.toFixed(1)} s, bound and committed in ${bindSeconds.toFixed(1)} s\n`)
    const noderoles = Number(
      (await ctx.db.selectFrom('noderoles').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n
    )

    let stateWrites = 0
    const count = ctx.feed.subscribe((e) => {
      if (e.kind === 'noderole' && e.state !== undefined) stateWrites++
    })
    const annealer = new Annealer({ ctx, jigs: [new NoopJig(), new TestJig()], logger })
    const progress = setInterval(() => {
      void ctx.db
        .selectFrom('noderoles')
        .select((eb) => eb.fn.countAll().as('n'))
        .where('state', '=', STATE_CODE.active)
        .executeTakeFirst()
        .then((r) => process.stderr.write(`\ranneal: ${Number(r?.n ?? 0)}/${noderoles} active`))
    }, 1000)
    const annealStart = process.hrtime.bigint()
    await annealer.start()
    await annealer.setMaxJobs(MAX_JOBS)
    await annealer.idle()
    const annealSeconds = seconds(annealStart)
    clearInterval(progress)
    await annealer.stop()
    count()
    const notActive = await ctx.db.selectFrom('noderoles').select('id').where('state', '!=', STATE_CODE.active).execute()
    if (notActive.length > 0) throw new Error(`${notActive.length} noderoles did not converge`)
    process.stderr.write(`\ranneal: ${noderoles}/${noderoles} active in ${annealSeconds.toFixed(2)} s\n`)

    // The floor: as many single-row noderole state writes, one statement each, through Kysely.
    const ids = (await ctx.db.selectFrom('noderoles').select('id').orderBy('id').execute()).map((r) => r.id)
    const floorStart = process.hrtime.bigint()
    for (let i = 0; i < stateWrites; i++) {
      const id = ids[i % ids.length] as number
      await ctx.db.updateTable('noderoles').set({ state: i % 2 === 0 ? STATE_CODE.transition : STATE_CODE.active }).where('id', '=', id).execute()
    }
    const floorSeconds = seconds(floorStart)

    const result = {
      nodes: NODES,
      noderoles,
      bind_seconds: Number(bindSeconds.toFixed(3)),
      seconds: Number(annealSeconds.toFixed(3)),
      per_second: Math.round(noderoles / annealSeconds),
      floor_seconds: Number(floorSeconds.toFixed(3)),
      ratio_to_floor: Number((annealSeconds / floorSeconds).toFixed(2)),
      state_writes: stateWrites,
      max_jobs: MAX_JOBS,
      store: 'sqlite'
    }
    await mkdir('bench/results', { recursive: true })
    await writeFile('bench/results/anneal.json', `${JSON.stringify(result, null, 2)}\n`)
    console.log(
      [
        `bench:anneal — ${NODES} nodes x ${ROLES} roles = ${noderoles} noderoles, test jig at 0 ms, max ${MAX_JOBS} jobs, SQLite`,
        `  bind:     ${bindSeconds.toFixed(2)} s to bind every node in one bulk bind and commit (goal: 60 or less at 10,000 nodes)`,
        `  annealer: ${annealSeconds.toFixed(2)} s, ${result.per_second} noderoles/s (${stateWrites} state writes)`,
        `  floor:    ${floorSeconds.toFixed(2)} s for ${stateWrites} plain Kysely state writes`,
        `  ratio to floor: ${result.ratio_to_floor} (goal: 3 or less)`,
        `  written: bench/results/anneal.json`
      ].join('\n')
    )
  } finally {
    await app.stop()
    await rm(dataDir, { recursive: true, force: true })
  }
}

await main()
