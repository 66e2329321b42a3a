// React Flow nodes and edges from a layout and the current noderole states. Node objects are
// reused while their state, waiting reason and selection are unchanged, so a batch of state changes touches only
// the noderoles that changed. Handles and sizes are given up front: React Flow then has no need
// to render every node once to measure it, and renders only what is in view.
import { Position, type Edge } from '@xyflow/react'
import type { NodeRole } from '../../../src-main/model'
import { CARD_HEIGHT, CARD_WIDTH, type GraphLayout } from './graph-layout'
import type { NodeRoleFlowNode } from './NodeRoleCard'

const HANDLES: NonNullable<NodeRoleFlowNode['handles']> = [
  { type: 'target', position: Position.Left, x: 0, y: CARD_HEIGHT / 2 - 0.5, width: 1, height: 1 },
  { type: 'source', position: Position.Right, x: CARD_WIDTH - 1, y: CARD_HEIGHT / 2 - 0.5, width: 1, height: 1 }
]

interface Cached {
  readonly layout: GraphLayout
  readonly state: NodeRole['state']
  readonly waiting: string
  readonly selected: boolean
  readonly node: NodeRoleFlowNode
}

export class FlowNodes {
  private cache = new Map<number, Cached>()

  build(layout: GraphLayout, noderoles: readonly NodeRole[], selectedId: number | null): NodeRoleFlowNode[] {
    const next = new Map<number, Cached>()
    const nodes: NodeRoleFlowNode[] = []
    for (const nr of noderoles) {
      const position = layout.positions.get(nr.id)
      if (!position) continue // not laid out yet: the structure is reloading
      const selected = nr.id === selectedId
      const waiting = nr.waiting ? `${nr.waiting.reason}:${nr.waiting.message}` : ''
      const cached = this.cache.get(nr.id)
      const reuse =
        cached !== undefined && cached.layout === layout && cached.state === nr.state && cached.waiting === waiting && cached.selected === selected
      const node: NodeRoleFlowNode = reuse
        ? cached.node
        : {
            id: String(nr.id),
            type: 'noderole',
            position,
            data: { role: nr.role, node: nr.node, state: nr.state, waiting: nr.waiting },
            width: CARD_WIDTH,
            height: CARD_HEIGHT,
            handles: HANDLES,
            draggable: false,
            connectable: false,
            selected,
            ariaLabel: `${nr.role} on ${nr.node}: ${nr.state}${nr.waiting ? `; ${nr.waiting.message}` : ''}`
          }
      next.set(nr.id, { layout, state: nr.state, waiting, selected, node })
      nodes.push(node)
    }
    this.cache = next
    return nodes
  }
}

export function flowEdges(layout: GraphLayout): Edge[] {
  return layout.edges.map(({ source, target }) => ({
    id: `${source}>${target}`,
    source: String(source),
    target: String(target),
    selectable: false,
    focusable: false
  }))
}
