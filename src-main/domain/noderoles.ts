// Reading noderoles (with their graph neighbours and attribute layers), operator data, retry.
import { sql } from 'kysely'
import type { NodeRole, NodeRoleDetail } from '../model'
import type { Queryable, Tx } from '../store/database'
import { deepMerge, mergeLayers, mergeWalls, mergePatch, parseJsonObject, type AttributeLayers, type JsonObject } from './attributes'
import { transact, type DomainContext } from './context'
import { conflict, notFound } from '../model/errors'
import { planRerun, planRetry } from './noderole-graph'
import { applyPlan, loadGraph } from './noderole-graph-store'
import { stateFromCode } from './noderole-states'
import { waitingOf } from './noderole-waiting'

function baseQuery(db: Queryable | Tx) {
  return db
    .selectFrom('noderoles')
    .innerJoin('roles', 'roles.id', 'noderoles.role_id')
    .innerJoin('nodes', 'nodes.id', 'noderoles.node_id')
    .selectAll('noderoles')
    .select(['roles.name as role_name', 'nodes.name as node_name'])
}

type NodeRoleJoined = Awaited<ReturnType<ReturnType<typeof baseQuery>['executeTakeFirstOrThrow']>>

/** `activeJigs`: the jigs this installation runs (activeJigsOf(ctx)), for the jig_inactive reason. */
async function toNodeRoles(db: Queryable | Tx, rows: NodeRoleJoined[], activeJigs?: ReadonlySet<string>): Promise<NodeRole[]> {
  if (rows.length === 0) return []
  const ids = new Set(rows.map((r) => r.id))
  // One read of the edge table beats one query per noderole for every list size we serve.
  const edges = await db.selectFrom('noderole_edges').select(['parent_id', 'child_id']).execute()
  const parents = new Map<number, number[]>()
  const children = new Map<number, number[]>()
  for (const e of edges) {
    if (ids.has(e.child_id)) parents.set(e.child_id, [...(parents.get(e.child_id) ?? []), e.parent_id])
    if (ids.has(e.parent_id)) children.set(e.parent_id, [...(children.get(e.parent_id) ?? []), e.child_id])
  }
  const waiting = await waitingOf(db, rows, activeJigs)
  return rows.map((r) => ({
    id: r.id,
    deployment_id: r.deployment_id,
    role_id: r.role_id,
    role: r.role_name,
    node_id: r.node_id,
    node: r.node_name,
    state: stateFromCode(r.state),
    cohort: r.cohort,
    available: r.available === 1,
    parents: parents.get(r.id) ?? [],
    children: children.get(r.id) ?? [],
    run_count: r.run_count,
    waiting: waiting.get(r.id) ?? null,
    created_at: r.created_at,
    updated_at: r.updated_at
  }))
}

export async function listNodeRoles(
  db: Queryable,
  filter: { deployment_id?: number | undefined; node_id?: number | undefined },
  activeJigs?: ReadonlySet<string>
): Promise<NodeRole[]> {
  let q = baseQuery(db)
  if (filter.deployment_id !== undefined) q = q.where('noderoles.deployment_id', '=', filter.deployment_id)
  if (filter.node_id !== undefined) q = q.where('noderoles.node_id', '=', filter.node_id)
  return toNodeRoles(db, await q.orderBy('noderoles.cohort').orderBy('noderoles.id').execute(), activeJigs)
}

export async function getNodeRole(db: Queryable | Tx, id: number, activeJigs?: ReadonlySet<string>): Promise<NodeRole> {
  const row = await baseQuery(db).where('noderoles.id', '=', id).executeTakeFirst()
  if (!row) throw notFound(`no noderole with id ${id}`)
  return (await toNodeRoles(db, [row], activeJigs))[0] as NodeRole
}

/** The layers that make a noderole's run input (DESIGN.md §2). */
export async function attributeLayers(db: Queryable | Tx, id: number): Promise<AttributeLayers> {
  const input = (await runInputs(db, [id])).get(id)
  if (!input) throw notFound(`no noderole with id ${id}`)
  return input.layers
}

export interface RunInput {
  readonly role: string
  readonly jig: string
  readonly scripts: string
  readonly node: string
  readonly layers: AttributeLayers
}

// Keeps each statement's parameter count well under SQLite's and PostgreSQL's limits.
const CHUNK = 500

interface Ancestor {
  readonly id: number
  readonly cohort: number
  readonly wall: string
  readonly sysdata: string
}

/**
 * Every ancestor of each noderole (parents, their parents, ...: node_role.rb's all_parents) in cohort
 * order. An ancestor's cohort is always below its descendants', so merging in this order lets the
 * nearer (downstream) ancestor win, as Crowbar's merge by cohort does. One recursive query for the
 * whole batch (UNION, not UNION ALL: each (noderole, ancestor) pair once, so diamonds and even a
 * hand-made cycle end); the annealer calls this for every claim, so it must not cost a query per
 * level of the graph.
 */
async function ancestorsInCohortOrder(db: Queryable | Tx, ids: readonly number[]): Promise<Map<number, Ancestor[]>> {
  const out = new Map<number, Ancestor[]>()
  for (let i = 0; i < ids.length; i += CHUNK) {
    const batch = ids.slice(i, i + CHUNK)
    const rows = await sql<{ child: number; id: number; cohort: number; wall: string; sysdata: string }>`
      with recursive ancestry(child, ancestor) as (
        select child_id, parent_id from noderole_edges where child_id in (${sql.join(batch)})
        union
        select ancestry.child, e.parent_id from ancestry join noderole_edges e on e.child_id = ancestry.ancestor
      )
      select ancestry.child as child, n.id as id, n.cohort as cohort, n.wall as wall, n.sysdata as sysdata
      from ancestry join noderoles n on n.id = ancestry.ancestor
      order by ancestry.child, n.cohort, n.id`.execute(db)
    for (const r of rows.rows) {
      // A noderole is never its own ancestor (a hand-made cycle would say so).
      if (r.id === r.child) continue
      const list = out.get(r.child) ?? []
      list.push({ id: r.id, cohort: r.cohort, wall: r.wall, sysdata: r.sysdata })
      out.set(r.child, list)
    }
  }
  return out
}

/** Everything the jigs need for a batch of runs, in a fixed number of queries whatever its size. */
export async function runInputs(db: Queryable | Tx, ids: readonly number[]): Promise<Map<number, RunInput>> {
  const out = new Map<number, RunInput>()
  if (ids.length === 0) return out
  const rows = await db
    .selectFrom('noderoles')
    .innerJoin('roles', 'roles.id', 'noderoles.role_id')
    .innerJoin('nodes', 'nodes.id', 'noderoles.node_id')
    .leftJoin('deployment_roles as dr', (join) =>
      join.onRef('dr.deployment_id', '=', 'noderoles.deployment_id').onRef('dr.role_id', '=', 'noderoles.role_id')
    )
    .select([
      'noderoles.id',
      'noderoles.sysdata',
      'noderoles.committed_data',
      'roles.name as role',
      'roles.jig',
      'roles.scripts',
      'roles.template',
      'nodes.name as node',
      'nodes.hint',
      'dr.committed_data as deployment_data'
    ])
    .where('noderoles.id', 'in', [...ids])
    .execute()
  const ancestors = await ancestorsInCohortOrder(db, ids)
  for (const r of rows) {
    // What an ancestor passes down: the system data the framework gave it, then what its run produced.
    const walls = (ancestors.get(r.id) ?? []).flatMap((a) => [parseJsonObject(a.sysdata), parseJsonObject(a.wall)])
    out.set(r.id, {
      role: r.role,
      jig: r.jig,
      scripts: r.scripts,
      node: r.node,
      layers: {
        role_defaults: parseJsonObject(r.template),
        deployment_role: parseJsonObject(r.deployment_data ?? '{}'),
        parents_wall: mergeWalls(walls),
        // The framework's data: the node's hints (DESIGN.md §2.1), then what bind hooks set.
        system: deepMerge({ hints: parseJsonObject(r.hint) }, parseJsonObject(r.sysdata)),
        user: parseJsonObject(r.committed_data)
      }
    })
  }
  return out
}

export async function getNodeRoleDetail(db: Queryable | Tx, id: number, activeJigs?: ReadonlySet<string>): Promise<NodeRoleDetail> {
  const base = await getNodeRole(db, id, activeJigs)
  const row = await db
    .selectFrom('noderoles')
    .select(['proposed_data', 'committed_data', 'wall', 'runlog'])
    .where('id', '=', id)
    .executeTakeFirstOrThrow()
  const layers = await attributeLayers(db, id)
  return {
    ...base,
    proposed_data: parseJsonObject(row.proposed_data),
    committed_data: parseJsonObject(row.committed_data),
    wall: parseJsonObject(row.wall),
    runlog: row.runlog,
    attributes: { layers, merged: mergeLayers(layers) }
  }
}

/** How new data meets the old: replace it whole, or apply it as a JSON merge patch (RFC 7396). */
export type DataWrite = 'replace' | 'merge_patch'

/**
 * Operator data goes into the proposal; commit makes it the noderole's user layer (and runs the
 * noderole again if it had run: DESIGN.md §2.1 commit).
 */
export async function setNodeRoleData(ctx: DomainContext, id: number, data: JsonObject, write: DataWrite = 'replace'): Promise<NodeRoleDetail> {
  return transact(ctx, async (t) => {
    const nr = await t.tx.selectFrom('noderoles').select(['deployment_id', 'proposed_data']).where('id', '=', id).executeTakeFirst()
    if (!nr) throw notFound(`no noderole with id ${id}`)
    const dep = await t.tx.selectFrom('deployments').select(['name', 'state']).where('id', '=', nr.deployment_id).executeTakeFirstOrThrow()
    if (dep.state !== 'proposed') throw conflict(`deployment ${dep.name} is committed: propose it before editing noderole data`)
    const next = write === 'replace' ? data : mergePatch(parseJsonObject(nr.proposed_data), data)
    await t.tx
      .updateTable('noderoles')
      .set({ proposed_data: JSON.stringify(next), updated_at: t.now })
      .where('id', '=', id)
      .execute()
    t.emit({ kind: 'noderole', id, action: 'updated' })
    return getNodeRoleDetail(t.tx, id)
  })
}

/**
 * The noderole's own switch (node_role.rb's `available`): the annealer does not run an unavailable
 * noderole; its state is left alone, and it runs again once made available (if it is todo).
 */
export async function setNodeRoleAvailable(ctx: DomainContext, id: number, available: boolean): Promise<NodeRole> {
  return transact(ctx, async (t) => {
    await getNodeRole(t.tx, id)
    await t.tx.updateTable('noderoles').set({ available: available ? 1 : 0, updated_at: t.now }).where('id', '=', id).execute()
    t.emit({ kind: 'noderole', id, action: 'updated' })
    return getNodeRole(t.tx, id)
  })
}

/** Retry is error -> todo only (blocked if a parent is no longer active). */
export async function retryNodeRole(ctx: DomainContext, id: number): Promise<NodeRole> {
  return transact(ctx, async (t) => {
    const current = await getNodeRole(t.tx, id)
    if (current.state !== 'error') throw conflict(`noderole ${id} is ${current.state}; only a noderole in error can be retried`)
    await applyPlan(t, planRetry(await loadGraph(t.tx), id))
    return getNodeRole(t.tx, id)
  })
}

/**
 * Runs an active noderole again with its current data: back to todo, and everything below it waits
 * for the new run (its descendants run again after it). Only an active noderole: an errored one is
 * retried, one waiting or running already will run.
 */
export async function rerunNodeRole(ctx: DomainContext, id: number): Promise<NodeRole> {
  return transact(ctx, async (t) => {
    const current = await getNodeRole(t.tx, id)
    if (current.state !== 'active') {
      const hint = current.state === 'error' ? ': retry it instead' : current.state === 'proposed' ? ': commit its deployment first' : ''
      throw conflict(`noderole ${id} is ${current.state}; only an active noderole can be re-run${hint}`)
    }
    await applyPlan(t, planRerun(await loadGraph(t.tx), [id]))
    return getNodeRole(t.tx, id)
  })
}
