// How a state change ripples through the noderole graph (DESIGN.md §2.1). Pure: each plan reads a
// snapshot of the graph and returns the new state of every noderole that moves; persistence
// applies the plan in one transaction.
import type { NodeRoleState } from '../model'
import { nextState, type NodeRoleEvent } from './noderole-states'

export interface GraphVertex {
  readonly id: number
  readonly nodeId: number
  readonly cohort: number
  readonly state: NodeRoleState
  readonly parents: readonly number[]
  readonly children: readonly number[]
}

export type NodeRoleGraph = ReadonlyMap<number, GraphVertex>
/** noderole id -> its new state (only noderoles whose state changes). */
export type StatePlan = Map<number, NodeRoleState>

/** Builds the graph from rows and edges; edges naming unknown vertices are ignored. */
export function buildGraph(
  vertices: ReadonlyArray<{ id: number; nodeId: number; cohort: number; state: NodeRoleState }>,
  edges: ReadonlyArray<{ parentId: number; childId: number }>
): Map<number, GraphVertex> {
  const parents = new Map<number, number[]>()
  const children = new Map<number, number[]>()
  for (const v of vertices) {
    parents.set(v.id, [])
    children.set(v.id, [])
  }
  for (const e of edges) {
    const p = children.get(e.parentId)
    const c = parents.get(e.childId)
    if (!p || !c) continue
    p.push(e.childId)
    c.push(e.parentId)
  }
  const graph = new Map<number, GraphVertex>()
  for (const v of vertices) {
    graph.set(v.id, { ...v, parents: parents.get(v.id) ?? [], children: children.get(v.id) ?? [] })
  }
  return graph
}

/** Plans in progress read the state a noderole will have after the plan, not the stored one. */
class Planner {
  readonly plan: StatePlan = new Map()
  constructor(private readonly graph: NodeRoleGraph) {}

  vertex(id: number): GraphVertex {
    const v = this.graph.get(id)
    if (!v) throw new Error(`noderole ${id} is not in the graph`)
    return v
  }

  state(id: number): NodeRoleState {
    return this.plan.get(id) ?? this.vertex(id).state
  }

  parentsActive(id: number): boolean {
    return this.vertex(id).parents.every((p) => this.state(p) === 'active')
  }

  apply(id: number, event: NodeRoleEvent): NodeRoleState {
    const from = this.state(id)
    const to = nextState(from, event)
    if (to !== this.vertex(id).state) this.plan.set(id, to)
    else this.plan.delete(id)
    return to
  }

  /**
   * Every descendant that is committed and not running must wait again: it goes to blocked.
   * Proposed noderoles keep their state; running ones finish and are judged then.
   */
  blockDescendants(from: number): void {
    const seen = new Set<number>([from])
    const queue = [...this.vertex(from).children]
    while (queue.length > 0) {
      const id = queue.shift() as number
      if (seen.has(id)) continue
      seen.add(id)
      const s = this.state(id)
      if (s !== 'proposed' && s !== 'transition') this.apply(id, { type: 'ancestor_regressed' })
      queue.push(...this.vertex(id).children)
    }
  }

  /** Each blocked child whose parents are all active may now run. */
  releaseChildren(of: number): void {
    for (const child of this.vertex(of).children) {
      if (this.state(child) === 'blocked' && this.parentsActive(child)) {
        this.apply(child, { type: 'parents_active' })
      }
    }
  }

  inCohortOrder(ids: Iterable<number>): number[] {
    return [...ids].sort((a, b) => this.vertex(a).cohort - this.vertex(b).cohort || a - b)
  }
}

/**
 * Commit: each proposed noderole goes to todo when all its parents are active, else blocked. A
 * committed child it already has (a client of a new cluster peer) ran without it: it waits, with
 * everything below it, and runs again once the new parent is active.
 */
export function planCommit(graph: NodeRoleGraph, proposed: Iterable<number>): StatePlan {
  const p = new Planner(graph)
  for (const id of p.inCohortOrder(proposed)) {
    if (p.state(id) !== 'proposed') continue
    p.apply(id, { type: 'commit', parentsActive: p.parentsActive(id) })
    for (const child of p.vertex(id).children) {
      const s = p.state(child)
      if (s !== 'active' && s !== 'todo' && s !== 'error') continue
      p.apply(child, { type: 'ancestor_regressed' })
      p.blockDescendants(child)
    }
  }
  return p.plan
}

/** A jig run succeeded. */
export function planSuccess(graph: NodeRoleGraph, id: number, nodeAlive: boolean): StatePlan {
  const p = new Planner(graph)
  const to = p.apply(id, { type: 'succeed', nodeAlive, parentsActive: p.parentsActive(id) })
  if (to === 'active') p.releaseChildren(id)
  else p.blockDescendants(id)
  return p.plan
}

/** A jig run failed: the noderole errs and everything below it waits. */
export function planFailure(graph: NodeRoleGraph, id: number): StatePlan {
  const p = new Planner(graph)
  p.apply(id, { type: 'fail' })
  p.blockDescendants(id)
  return p.plan
}

/** The annealer starts a run. */
export function planStart(graph: NodeRoleGraph, id: number): StatePlan {
  const p = new Planner(graph)
  const wasActive = p.state(id) === 'active'
  p.apply(id, { type: 'start' })
  // Re-running an active noderole invalidates what its descendants were given.
  if (wasActive) p.blockDescendants(id)
  return p.plan
}

/** Retry an errored noderole: back to todo (or blocked if a parent is no longer active). */
export function planRetry(graph: NodeRoleGraph, id: number): StatePlan {
  const p = new Planner(graph)
  p.apply(id, { type: 'retry', parentsActive: p.parentsActive(id) })
  return p.plan
}

/**
 * Run again (the committed data changed, or the operator asked): each active or errored noderole
 * goes to todo (blocked if a parent is not active), and everything below it waits for it, so its
 * descendants run again with what it produces. Noderoles in other states are left alone: todo and
 * blocked ones run with the new data anyway.
 */
export function planRerun(graph: NodeRoleGraph, ids: Iterable<number>): StatePlan {
  const p = new Planner(graph)
  for (const id of p.inCohortOrder(ids)) {
    const s = p.state(id)
    if (s !== 'active' && s !== 'error') continue
    p.apply(id, { type: 'rerun', parentsActive: p.parentsActive(id) })
    p.blockDescendants(id)
  }
  return p.plan
}

/**
 * A node was marked dead: its committed noderoles go to todo or blocked by their parents (lowest
 * cohort first, so a parent on the same node is judged before its child), and every descendant, on
 * any node, waits.
 */
export function planNodeDeath(graph: NodeRoleGraph, nodeId: number): StatePlan {
  const p = new Planner(graph)
  const onNode = [...graph.values()].filter((v) => v.nodeId === nodeId).map((v) => v.id)
  const ordered = p.inCohortOrder(onNode)
  for (const id of ordered) {
    if (p.state(id) === 'proposed') continue
    p.apply(id, { type: 'node_dead', parentsActive: p.parentsActive(id) })
  }
  for (const id of ordered) p.blockDescendants(id)
  // blockDescendants may have blocked a same-node noderole that node_dead had just made todo; that
  // is right (its parent on this node is no longer active), so nothing to undo here.
  return p.plan
}
