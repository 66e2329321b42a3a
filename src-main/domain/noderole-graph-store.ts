// Reads the noderole graph out of the store and writes a state plan back, inside a transaction.
import type { Transaction } from 'kysely'
import type { Database } from '../store/database'
import type { TxContext } from './context'
import { buildGraph, type GraphVertex, type NodeRoleGraph, type StatePlan } from './noderole-graph'
import type { NodeRoleState } from '../model'
import { STATE_CODE, stateFromCode } from './noderole-states'

export async function loadGraph(tx: Transaction<Database>): Promise<NodeRoleGraph> {
  const rows = await tx.selectFrom('noderoles').select(['id', 'node_id', 'cohort', 'state']).execute()
  const edges = await tx.selectFrom('noderole_edges').select(['parent_id', 'child_id']).execute()
  return buildGraph(
    rows.map((r) => ({ id: r.id, nodeId: r.node_id, cohort: r.cohort, state: stateFromCode(r.state) })),
    edges.map((e) => ({ parentId: e.parent_id, childId: e.child_id }))
  )
}

// Keeps each statement's parameter count well under SQLite's and PostgreSQL's limits.
const CHUNK = 500

export async function applyPlan(t: TxContext, plan: StatePlan): Promise<void> {
  const byState = new Map<NodeRoleState, number[]>()
  for (const [id, state] of plan) {
    const ids = byState.get(state) ?? []
    ids.push(id)
    byState.set(state, ids)
  }
  for (const [state, ids] of byState) {
    for (let i = 0; i < ids.length; i += CHUNK) {
      const chunk = ids.slice(i, i + CHUNK)
      await t.tx
        .updateTable('noderoles')
        .set({ state: STATE_CODE[state], updated_at: t.now })
        .where('id', 'in', chunk)
        .execute()
    }
    for (const id of ids) t.emit({ kind: 'noderole', id, action: 'updated', state })
  }
}

/**
 * The part of the graph a plan around `roots` reads: the roots with their parents and children,
 * every descendant when `descendants` is set (failures and re-runs ripple all the way down), and
 * the parents of each loaded child (to judge "all parents active"). Bounded by the graph's size.
 */
export async function loadSubgraph(
  tx: Transaction<Database>,
  roots: readonly number[],
  options: { descendants: boolean }
): Promise<Map<number, GraphVertex>> {
  const edges: Array<{ parent_id: number; child_id: number }> = []
  const seenEdge = new Set<string>()
  const addEdges = (rows: Array<{ parent_id: number; child_id: number }>): void => {
    for (const e of rows) {
      const key = `${e.parent_id}>${e.child_id}`
      if (seenEdge.has(key)) continue
      seenEdge.add(key)
      edges.push(e)
    }
  }
  const inChunks = async (ids: number[], column: 'parent_id' | 'child_id') => {
    const out: Array<{ parent_id: number; child_id: number }> = []
    for (let i = 0; i < ids.length; i += CHUNK) {
      out.push(
        ...(await tx
          .selectFrom('noderole_edges')
          .select(['parent_id', 'child_id'])
          .where(column, 'in', ids.slice(i, i + CHUNK))
          .execute())
      )
    }
    return out
  }

  const vertices = new Set<number>(roots)
  const expanded = new Set<number>()
  let frontier = [...roots]
  let depth = 0
  while (frontier.length > 0) {
    frontier.forEach((id) => expanded.add(id))
    const down = await inChunks(frontier, 'parent_id')
    addEdges(down)
    const next: number[] = []
    for (const e of down) {
      if (!vertices.has(e.child_id)) vertices.add(e.child_id)
      if (options.descendants && !expanded.has(e.child_id)) next.push(e.child_id)
    }
    depth++
    frontier = [...new Set(next)]
    // `expanded` already stops a cycle (binding refuses them, but rows can be edited by hand); the
    // depth bound is the loop's own guarantee that it ends whatever the rows say. 10,000 levels is
    // far beyond any real graph (a role chain is tens deep), so it never cuts a real walk short.
    if (depth > 10_000) break
  }
  // Parents of everything loaded, so each vertex's parent list is complete.
  addEdges(await inChunks([...vertices], 'child_id'))
  for (const e of edges) vertices.add(e.parent_id)

  const ids = [...vertices]
  const rows: Array<{ id: number; node_id: number; cohort: number; state: number }> = []
  for (let i = 0; i < ids.length; i += CHUNK) {
    rows.push(
      ...(await tx
        .selectFrom('noderoles')
        .select(['id', 'node_id', 'cohort', 'state'])
        .where('id', 'in', ids.slice(i, i + CHUNK))
        .execute())
    )
  }
  return buildGraph(
    rows.map((r) => ({ id: r.id, nodeId: r.node_id, cohort: r.cohort, state: stateFromCode(r.state) })),
    edges.map((e) => ({ parentId: e.parent_id, childId: e.child_id }))
  )
}

/** The graph after a plan: later plans in one batch must see earlier ones' results. */
export function withPlan(graph: Map<number, GraphVertex>, plan: StatePlan): Map<number, GraphVertex> {
  for (const [id, state] of plan) {
    const v = graph.get(id)
    if (v) graph.set(id, { ...v, state })
  }
  return graph
}
