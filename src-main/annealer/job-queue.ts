// The durable job queue in the store. A claim writes the noderole's todo -> transition move and its
// job row in one transaction, so a crash can never leave one without the other; completions are
// written in batches (one transaction for everything that finished since the last write).
import { sql, type Expression, type ExpressionBuilder } from 'kysely'
import type { JigOutcome } from '../jigs/jig'
import { transact, type DomainContext, type TxContext } from '../domain/context'
import { planFailure, planSuccess, type StatePlan } from '../domain/noderole-graph'
import { applyPlan, loadSubgraph, withPlan } from '../domain/noderole-graph-store'
import { ADVISORY_LOCK } from '../store/advisory-locks'
import { nextState, STATE_CODE } from '../domain/noderole-states'
import { idList } from '../store/id-list'
import { parseStringArray } from '../domain/attributes'
import { nextByPrecedence } from './role-precedence'

export interface ClaimedJob {
  readonly jobId: number
  readonly noderoleId: number
  readonly nodeId: number
  readonly attempt: number
}

/** What a jig returned; `nodeUnreachable` makes the noderole wait for its node instead of erring. */
export type JobResult = JigOutcome

export interface Completion {
  readonly job: ClaimedJob
  readonly result: JobResult
}

const MAX_OUTPUT = 256 * 1024
const clip = (text: string): string => (text.length > MAX_OUTPUT ? `${text.slice(0, MAX_OUTPUT)}\n[output truncated]` : text)

/** `CASE <column> WHEN id1 THEN v1 ... END`: one value per row, for batched updates. */
function byId<DB, TB extends keyof DB & string>(
  eb: ExpressionBuilder<DB, TB>,
  column: 'id',
  pairs: ReadonlyArray<readonly [number, string]>
): Expression<string> {
  const [first, ...rest] = pairs
  if (!first) return sql<string>`''`
  let c = eb.case(sql.ref(column)).when(sql.lit(first[0])).then(sql<string>`${first[1]}`)
  for (const [id, value] of rest) c = c.when(sql.lit(id)).then(sql<string>`${value}`)
  // Every updated row is listed, so ELSE never applies; it only keeps the type non-null.
  return c.else(sql<string>`''`).end()
}

export class JobQueue {
  constructor(
    private readonly ctx: DomainContext,
    private readonly workerId: string,
    private readonly activeJigs: readonly string[]
  ) {}

  /**
   * After a crash or restart: running jobs of dead workers are closed as abandoned, and every
   * transition noderole without a live job gets a queued one, so no run is ever lost.
   * On SQLite one process owns the store, so every running job is orphaned; on PostgreSQL only
   * those whose worker stopped beating its heart.
   */
  async recover(staleBefore: Date | null): Promise<number> {
    return transact(this.ctx, async (t) => {
      let orphaned = t.tx.updateTable('jobs').set({
        state: 'failed',
        finished_at: t.now,
        output: sql<string>`output || ${'\n[abandoned: the worker stopped before the run finished; re-queued]'}`
      })
      orphaned = orphaned.where('state', '=', 'running')
      if (staleBefore) orphaned = orphaned.where('heartbeat_at', '<', staleBefore.toISOString())
      await orphaned.execute()
      const lost = await t.tx
        .selectFrom('noderoles')
        .select(['noderoles.id', 'noderoles.node_id'])
        .where('noderoles.state', '=', STATE_CODE.transition)
        .where(({ not, exists, selectFrom }) =>
          not(
            exists(
              selectFrom('jobs')
                .select('jobs.id')
                .whereRef('jobs.noderole_id', '=', 'noderoles.id')
                .where('jobs.state', 'in', ['queued', 'running'])
            )
          )
        )
        .execute()
      for (const nr of lost) {
        const prior = await t.tx
          .selectFrom('jobs')
          .select((eb) => eb.fn.max('attempt').as('attempt'))
          .where('noderole_id', '=', nr.id)
          .executeTakeFirst()
        await t.tx
          .insertInto('jobs')
          .values({ noderole_id: nr.id, node_id: nr.node_id, state: 'queued', attempt: Number(prior?.attempt ?? 0) + 1, created_at: t.now, worker: null })
          .execute()
      }
      return lost.length
    })
  }

  /** Claims up to `room` runs: re-queued jobs first, then runnable todo noderoles, one per node. */
  async claim(room: number, maxJobs: number): Promise<ClaimedJob[]> {
    if (room <= 0) return []
    return transact(this.ctx, async (t) => {
      // On PostgreSQL several workers claim at once. The transaction-scoped advisory lock makes the
      // max_jobs count below and the claims that follow one step: without it two workers would each
      // see room for the last slot, or both pick the same node's next noderole. (SKIP LOCKED in
      // claimRunnable is for the rows other kinds of transaction hold.)
      if (t.kind === 'postgres') await sql`select pg_advisory_xact_lock(${sql.lit(ADVISORY_LOCK.claim)})`.execute(t.tx)
      const running = await t.tx.selectFrom('jobs').select('node_id').where('state', '=', 'running').execute()
      let space = Math.min(room, maxJobs - running.length)
      if (space <= 0) return []
      const busyNodes = new Set(running.map((r) => r.node_id))
      const claimed: ClaimedJob[] = []

      const queued = await t.tx
        .selectFrom('jobs')
        .innerJoin('nodes', 'nodes.id', 'jobs.node_id')
        .select(['jobs.id', 'jobs.noderole_id', 'jobs.node_id', 'jobs.attempt'])
        .where('jobs.state', '=', 'queued')
        .where('nodes.alive', '=', 1)
        .where('nodes.available', '=', 1)
        .orderBy('jobs.id')
        // Over-fetch: queued jobs of busy nodes are skipped below (one run per node), so reading
        // exactly `space` rows would often fill fewer slots than are free. ×4 covers a rack where
        // most queued jobs share nodes, without reading the whole queue.
        .limit(space * 4)
        .execute()
      for (const q of queued) {
        if (space <= 0) break
        if (busyNodes.has(q.node_id)) continue
        busyNodes.add(q.node_id)
        claimed.push({ jobId: q.id, noderoleId: q.noderole_id, nodeId: q.node_id, attempt: q.attempt })
        space--
      }
      if (claimed.length > 0) {
        await t.tx
          .updateTable('jobs')
          .set({ state: 'running', worker: this.workerId, started_at: t.now, heartbeat_at: t.now })
          .where('id', 'in', claimed.map((c) => c.jobId))
          .execute()
      }
      if (space > 0) claimed.push(...(await this.claimRunnable(t, space, busyNodes)))
      return claimed
    })
  }

  /**
   * Runnable (DESIGN.md §2.1): todo, committed deployment, node alive and available, noderole
   * available, jig active, and no other noderole on the node in transition or error.
   */
  private runnable(t: TxContext) {
    return t.tx
      .selectFrom('noderoles as nr')
      .innerJoin('nodes as n', 'n.id', 'nr.node_id')
      .innerJoin('deployments as d', 'd.id', 'nr.deployment_id')
      .innerJoin('roles as r', 'r.id', 'nr.role_id')
      .where('nr.state', '=', STATE_CODE.todo)
      .where('nr.available', '=', 1)
      .where('n.alive', '=', 1)
      .where('n.available', '=', 1)
      .where('d.state', '=', 'committed')
      .where('r.jig', 'in', [...this.activeJigs])
      .where(({ not, exists, selectFrom }) =>
        not(
          exists(
            selectFrom('noderoles as o')
              .select('o.id')
              .whereRef('o.node_id', '=', 'nr.node_id')
              .where('o.state', 'in', [STATE_CODE.transition, STATE_CODE.error])
          )
        )
      )
  }

  private async claimRunnable(t: TxContext, space: number, busyNodes: Set<number>): Promise<ClaimedJob[]> {
    let query = this.runnable(t)
      .select(['nr.id', 'nr.node_id'])
      // Uncorrelated, so evaluated once per read: whether the precedence pass below is needed at all.
      .select((eb) => eb.exists(eb.selectFrom('roles as p').select('p.id').where('p.precedes', '<>', '[]')).as('precedes_in_use'))
      .orderBy('nr.cohort')
      .orderBy('nr.id')
      // Over-fetch as above, more so: a node usually has many todo noderoles but runs one at a
      // time, and every busy node's rows may come first; ×8 plus one row per busy node keeps a
      // claim filling its slots in one read on deep graphs (bench:anneal measures it).
      .limit(space * 8 + busyNodes.size)
    // A candidate row some other transaction is changing right now (a completion's ripple, an
    // operator's edit) is passed over rather than waited for; the next claim round picks it up.
    if (t.kind === 'postgres') query = query.forUpdate('nr').skipLocked()
    const candidates = await query.execute()
    let picked: Array<{ id: number; node_id: number }> = []
    for (const c of candidates) {
      if (picked.length >= space) break
      if (busyNodes.has(c.node_id)) continue
      busyNodes.add(c.node_id)
      picked.push(c)
    }
    if (picked.length > 0 && candidates.some((c) => Boolean(c.precedes_in_use))) {
      picked = await this.applyPrecedence(t, picked, candidates)
    }
    if (picked.length === 0) return []
    const ids = picked.map((p) => p.id)
    // Every candidate is todo (the query says so), so one move from the table serves them all.
    const started = nextState('todo', { type: 'start' })
    await t.tx
      .updateTable('noderoles')
      .set((eb) => ({ state: STATE_CODE[started], run_count: eb('run_count', '+', 1), updated_at: t.now }))
      .where('id', 'in', ids)
      .execute()
    for (const id of ids) t.emit({ kind: 'noderole', id, action: 'updated', state: started })
    const jobs = await t.tx
      .insertInto('jobs')
      .values(
        picked.map((p) => ({
          noderole_id: p.id,
          node_id: p.node_id,
          state: 'running',
          attempt: 1,
          worker: this.workerId,
          created_at: t.now,
          started_at: t.now,
          heartbeat_at: t.now
        }))
      )
      .returning(['id', 'noderole_id', 'node_id'])
      .execute()
    return jobs.map((j) => ({ jobId: j.id, noderoleId: j.noderole_id, nodeId: j.node_id, attempt: 1 }))
  }

  /**
   * Soft ordering (DESIGN.md §2.1): on each picked node, a noderole that another runnable noderole
   * there precedes waits for it. The candidate read is limited, so the preceding noderole may not be
   * among its rows: one more read takes every runnable noderole on the picked nodes whose role
   * precedes anything, with the candidates already read there, and picks again by precedence.
   * `precedes` names roles, not what a role provides.
   */
  private async applyPrecedence(
    t: TxContext,
    picked: ReadonlyArray<{ id: number; node_id: number }>,
    candidates: ReadonlyArray<{ id: number; node_id: number }>
  ): Promise<Array<{ id: number; node_id: number }>> {
    const nodes = new Set(picked.map((p) => p.node_id))
    const read = candidates.filter((c) => nodes.has(c.node_id)).map((c) => c.id)
    let query = this.runnable(t)
      .select(['nr.id', 'nr.node_id', 'r.name', 'r.precedes'])
      .where('nr.node_id', 'in', [...nodes])
      .where((eb) => eb.or([eb('r.precedes', '<>', '[]'), eb('nr.id', 'in', read)]))
      .orderBy('nr.cohort')
      .orderBy('nr.id')
    // What this read may claim is locked like the candidates (the rows of those already locked
    // by this transaction are not skipped).
    if (t.kind === 'postgres') query = query.forUpdate('nr').skipLocked()
    const byNode = new Map<number, Array<{ id: number; node_id: number; role: string; precedes: string[] }>>()
    for (const r of await query.execute()) {
      const list = byNode.get(r.node_id) ?? []
      list.push({ id: r.id, node_id: r.node_id, role: r.name, precedes: parseStringArray(r.precedes) })
      byNode.set(r.node_id, list)
    }
    return picked.map((p) => {
      const next = nextByPrecedence(byNode.get(p.node_id) ?? [])
      return next ? { id: next.id, node_id: next.node_id } : p
    })
  }

  /** Writes a batch of finished runs: job rows, walls and logs, and the state ripple of each. */
  async complete(batch: readonly Completion[]): Promise<void> {
    if (batch.length === 0) return
    await transact(this.ctx, async (t) => {
      const ids = batch.map((c) => c.job.noderoleId)
      const alive = new Map(
        (
          await t.tx
            .selectFrom('noderoles')
            .innerJoin('nodes', 'nodes.id', 'noderoles.node_id')
            .select(['noderoles.id', 'nodes.alive', 'noderoles.state'])
            .where('noderoles.id', 'in', ids)
            .execute()
        ).map((r) => [r.id, { alive: r.alive === 1, inTransition: r.state === STATE_CODE.transition }])
      )
      const needDescendants = batch.some((c) => !c.result.ok || !alive.get(c.job.noderoleId)?.alive)
      const graph = await loadSubgraph(t.tx, ids, { descendants: needDescendants })
      // One statement per table for the whole batch: CASE picks each row's value.
      await t.tx
        .updateTable('jobs')
        .set((eb) => ({
          state: byId(eb, 'id', batch.map((c) => [c.job.jobId, c.result.ok ? 'done' : 'failed'])),
          output: byId(eb, 'id', batch.map((c) => [c.job.jobId, clip(c.result.log)])),
          finished_at: t.now
        }))
        .where('id', 'in', batch.map((c) => c.job.jobId))
        .execute()
      // A run that reached its node is a sighting: the node was alive then.
      const seen = [...new Set(batch.filter((c) => c.result.ok).map((c) => c.job.nodeId))]
      if (seen.length > 0) await t.tx.updateTable('nodes').set({ last_seen_at: t.now }).where('id', 'in', seen).execute()
      // A noderole deleted or moved by someone else meanwhile: its job is closed, nothing ripples.
      const live = batch.filter((c) => alive.get(c.job.noderoleId)?.inTransition)
      if (live.length === 0) return
      const wall = (c: Completion): string => (c.result.ok ? JSON.stringify(c.result.wall) : '')
      await t.tx
        .updateTable('noderoles')
        .set((eb) => ({
          runlog: byId(eb, 'id', live.map((c) => [c.job.noderoleId, clip(c.result.log)])),
          // A failed run keeps the wall of the last good one.
          wall: eb
            .case()
            // Empty when every run in the batch failed: idList keeps the IN valid.
            .when('id', 'in', idList(live.filter((c) => c.result.ok).map((c) => c.job.noderoleId)))
            .then(byId(eb, 'id', live.map((c) => [c.job.noderoleId, wall(c)])))
            .else(eb.ref('wall'))
            .end()
        }))
        .where('id', 'in', live.map((c) => c.job.noderoleId))
        .execute()
      const total: StatePlan = new Map()
      for (const { job, result } of live) {
        const info = alive.get(job.noderoleId)
        // A run that finished on a node marked dead meanwhile (or that could not reach its node)
        // is not a success the graph may build on: planSuccess with alive=false sends it back to
        // todo (or blocked) to run again when the node returns, instead of active or error.
        const plan = result.ok
          ? planSuccess(graph, job.noderoleId, info?.alive ?? false)
          : result.nodeUnreachable
            ? planSuccess(graph, job.noderoleId, false)
            : planFailure(graph, job.noderoleId)
        withPlan(graph, plan)
        for (const [id, state] of plan) total.set(id, state)
      }
      await applyPlan(t, total)
    })
  }

  /** Keeps this worker's running jobs marked live (PostgreSQL peers judge orphans by it). */
  async heartbeat(): Promise<void> {
    await this.ctx.db
      .updateTable('jobs')
      .set({ heartbeat_at: this.ctx.clock().toISOString() })
      .where('state', '=', 'running')
      .where('worker', '=', this.workerId)
      .execute()
  }
}
