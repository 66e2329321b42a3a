// Why a todo or blocked noderole waits (issue 14): the first of DESIGN.md §2.1's runnable
// conditions it fails, then the queue's limits, as a reason and an operator's sentence. Set-based:
// a fixed number of queries for a list of any length, and grouped counts for the whole installation.
import { WAITING_REASONS, type NodeRoleWaiting, type WaitingReason } from '../model'
import type { Queryable, Tx } from '../store/database'
import { readSetting, SETTING } from '../store/settings'
import { BUILT_IN_JIGS } from './jigs-known'
import { STATE_CODE, stateFromCode } from './noderole-states'

type Db = Queryable | Tx

/** The annealer's limit while SETTING.maxJobs is unset (annealer.ts DEFAULT_MAX_JOBS: the domain does not import the annealer). */
const DEFAULT_MAX_JOBS = 10
/** Up to this many ids a query names them (`in (...)`); beyond it, reading every row is cheaper than many statements. */
const NAMED_IDS = 500

const WAITING_CODES = [STATE_CODE.todo, STATE_CODE.blocked]

/** What decides the reason: the same for one noderole or for a group of them that share it all. */
export interface WaitingFacts {
  readonly blocked: boolean
  readonly deploymentProposed: boolean
  readonly nodeAlive: boolean
  readonly nodeAvailable: boolean
  readonly available: boolean
  readonly jigActive: boolean
  /** Another noderole on its node is in error (a waiting noderole is never in error itself). */
  readonly nodeInError: boolean
  /** Another noderole on its node is in transition. */
  readonly nodeBusy: boolean
  readonly queueFull: boolean
}

/** The first reason that applies, in WAITING_REASONS' order. */
export function waitingReason(f: WaitingFacts): WaitingReason {
  if (f.deploymentProposed) return 'proposal_open'
  if (!f.nodeAlive) return 'node_dead'
  if (!f.nodeAvailable) return 'node_unavailable'
  if (!f.available) return 'noderole_unavailable'
  if (!f.jigActive) return 'jig_inactive'
  if (f.nodeInError) return 'node_error'
  if (f.blocked) return 'parent'
  if (f.nodeBusy) return 'node_busy'
  if (f.queueFull) return 'queue_full'
  return 'ready'
}

/** The columns of a noderole row the reason is read from. */
export interface WaitingSubject {
  readonly id: number
  readonly state: number
  readonly deployment_id: number
  readonly node_id: number
  readonly role_id: number
  readonly available: number
}

interface Other {
  readonly id: number
  readonly role_id: number
  readonly node_id: number
  readonly state: number
}

async function queueIsFull(db: Db): Promise<{ full: boolean; running: number; limit: number }> {
  const row = await db
    .selectFrom('jobs')
    .select((eb) => eb.fn.countAll().as('n'))
    .where('state', '=', 'running')
    .executeTakeFirst()
  const running = Number(row?.n ?? 0)
  const saved = await readSetting(db, SETTING.maxJobs)
  const limit = saved && /^\d+$/.test(saved) && Number(saved) > 0 ? Number(saved) : DEFAULT_MAX_JOBS
  return { full: running >= limit, running, limit }
}

const unique = (ids: Iterable<number>): number[] => [...new Set(ids)]

/**
 * Why each todo or blocked noderole of `subjects` waits (others are left out of the map). The
 * queries are the same few whatever the number of subjects: rows are named by id only while
 * there are few of them.
 */
export async function waitingOf(
  db: Db,
  subjects: readonly WaitingSubject[],
  activeJigs: ReadonlySet<string> = BUILT_IN_JIGS
): Promise<Map<number, NodeRoleWaiting>> {
  const out = new Map<number, NodeRoleWaiting>()
  const waiting = subjects.filter((s) => WAITING_CODES.includes(s.state))
  if (waiting.length === 0) return out
  const nodeIds = unique(waiting.map((s) => s.node_id))
  const named = <T>(ids: readonly number[], all: () => T, some: (ids: number[]) => T): T => (ids.length <= NAMED_IDS ? some([...ids]) : all())

  const proposed = new Map(
    (await db.selectFrom('deployments').select(['id', 'name']).where('state', '=', 'proposed').execute()).map((d) => [d.id, d.name])
  )
  const haltingQuery = db
    .selectFrom('noderoles')
    .select(['id', 'role_id', 'node_id', 'state'])
    .where('state', 'in', [STATE_CODE.error, STATE_CODE.transition])
    .orderBy('cohort')
    .orderBy('id')
  const halting: Other[] = await named(
    nodeIds,
    () => haltingQuery.execute(),
    (ids) => haltingQuery.where('node_id', 'in', ids).execute()
  )
  const inError = new Map<number, Other>()
  const busy = new Map<number, Other>()
  for (const h of halting) {
    const on = h.state === STATE_CODE.error ? inError : busy
    if (!on.has(h.node_id)) on.set(h.node_id, h)
  }

  // For each blocked subject, its first parent that is not active, lowest cohort first.
  const blockedIds = waiting.filter((s) => s.state === STATE_CODE.blocked).map((s) => s.id)
  const firstParent = new Map<number, Other & { readonly cohort: number }>()
  if (blockedIds.length > 0) {
    // Picked here rather than sorted by the store: ordering every edge costs more than reading it.
    const parentQuery = db
      .selectFrom('noderole_edges as e')
      .innerJoin('noderoles as p', 'p.id', 'e.parent_id')
      .innerJoin('noderoles as c', 'c.id', 'e.child_id')
      .select(['e.child_id', 'p.id', 'p.role_id', 'p.node_id', 'p.state', 'p.cohort'])
      .where('c.state', '=', STATE_CODE.blocked)
      .where('p.state', '!=', STATE_CODE.active)
    const rows = await named(
      blockedIds,
      () => parentQuery.execute(),
      (ids) => parentQuery.where('e.child_id', 'in', ids).execute()
    )
    for (const r of rows) {
      const best = firstParent.get(r.child_id)
      if (!best || r.cohort < best.cohort || (r.cohort === best.cohort && r.id < best.id)) firstParent.set(r.child_id, r)
    }
  }

  const wantedNodes = unique([...nodeIds, ...[...firstParent.values()].map((p) => p.node_id)])
  const nodeQuery = db.selectFrom('nodes').select(['id', 'name', 'alive', 'available'])
  const nodes = new Map(
    (await named(wantedNodes, () => nodeQuery.execute(), (ids) => nodeQuery.where('id', 'in', ids).execute())).map((n) => [n.id, n])
  )
  // Roles are few (the barclamps' definitions): one read of them all.
  const roles = new Map((await db.selectFrom('roles').select(['id', 'name', 'jig']).execute()).map((r) => [r.id, r]))
  const queue = waiting.some((s) => s.state === STATE_CODE.todo) ? await queueIsFull(db) : { full: false, running: 0, limit: 0 }

  const nodeName = (id: number): string => nodes.get(id)?.name ?? `node ${id}`
  const roleName = (id: number): string => roles.get(id)?.name ?? `role ${id}`
  for (const s of waiting) {
    const node = nodes.get(s.node_id)
    const role = roles.get(s.role_id)
    const error = inError.get(s.node_id)
    const running = busy.get(s.node_id)
    const reason = waitingReason({
      blocked: s.state === STATE_CODE.blocked,
      deploymentProposed: proposed.has(s.deployment_id),
      nodeAlive: node?.alive === 1,
      nodeAvailable: node?.available === 1,
      available: s.available === 1,
      jigActive: role !== undefined && activeJigs.has(role.jig),
      nodeInError: error !== undefined,
      nodeBusy: running !== undefined,
      queueFull: queue.full
    })
    const n = nodeName(s.node_id)
    const say = (message: string, noderole_id: number | null = null): NodeRoleWaiting => ({ reason, message, noderole_id })
    switch (reason) {
      case 'proposal_open':
        out.set(s.id, say(`deployment ${proposed.get(s.deployment_id) ?? s.deployment_id} has an open proposal: commit it to let its noderoles run`))
        break
      case 'node_dead':
        out.set(s.id, say(`node ${n} is dead: its noderoles wait for it to come back`))
        break
      case 'node_unavailable':
        out.set(s.id, say(`node ${n} is not available: the annealer leaves it alone until it is made available again`))
        break
      case 'noderole_unavailable':
        out.set(s.id, say('this noderole is not available: the annealer leaves it alone until it is made available again'))
        break
      case 'jig_inactive':
        out.set(s.id, say(`the ${role?.jig ?? 'unknown'} jig of role ${roleName(s.role_id)} is not active on this installation`))
        break
      case 'node_error':
        if (error) out.set(s.id, say(`${roleName(error.role_id)} (noderole ${error.id}) on node ${n} is in error: the node does no more work until it is retried`, error.id))
        break
      case 'parent': {
        const p = firstParent.get(s.id)
        out.set(
          s.id,
          p
            ? say(`waiting for parent ${roleName(p.role_id)}@${nodeName(p.node_id)}, which is ${stateFromCode(p.state)}`, p.id)
            : say('blocked until every parent is active')
        )
        break
      }
      case 'node_busy':
        if (running) out.set(s.id, say(`${roleName(running.role_id)} (noderole ${running.id}) is running on node ${n}: one run per node at a time`, running.id))
        break
      case 'queue_full':
        out.set(s.id, say(`the queue is full: ${queue.running} runs in flight, at most ${queue.limit} at once`))
        break
      case 'ready':
        out.set(s.id, say('runnable: the annealer picks it up next'))
        break
    }
  }
  return out
}

/**
 * How many todo and blocked noderoles wait for each reason, across the installation: the store
 * groups the rows by what decides the reason (a handful of groups), so none is read one by one.
 */
export async function waitingCounts(db: Db, activeJigs: ReadonlySet<string> = BUILT_IN_JIGS): Promise<Record<WaitingReason, number>> {
  const counts = Object.fromEntries(WAITING_REASONS.map((r) => [r, 0])) as Record<WaitingReason, number>
  // Per node: whether any of its noderoles is in error or in transition (few rows: errors and runs).
  const halting = db
    .selectFrom('noderoles')
    .select((eb) => [
      'node_id',
      eb.fn.max(eb.case().when('state', '=', STATE_CODE.error).then(1).else(0).end()).as('in_error'),
      eb.fn.max(eb.case().when('state', '=', STATE_CODE.transition).then(1).else(0).end()).as('busy')
    ])
    .where('state', 'in', [STATE_CODE.error, STATE_CODE.transition])
    .groupBy('node_id')
    .as('h')
  // Deployments and roles are few: grouped by their ids and looked up after (joining them per row
  // costs more than the whole count, measured on 200,000 noderoles).
  const groups = await db
    .selectFrom('noderoles as nr')
    .innerJoin('nodes as n', 'n.id', 'nr.node_id')
    .leftJoin(halting, 'h.node_id', 'nr.node_id')
    .select(['nr.state', 'nr.available', 'nr.deployment_id', 'nr.role_id', 'n.alive', 'n.available as node_available', 'h.in_error', 'h.busy'])
    .select((eb) => eb.fn.countAll().as('n'))
    .where('nr.state', 'in', WAITING_CODES)
    .groupBy(['nr.state', 'nr.available', 'nr.deployment_id', 'nr.role_id', 'n.alive', 'n.available', 'h.in_error', 'h.busy'])
    .execute()
  if (groups.length === 0) return counts
  const proposed = new Set((await db.selectFrom('deployments').select('id').where('state', '=', 'proposed').execute()).map((d) => d.id))
  const jigs = new Map((await db.selectFrom('roles').select(['id', 'jig']).execute()).map((r) => [r.id, r.jig]))
  const queueFull = groups.some((g) => g.state === STATE_CODE.todo) && (await queueIsFull(db)).full
  for (const g of groups) {
    const jig = jigs.get(g.role_id)
    const reason = waitingReason({
      blocked: g.state === STATE_CODE.blocked,
      deploymentProposed: proposed.has(g.deployment_id),
      nodeAlive: g.alive === 1,
      nodeAvailable: g.node_available === 1,
      available: g.available === 1,
      jigActive: jig !== undefined && activeJigs.has(jig),
      nodeInError: Number(g.in_error ?? 0) === 1,
      nodeBusy: Number(g.busy ?? 0) === 1,
      queueFull
    })
    counts[reason] += Number(g.n)
  }
  return counts
}
