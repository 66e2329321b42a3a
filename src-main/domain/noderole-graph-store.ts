// Reads the noderole graph out of the store and writes a state plan back, inside a transaction.
import type { Transaction } from 'kysely'
import type { Database } from '../store/database'
import type { TxContext } from './context'
import { buildGraph, type NodeRoleGraph, type StatePlan } from './noderole-graph'
import { STATE_CODE, stateFromCode, type NodeRoleState } from './noderole-states'

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
