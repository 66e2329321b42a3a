import { describe, expect, it } from 'vitest'
import { buildGraph, planCommit, planFailure, planNodeDeath, planRetry, planStart, planSuccess } from './noderole-graph'
import type { NodeRoleState } from '../model'

// A small graph across two nodes:  1(n1) -> 2(n1) -> 4(n2) ;  3(n2) -> 4(n2) ; 4 -> 5(n2)
function graph(states: Record<number, NodeRoleState>) {
  return buildGraph(
    [
      { id: 1, nodeId: 1, cohort: 0, state: states[1] ?? 'active' },
      { id: 2, nodeId: 1, cohort: 1, state: states[2] ?? 'active' },
      { id: 3, nodeId: 2, cohort: 0, state: states[3] ?? 'active' },
      { id: 4, nodeId: 2, cohort: 2, state: states[4] ?? 'active' },
      { id: 5, nodeId: 2, cohort: 3, state: states[5] ?? 'active' }
    ],
    [
      { parentId: 1, childId: 2 },
      { parentId: 2, childId: 4 },
      { parentId: 3, childId: 4 },
      { parentId: 4, childId: 5 }
    ]
  )
}

const plain = (plan: Map<number, NodeRoleState>) => Object.fromEntries([...plan].sort(([a], [b]) => a - b))

describe('noderole graph ripples', () => {
  it('commit judges parents before children, using the states the commit itself gives them', () => {
    const g = graph({ 1: 'proposed', 2: 'proposed', 3: 'active', 4: 'proposed', 5: 'proposed' })
    expect(plain(planCommit(g, [5, 4, 2, 1]))).toEqual({ 1: 'todo', 2: 'blocked', 4: 'blocked', 5: 'blocked' })
  })

  it('success activates the noderole and releases each blocked child whose parents are all active', () => {
    const g = graph({ 2: 'transition', 4: 'blocked', 5: 'blocked' })
    expect(plain(planSuccess(g, 2, true))).toEqual({ 2: 'active', 4: 'todo' })
  })

  it('success does not release a child that still waits for another parent', () => {
    const g = graph({ 2: 'transition', 3: 'todo', 4: 'blocked', 5: 'blocked' })
    expect(plain(planSuccess(g, 2, true))).toEqual({ 2: 'active' })
  })

  it('failure errs the noderole and blocks every committed descendant on any node', () => {
    const g = graph({ 1: 'transition', 2: 'todo', 4: 'active', 5: 'proposed' })
    expect(plain(planFailure(g, 1))).toEqual({ 1: 'error', 2: 'blocked', 4: 'blocked' })
  })

  it('re-running an active noderole blocks its descendants until it is active again', () => {
    expect(plain(planStart(graph({}), 2))).toEqual({ 2: 'transition', 4: 'blocked', 5: 'blocked' })
  })

  it('retry moves an error to todo when parents are active', () => {
    expect(plain(planRetry(graph({ 2: 'error', 4: 'blocked' }), 2))).toEqual({ 2: 'todo' })
    expect(() => planRetry(graph({}), 2)).toThrow(/cannot take event retry/)
  })

  it('a dead node sends its noderoles to todo or blocked and blocks descendants on other nodes', () => {
    // Node 1 dies: 1 has no parents -> todo; 2's parent 1 is no longer active -> blocked;
    // 4 and 5 live on node 2 but descend from 2 -> blocked; 3 is unrelated -> stays active.
    expect(plain(planNodeDeath(graph({}), 1))).toEqual({ 1: 'todo', 2: 'blocked', 4: 'blocked', 5: 'blocked' })
  })

  it('a dead node leaves proposed and running noderoles as they are', () => {
    const g = graph({ 1: 'proposed', 2: 'transition' })
    expect(plain(planNodeDeath(g, 1))).toEqual({ 4: 'blocked', 5: 'blocked' })
  })
})
