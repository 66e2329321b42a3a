// Binding a role to nodes (Crowbar's NodeRole.create with requirement resolution) and removing a
// binding. Each requirement is satisfied, in order, by: a noderole of it (or of a role providing
// it) on the same node; for a cluster role, every peer in the deployment; unless it is implicit,
// one in this deployment, then in each parent deployment up the tree; else a new noderole on the
// same node. A new peer of a cluster role becomes a parent of the clients already bound (Crowbar's
// bind_cluster_children). The rules run in memory (noderole-bind-plan.ts) over what is read here
// once; the plan is written in multi-row statements.
import type { Tx } from '../store/database'
import { loadRoles } from './barclamps'
import { deepMerge, type JsonObject } from './attributes'
import { transact, type DomainContext, type TxContext } from './context'
import { ancestorsOf, commitNodeRoles, deploymentRow } from './deployments'
import { conflict, CrowbarError, invalid, notFound } from '../model/errors'
import { activeJigsOf } from './jigs-known'
import { STATE_CODE, stateFromCode } from './noderole-states'
import { loadSubgraph } from './noderole-graph-store'
import {
  BindPlanner,
  bindReads,
  isPlannedKey,
  type BindNode,
  type ClusterEdge,
  type KnownNodeRole
} from './noderole-bind-plan'

export interface BindOptions {
  /**
   * Framework binds (discovery roles, the admin node) go straight into a committed deployment and
   * are committed at once; operator binds need an open proposal.
   */
  readonly commitNow?: boolean
}

export interface BulkBindResult {
  readonly deployment_id: number
  readonly role: string
  /** Each node's noderole of the role, in the order the nodes were given. */
  readonly noderoles: Array<{ node_id: number; id: number }>
  /** How many noderoles the bind created, those it required included. */
  readonly created: number
}

/** Binds a role to one node; returns its noderole (the one the node already held, or a new one). */
export async function bindNodeRole(
  ctx: DomainContext,
  input: { deployment_id: number; node_id: number; role: string },
  options: BindOptions = {}
): Promise<number> {
  const result = await transact(ctx, (t) =>
    bindInTransaction(ctx, t, { deployment_id: input.deployment_id, role: input.role, node_ids: [input.node_id] }, options, false)
  )
  return (result.noderoles[0] as { id: number }).id
}

/**
 * Binds a role to many nodes in one transaction, with the same result as binding it to each node
 * in turn: applied whole, or refused whole with the first refusal (naming its node).
 */
export async function bindNodeRoles(
  ctx: DomainContext,
  input: { deployment_id: number; role: string; node_ids: readonly number[] },
  options: BindOptions = {}
): Promise<BulkBindResult> {
  return transact(ctx, (t) => bindInTransaction(ctx, t, input, options, true))
}

// Keeps each statement's parameter count well under SQLite's and PostgreSQL's limits.
const CHUNK = 500

function chunks<T>(items: readonly T[]): T[][] {
  const out: T[][] = []
  for (let i = 0; i < items.length; i += CHUNK) out.push(items.slice(i, i + CHUNK))
  return out
}

function push<K>(map: Map<K, number[]>, key: K, value: number): void {
  const list = map.get(key)
  if (list) list.push(value)
  else map.set(key, [value])
}

/** In a bulk bind a refusal says which node it is about. */
async function naming<T>(bulk: boolean, node: BindNode, work: () => T | Promise<T>): Promise<T> {
  try {
    return await work()
  } catch (err) {
    if (bulk && err instanceof CrowbarError && !err.message.includes(node.name)) {
      throw new CrowbarError(err.kind, `node ${node.name}: ${err.message}`)
    }
    throw err
  }
}

async function bindInTransaction(
  ctx: DomainContext,
  t: TxContext,
  input: { deployment_id: number; role: string; node_ids: readonly number[] },
  options: BindOptions,
  bulk: boolean
): Promise<BulkBindResult> {
  const listed = new Set<number>()
  for (const id of input.node_ids) {
    if (listed.has(id)) throw invalid(`node ${id} is listed twice in node_ids: list each node once`)
    listed.add(id)
  }
  const firstId = input.node_ids[0]
  if (firstId === undefined) throw invalid('node_ids is empty: name at least one node')
  const deployment = await deploymentRow(t.tx, input.deployment_id)
  if (deployment.state !== 'proposed' && !options.commitNow) {
    throw conflict(`deployment ${deployment.name} is committed: propose it before binding roles`)
  }
  const nodes = new Map<number, BindNode>()
  for (const ids of chunks(input.node_ids)) {
    for (const n of await t.tx.selectFrom('nodes').select(['id', 'name']).where('id', 'in', ids).execute()) nodes.set(n.id, n)
  }
  if (!nodes.has(firstId)) throw notFound(`no node with id ${firstId}`)
  const roles = await loadRoles(t.tx)
  const role = roles.find((r) => r.name === input.role)
  if (!role) throw notFound(`no role named ${input.role}; install the barclamp that declares it`)
  const chain = [deployment.id, ...(await ancestorsOf(t.tx, deployment)).map((d) => d.id)]
  const planner = new BindPlanner({ roles, activeJigs: activeJigsOf(ctx), deploymentId: deployment.id, chain })
  planner.know(await readKnown(t.tx, deployment.id, chain, input.node_ids, bindReads(roles, role)))

  const keys: number[] = []
  for (const id of input.node_ids) {
    const node = nodes.get(id)
    if (!node) throw notFound(`no node with id ${id}`)
    keys.push(await naming(bulk, node, () => planner.bind(node, role)))
  }
  const joined = planner.clusterEdges.length > 0 ? await joinClusterPeers(t.tx, planner) : { edges: [], raised: new Map<number, number>() }

  const idOf = await writePlan(t, deployment.id, planner, joined)
  const real = (id: number): number => (isPlannedKey(id) ? (idOf.get(id) as number) : id)
  const hooks = ctx.bindHooks?.all ?? []
  for (const p of planner.created) {
    const id = real(p.key)
    if (hooks.length > 0) {
      let sysdata: JsonObject = {}
      for (const hook of hooks) {
        const data = await naming(bulk, p.node, () => hook(t, { noderoleId: id, role: p.role.name, node: { id: p.node.id, name: p.node.name } }))
        if (data) sysdata = deepMerge(sysdata, data)
      }
      if (Object.keys(sysdata).length > 0) {
        await t.tx.updateTable('noderoles').set({ sysdata: JSON.stringify(sysdata) }).where('id', '=', id).execute()
      }
    }
    t.emit({ kind: 'noderole', id, action: 'created', state: 'proposed' })
  }
  // Stored noderoles that gained a parent (a new cluster peer) or a higher cohort.
  const touched = new Set([...joined.edges.map((e) => e.client).filter((c) => !isPlannedKey(c)), ...joined.raised.keys()])
  for (const id of touched) t.emit({ kind: 'noderole', id, action: 'updated' })

  const createdIds = planner.created.map((p) => real(p.key))
  if (options.commitNow && deployment.state !== 'proposed' && createdIds.length > 0) {
    await commitNodeRoles(t, deployment.id, createdIds)
  }
  return {
    deployment_id: deployment.id,
    role: role.name,
    noderoles: input.node_ids.map((node_id, i) => ({ node_id, id: real(keys[i] as number) })),
    created: createdIds.length
  }
}

/**
 * What the rules read: every noderole on the nodes, every one of the roles in `reads.all` in this
 * deployment, and the first one of each role in `reads.first` in each deployment of the chain.
 */
async function readKnown(
  tx: Tx,
  deploymentId: number,
  chain: readonly number[],
  nodeIds: readonly number[],
  reads: { first: number[]; all: number[] }
): Promise<KnownNodeRole[]> {
  const columns = ['id', 'role_id', 'node_id', 'deployment_id', 'cohort'] as const
  const rows: Array<{ id: number; role_id: number; node_id: number; deployment_id: number; cohort: number }> = []
  for (const ids of chunks(nodeIds)) {
    rows.push(...(await tx.selectFrom('noderoles').select(columns).where('node_id', 'in', ids).execute()))
  }
  for (const roleIds of chunks(reads.all)) {
    rows.push(
      ...(await tx.selectFrom('noderoles').select(columns).where('deployment_id', '=', deploymentId).where('role_id', 'in', roleIds).execute())
    )
  }
  for (const roleIds of chunks(reads.first)) {
    const firsts = await tx
      .selectFrom('noderoles')
      .select((eb) => eb.fn.min('id').as('id'))
      .where('deployment_id', 'in', [...chain])
      .where('role_id', 'in', roleIds)
      .groupBy(['deployment_id', 'role_id'])
      .execute()
    for (const ids of chunks(firsts.map((f) => Number(f.id)))) {
      rows.push(...(await tx.selectFrom('noderoles').select(columns).where('id', 'in', ids).execute()))
    }
  }
  return rows.map((r) => ({ id: r.id, roleId: r.role_id, nodeId: r.node_id, deploymentId: r.deployment_id, cohort: r.cohort }))
}

/**
 * Each new cluster peer becomes a parent of the clients it was planned with, unless that would close
 * a loop (the client is above the peer); then the cohorts below are raised to 1 + the highest parent
 * cohort. Returns the edges kept and the new cohorts of stored noderoles (planned ones are updated
 * in place).
 */
async function joinClusterPeers(tx: Tx, planner: BindPlanner): Promise<{ edges: ClusterEdge[]; raised: Map<number, number> }> {
  const planned = new Map(planner.created.map((p) => [p.key, p]))
  const storedClients = [...new Set(planner.clusterEdges.map((e) => e.client).filter((c) => !isPlannedKey(c)))]
  // Every stored descendant of a stored client, with all its parents: a path from a client to its
  // new peer can only run through these and through planned noderoles.
  const graph = storedClients.length > 0 ? await loadSubgraph(tx, storedClients, { descendants: true }) : new Map()
  const addedParents = new Map<number, number[]>()
  const addedChildren = new Map<number, number[]>()
  for (const p of planner.created) for (const parent of p.parents) push(addedChildren, parent, p.key)
  const parentsOf = (id: number): readonly number[] => [
    ...(planned.get(id)?.parents ?? graph.get(id)?.parents ?? []),
    ...(addedParents.get(id) ?? [])
  ]
  const kept: ClusterEdge[] = []
  const edges = planner.clusterEdges
  for (let i = 0; i < edges.length; ) {
    const peer = (edges[i] as ClusterEdge).peer
    const above = new Set<number>()
    const walk = [...parentsOf(peer)]
    while (walk.length > 0) {
      const id = walk.pop() as number
      if (above.has(id)) continue
      above.add(id)
      walk.push(...parentsOf(id))
    }
    for (; i < edges.length && (edges[i] as ClusterEdge).peer === peer; i++) {
      const edge = edges[i] as ClusterEdge
      if (edge.client === peer || above.has(edge.client)) continue
      push(addedParents, edge.client, peer)
      push(addedChildren, peer, edge.client)
      kept.push(edge)
    }
  }

  const raised = new Map<number, number>()
  const cohortOf = (id: number): number => planned.get(id)?.cohort ?? raised.get(id) ?? graph.get(id)?.cohort ?? planner.cohort(id) ?? 0
  const setCohort = (id: number, cohort: number): void => {
    const p = planned.get(id)
    if (p) p.cohort = cohort
    else raised.set(id, cohort)
  }
  // No cohort in a loop-free graph exceeds its number of vertices; stored rows edited into a loop
  // would otherwise make this climb forever.
  const ceiling = graph.size + planned.size
  const queue: number[] = []
  for (const e of kept) {
    if (cohortOf(e.peer) + 1 > cohortOf(e.client)) {
      setCohort(e.client, cohortOf(e.peer) + 1)
      queue.push(e.client)
    }
  }
  for (let q = 0; q < queue.length; q++) {
    const id = queue[q] as number
    const next = cohortOf(id) + 1
    if (next > ceiling) break
    for (const child of [...((graph.get(id)?.children as number[] | undefined) ?? []), ...(addedChildren.get(id) ?? [])]) {
      if (next > cohortOf(child)) {
        setCohort(child, next)
        queue.push(child)
      }
    }
  }
  return { edges: kept, raised }
}

/** Writes the planned noderoles, their edges, raised cohorts and deployment roles; planned key -> id. */
async function writePlan(
  t: TxContext,
  deploymentId: number,
  planner: BindPlanner,
  joined: { edges: readonly ClusterEdge[]; raised: ReadonlyMap<number, number> }
): Promise<Map<number, number>> {
  const idOf = new Map<number, number>()
  for (const chunk of chunks(planner.created)) {
    const rows = await t.tx
      .insertInto('noderoles')
      .values(
        chunk.map((p) => ({
          deployment_id: deploymentId,
          role_id: p.role.id,
          node_id: p.node.id,
          state: STATE_CODE.proposed,
          cohort: p.cohort,
          created_at: t.now,
          updated_at: t.now
        }))
      )
      .returning(['id', 'role_id', 'node_id'])
      .execute()
    // Matched by (role, node), unique per noderole: neither engine promises RETURNING's row order.
    const byRoleNode = new Map(rows.map((r) => [`${r.role_id}/${r.node_id}`, r.id]))
    for (const p of chunk) idOf.set(p.key, byRoleNode.get(`${p.role.id}/${p.node.id}`) as number)
  }
  const real = (id: number): number => (isPlannedKey(id) ? (idOf.get(id) as number) : id)
  const edges: Array<{ parent_id: number; child_id: number }> = []
  for (const p of planner.created) for (const parent of p.parents) edges.push({ parent_id: real(parent), child_id: real(p.key) })
  for (const e of joined.edges) edges.push({ parent_id: real(e.peer), child_id: real(e.client) })
  for (const chunk of chunks(edges)) await t.tx.insertInto('noderole_edges').values(chunk).execute()

  const byCohort = new Map<number, number[]>()
  for (const [id, cohort] of joined.raised) push(byCohort, cohort, id)
  for (const [cohort, ids] of byCohort) {
    for (const chunk of chunks(ids)) await t.tx.updateTable('noderoles').set({ cohort, updated_at: t.now }).where('id', 'in', chunk).execute()
  }
  const roleIds = [...new Set(planner.created.map((p) => p.role.id))]
  for (const chunk of chunks(roleIds)) {
    await t.tx
      .insertInto('deployment_roles')
      .values(chunk.map((role_id) => ({ deployment_id: deploymentId, role_id })))
      .onConflict((oc) => oc.columns(['deployment_id', 'role_id']).doNothing())
      .execute()
  }
  return idOf
}

/**
 * Removes a noderole. Allowed for a leaf, for one whose descendants are all on its own node, or for
 * one whose descendants are all proposed and never run; the descendants go with it.
 */
export async function deleteNodeRole(ctx: DomainContext, id: number): Promise<{ deleted: number[] }> {
  return transact(ctx, async (t) => {
    const target = await t.tx.selectFrom('noderoles').selectAll().where('id', '=', id).executeTakeFirst()
    if (!target) throw notFound(`no noderole with id ${id}`)
    const all = await t.tx.selectFrom('noderoles').select(['id', 'node_id', 'state', 'run_count']).execute()
    const edges = await t.tx.selectFrom('noderole_edges').select(['parent_id', 'child_id']).execute()
    const byId = new Map(all.map((r) => [r.id, r]))
    const descendants: number[] = []
    const queue = edges.filter((e) => e.parent_id === id).map((e) => e.child_id)
    while (queue.length > 0) {
      const next = queue.shift() as number
      if (next === id || descendants.includes(next)) continue
      descendants.push(next)
      queue.push(...edges.filter((e) => e.parent_id === next).map((e) => e.child_id))
    }
    const doomed = [id, ...descendants]
    const running = doomed.find((d) => byId.get(d)?.state === STATE_CODE.transition)
    if (running !== undefined) throw conflict(`noderole ${running} is running; wait for its run to finish`)
    const rows = descendants.map((d) => byId.get(d)).filter((r) => r !== undefined)
    const sameNode = rows.every((r) => r.node_id === target.node_id)
    const untouched = rows.every((r) => stateFromCode(r.state) === 'proposed' && r.run_count === 0)
    if (!sameNode && !untouched) {
      const other = rows.find((r) => r.node_id !== target.node_id) ?? rows[0]
      throw conflict(
        `noderole ${id} has descendants on other nodes that are committed or have run (e.g. noderole ${other?.id}); remove those first`
      )
    }
    // Children first, so no edge ever points at a deleted row mid-way.
    for (const d of [...doomed].reverse()) {
      await t.tx.deleteFrom('noderoles').where('id', '=', d).execute()
      t.emit({ kind: 'noderole', id: d, action: 'deleted' })
    }
    return { deleted: doomed }
  })
}
