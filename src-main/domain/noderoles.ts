// Reading noderoles (with their graph neighbours and attribute layers), operator data, retry.
import type { NodeRole, NodeRoleDetail } from '../model'
import type { Queryable, Tx } from '../store/database'
import { mergeLayers, mergeWalls, parseJsonObject, type AttributeLayers, type JsonObject } from './attributes'
import { transact, type DomainContext } from './context'
import { conflict, invalid, notFound } from '../model/errors'
import { planRetry } from './noderole-graph'
import { applyPlan, loadGraph } from './noderole-graph-store'
import { stateFromCode } from './noderole-states'

function baseQuery(db: Queryable | Tx) {
  return db
    .selectFrom('noderoles')
    .innerJoin('roles', 'roles.id', 'noderoles.role_id')
    .innerJoin('nodes', 'nodes.id', 'noderoles.node_id')
    .selectAll('noderoles')
    .select(['roles.name as role_name', 'nodes.name as node_name'])
}

type NodeRoleJoined = Awaited<ReturnType<ReturnType<typeof baseQuery>['executeTakeFirstOrThrow']>>

async function toNodeRoles(db: Queryable | Tx, rows: NodeRoleJoined[]): Promise<NodeRole[]> {
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
    created_at: r.created_at,
    updated_at: r.updated_at
  }))
}

export async function listNodeRoles(
  db: Queryable,
  filter: { deployment_id?: number | undefined; node_id?: number | undefined }
): Promise<NodeRole[]> {
  let q = baseQuery(db)
  if (filter.deployment_id !== undefined) q = q.where('noderoles.deployment_id', '=', filter.deployment_id)
  if (filter.node_id !== undefined) q = q.where('noderoles.node_id', '=', filter.node_id)
  return toNodeRoles(db, await q.orderBy('noderoles.cohort').orderBy('noderoles.id').execute())
}

export async function getNodeRole(db: Queryable | Tx, id: number): Promise<NodeRole> {
  const row = await baseQuery(db).where('noderoles.id', '=', id).executeTakeFirst()
  if (!row) throw notFound(`no noderole with id ${id}`)
  return (await toNodeRoles(db, [row]))[0] as NodeRole
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
      'dr.committed_data as deployment_data'
    ])
    .where('noderoles.id', 'in', [...ids])
    .execute()
  const parents = await db
    .selectFrom('noderole_edges')
    .innerJoin('noderoles', 'noderoles.id', 'noderole_edges.parent_id')
    .select(['noderole_edges.child_id', 'noderoles.wall', 'noderoles.sysdata'])
    .where('noderole_edges.child_id', 'in', [...ids])
    .orderBy('noderoles.cohort')
    .orderBy('noderoles.id')
    .execute()
  for (const r of rows) {
    out.set(r.id, {
      role: r.role,
      jig: r.jig,
      scripts: r.scripts,
      node: r.node,
      layers: {
        role_defaults: parseJsonObject(r.template),
        deployment_role: parseJsonObject(r.deployment_data ?? '{}'),
        // What parents pass down: the system data the framework gave them, then what their runs produced.
        parents_wall: mergeWalls(
          parents.filter((p) => p.child_id === r.id).flatMap((p) => [parseJsonObject(p.sysdata), parseJsonObject(p.wall)])
        ),
        system: parseJsonObject(r.sysdata),
        user: parseJsonObject(r.committed_data)
      }
    })
  }
  return out
}

export async function getNodeRoleDetail(db: Queryable | Tx, id: number): Promise<NodeRoleDetail> {
  const base = await getNodeRole(db, id)
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

/** Operator data goes into the proposal; commit makes it the noderole's user layer. */
export async function setNodeRoleData(ctx: DomainContext, id: number, data: JsonObject): Promise<NodeRoleDetail> {
  return transact(ctx, async (t) => {
    const nr = await t.tx.selectFrom('noderoles').select(['deployment_id']).where('id', '=', id).executeTakeFirst()
    if (!nr) throw notFound(`no noderole with id ${id}`)
    const dep = await t.tx.selectFrom('deployments').select(['name', 'state']).where('id', '=', nr.deployment_id).executeTakeFirstOrThrow()
    if (dep.state !== 'proposed') throw conflict(`deployment ${dep.name} is committed: propose it before editing noderole data`)
    await t.tx
      .updateTable('noderoles')
      .set({ proposed_data: JSON.stringify(data), updated_at: t.now })
      .where('id', '=', id)
      .execute()
    t.emit({ kind: 'noderole', id, action: 'updated' })
    return getNodeRoleDetail(t.tx, id)
  })
}

/** Retry is error -> todo only (blocked if a parent is no longer active). */
export async function retryNodeRole(ctx: DomainContext, id: number): Promise<NodeRole> {
  return transact(ctx, async (t) => {
    const current = await getNodeRole(t.tx, id)
    if (current.state !== 'error') throw invalid(`noderole ${id} is ${current.state}; only a noderole in error can be retried`)
    await applyPlan(t, planRetry(await loadGraph(t.tx), id))
    return getNodeRole(t.tx, id)
  })
}
