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
import { STATE_CODE } from './noderole-states'

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

export async function deleteNode(ctx: DomainContext, id: number): Promise<{ deleted: number }> {
  return transact(ctx, async (t) => {
    const row = await nodeRow(t.tx, id)
    const running = await t.tx
      .selectFrom('noderoles')
      .select('id')
      .where('node_id', '=', id)
      .where('state', '=', STATE_CODE.transition)
      .executeTakeFirst()
    if (running) throw conflict(`node ${row.name} has a noderole running (id ${running.id}); wait for it or mark the node dead first`)
    const noderoles = await t.tx.selectFrom('noderoles').select('id').where('node_id', '=', id).execute()
    await t.tx.deleteFrom('noderoles').where('node_id', '=', id).execute()
    await t.tx.deleteFrom('nodes').where('id', '=', id).execute()
    for (const nr of noderoles) t.emit({ kind: 'noderole', id: nr.id, action: 'deleted' })
    t.emit({ kind: 'node', id, action: 'deleted' })
    return { deleted: id }
  })
}
