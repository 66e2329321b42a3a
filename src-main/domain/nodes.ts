// Nodes: machines with the two switches that gate all work on them, alive and available.
import type { Node } from '../model'
import type { NodeRow, Queryable, Tx } from '../store/database'
import { parseJsonObject, type JsonObject } from './attributes'
import { transact, type DomainContext } from './context'
import { deploymentRow, systemDeploymentId } from './deployments'
import { conflict, notFound } from '../model/errors'
import { isUniqueViolation } from '../store/unique-violation'
import { planNodeDeath } from './noderole-graph'
import { applyPlan, loadGraph } from './noderole-graph-store'
import { STATE_CODE, stateFromCode } from './noderole-states'

export function toNode(row: NodeRow): Node {
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    deployment_id: row.deployment_id,
    admin: row.admin === 1,
    alive: row.alive === 1,
    available: row.available === 1,
    bootenv: row.bootenv,
    hint: parseJsonObject(row.hint),
    discovery: parseJsonObject(row.discovery),
    created_at: row.created_at,
    updated_at: row.updated_at,
    last_seen_at: row.last_seen_at
  }
}

export async function nodeRow(db: Queryable | Tx, id: number): Promise<NodeRow> {
  const row = await db.selectFrom('nodes').selectAll().where('id', '=', id).executeTakeFirst()
  if (!row) throw notFound(`no node with id ${id}`)
  return row
}

export async function listNodes(db: Queryable): Promise<Node[]> {
  return (await db.selectFrom('nodes').selectAll().orderBy('id').execute()).map(toNode)
}

export async function getNode(db: Queryable, id: number): Promise<Node> {
  return toNode(await nodeRow(db, id))
}

export interface NewNode {
  name: string
  description: string
  deployment_id?: number | undefined
  admin: boolean
  alive: boolean
  available: boolean
  bootenv: string
  hint: JsonObject
}

export async function createNode(ctx: DomainContext, input: NewNode): Promise<Node> {
  return transact(ctx, async (t) => {
    const deploymentId = input.deployment_id ?? (await systemDeploymentId(t.tx))
    await deploymentRow(t.tx, deploymentId)
    try {
      const row = await t.tx
        .insertInto('nodes')
        .values({
          name: input.name,
          description: input.description,
          deployment_id: deploymentId,
          admin: input.admin ? 1 : 0,
          alive: input.alive ? 1 : 0,
          available: input.available ? 1 : 0,
          bootenv: input.bootenv,
          hint: JSON.stringify(input.hint),
          discovery: '{}',
          created_at: t.now,
          updated_at: t.now,
          last_seen_at: input.alive ? t.now : null
        })
        .returningAll()
        .executeTakeFirstOrThrow()
      t.emit({ kind: 'node', id: row.id, action: 'created' })
      return toNode(row)
    } catch (err) {
      if (isUniqueViolation(err)) throw conflict(`a node named ${input.name} already exists`)
      throw err
    }
  })
}

export interface NodeChange {
  description?: string | undefined
  alive?: boolean | undefined
  available?: boolean | undefined
  bootenv?: string | undefined
}

/**
 * Changes a node. Marking it dead sends its noderoles back to todo/blocked and blocks their
 * descendants on every node; marking it unavailable changes no noderole state (the annealer just
 * leaves it alone).
 */
export async function updateNode(ctx: DomainContext, id: number, change: NodeChange): Promise<Node> {
  return transact(ctx, async (t) => {
    const before = await nodeRow(t.tx, id)
    const set: Partial<Record<'description' | 'bootenv', string> & Record<'alive' | 'available', number>> = {}
    if (change.description !== undefined) set.description = change.description
    if (change.bootenv !== undefined) set.bootenv = change.bootenv
    if (change.alive !== undefined) set.alive = change.alive ? 1 : 0
    if (change.available !== undefined) set.available = change.available ? 1 : 0
    const seen = change.alive === true ? { last_seen_at: t.now } : {}
    await t.tx.updateTable('nodes').set({ ...set, ...seen, updated_at: t.now }).where('id', '=', id).execute()
    if (before.alive === 1 && change.alive === false) {
      await applyPlan(t, planNodeDeath(await loadGraph(t.tx), id))
    }
    t.emit({ kind: 'node', id, action: 'updated' })
    return toNode(await nodeRow(t.tx, id))
  })
}

/**
 * Deletes a node and its noderoles, by the noderole delete rules (DESIGN.md §2.1): refused while one
 * of them runs, and when a descendant on another node has run or is committed (those noderoles are
 * named: remove them first); descendants elsewhere that are proposed and never ran go with it. The
 * last admin node can never be deleted: nothing would run the boot services' roles.
 */
export async function deleteNode(ctx: DomainContext, id: number): Promise<{ deleted: number }> {
  return transact(ctx, async (t) => {
    const row = await nodeRow(t.tx, id)
    if (row.admin === 1) {
      const admins = await t.tx.selectFrom('nodes').select('id').where('admin', '=', 1).execute()
      if (admins.length <= 1) throw conflict(`node ${row.name} is the last admin node and can never be deleted`)
    }
    const running = await t.tx
      .selectFrom('noderoles')
      .select('id')
      .where('node_id', '=', id)
      .where('state', '=', STATE_CODE.transition)
      .executeTakeFirst()
    if (running) throw conflict(`node ${row.name} has a noderole running (id ${running.id}); wait for it or mark the node dead first`)
    const own = (await t.tx.selectFrom('noderoles').select('id').where('node_id', '=', id).execute()).map((r) => r.id)
    const elsewhere = await descendantsElsewhere(t.tx, own, id)
    const holding = elsewhere.filter((d) => d.run_count > 0 || d.state !== STATE_CODE.proposed)
    if (holding.length > 0) {
      const named = holding.slice(0, 5).map((d) => `${d.role}@${d.node} (noderole ${d.id}, ${stateFromCode(d.state)})`)
      const more = holding.length > 5 ? ` and ${holding.length - 5} more` : ''
      throw conflict(`node ${row.name} cannot be deleted: noderoles on other nodes depend on its noderoles and have run or are committed: ${named.join(', ')}${more}; remove those first`)
    }
    // Children first, so no edge ever points at a deleted row mid-way.
    const doomed = [...elsewhere.map((d) => d.id).reverse(), ...own]
    for (let i = 0; i < doomed.length; i += 500) {
      await t.tx.deleteFrom('noderoles').where('id', 'in', doomed.slice(i, i + 500)).execute()
    }
    await t.tx.deleteFrom('nodes').where('id', '=', id).execute()
    for (const nr of doomed) t.emit({ kind: 'noderole', id: nr, action: 'deleted' })
    t.emit({ kind: 'node', id, action: 'deleted' })
    return { deleted: id }
  })
}

/** Descendants of `roots` that sit on other nodes than `nodeId`, in breadth-first order. */
async function descendantsElsewhere(tx: Tx, roots: readonly number[], nodeId: number) {
  if (roots.length === 0) return []
  const edges = await tx.selectFrom('noderole_edges').select(['parent_id', 'child_id']).execute()
  const children = new Map<number, number[]>()
  for (const e of edges) children.set(e.parent_id, [...(children.get(e.parent_id) ?? []), e.child_id])
  const seen = new Set<number>(roots)
  const order: number[] = []
  const queue = [...roots]
  // Each noderole is queued once: the walk is bounded by the graph's size.
  while (queue.length > 0) {
    for (const c of children.get(queue.shift() as number) ?? []) {
      if (seen.has(c)) continue
      seen.add(c)
      order.push(c)
      queue.push(c)
    }
  }
  if (order.length === 0) return []
  const rows = []
  for (let i = 0; i < order.length; i += 500) {
    rows.push(
      ...(await tx
        .selectFrom('noderoles')
        .innerJoin('roles', 'roles.id', 'noderoles.role_id')
        .innerJoin('nodes', 'nodes.id', 'noderoles.node_id')
        .select(['noderoles.id', 'noderoles.node_id', 'noderoles.state', 'noderoles.run_count', 'roles.name as role', 'nodes.name as node'])
        .where('noderoles.id', 'in', order.slice(i, i + 500))
        .execute())
    )
  }
  const byId = new Map(rows.map((r) => [r.id, r]))
  return order.map((d) => byId.get(d)).filter((r) => r !== undefined && r.node_id !== nodeId) as typeof rows
}
