// Automatic layout of a deployment's noderole graph, computed once per structure. Each connected
// piece (typically one node's chain of roles) is laid out left to right by dagre, parents before
// children; pieces of the same shape (the same roles wired the same way, as when one role is bound
// to hundreds of nodes) reuse one dagre run; then the pieces are packed onto shelves.
import dagre from '@dagrejs/dagre'

export const CARD_WIDTH = 184
export const CARD_HEIGHT = 52
const NODE_SEPARATION = 14
const RANK_SEPARATION = 46
const PIECE_GAP = 36
const MIN_SHELF_WIDTH = 1000

export interface LayoutNodeRole {
  readonly id: number
  readonly role: string
  readonly parents: readonly number[]
}

export interface Point {
  readonly x: number
  readonly y: number
}

export interface GraphLayout {
  /** Top-left corner of each noderole's card. */
  readonly positions: ReadonlyMap<number, Point>
  /** Parent → child, only between noderoles of this graph. */
  readonly edges: readonly { readonly source: number; readonly target: number }[]
  readonly width: number
  readonly height: number
}

interface PieceLayout {
  /** Position of each member, in the order the piece's members were given. */
  readonly positions: readonly Point[]
  readonly width: number
  readonly height: number
}

function find(parent: Map<number, number>, id: number): number {
  let root = id
  while (parent.get(root) !== root) root = parent.get(root) as number
  let step = id
  while (step !== root) {
    const next = parent.get(step) as number
    parent.set(step, root)
    step = next
  }
  return root
}

function runDagre(members: readonly LayoutNodeRole[], edges: readonly (readonly [number, number])[]): PieceLayout {
  if (members.length === 1) return { positions: [{ x: 0, y: 0 }], width: CARD_WIDTH, height: CARD_HEIGHT }
  const g = new dagre.graphlib.Graph()
  g.setGraph({ rankdir: 'LR', nodesep: NODE_SEPARATION, ranksep: RANK_SEPARATION, marginx: 0, marginy: 0 })
  g.setDefaultEdgeLabel(() => ({}))
  members.forEach((_, i) => g.setNode(String(i), { width: CARD_WIDTH, height: CARD_HEIGHT }))
  for (const [from, to] of edges) g.setEdge(String(from), String(to))
  dagre.layout(g)
  let maxX = 0
  let maxY = 0
  const positions = members.map((_, i) => {
    const label = g.node(String(i)) as { x?: number; y?: number }
    const x = (label.x ?? 0) - CARD_WIDTH / 2
    const y = (label.y ?? 0) - CARD_HEIGHT / 2
    maxX = Math.max(maxX, x + CARD_WIDTH)
    maxY = Math.max(maxY, y + CARD_HEIGHT)
    return { x, y }
  })
  return { positions, width: maxX, height: maxY }
}

/** A piece's shape, when its roles are distinct (members are then ordered by role); else null. */
function shapeOf(members: LayoutNodeRole[], indexOf: ReadonlyMap<number, number>): { key: string; edges: [number, number][] } | null {
  members.sort((a, b) => (a.role < b.role ? -1 : a.role > b.role ? 1 : a.id - b.id))
  for (let i = 1; i < members.length; i++) if (members[i]?.role === members[i - 1]?.role) return null
  const local = new Map(members.map((m, i) => [m.id, i]))
  const edges: [number, number][] = []
  members.forEach((m, i) => {
    for (const p of m.parents) {
      const from = local.get(p)
      if (from !== undefined && indexOf.has(p)) edges.push([from, i])
    }
  })
  const key = `${members.map((m) => m.role).join(',')}|${edges.map(([a, b]) => `${a}>${b}`).join(',')}`
  return { key, edges }
}

export function layoutGraph(noderoles: readonly LayoutNodeRole[]): GraphLayout {
  const indexOf = new Map(noderoles.map((nr, i) => [nr.id, i]))
  const parent = new Map(noderoles.map((nr) => [nr.id, nr.id]))
  const edges: { source: number; target: number }[] = []
  for (const nr of noderoles) {
    for (const p of nr.parents) {
      if (!indexOf.has(p)) continue
      edges.push({ source: p, target: nr.id })
      const a = find(parent, p)
      const b = find(parent, nr.id)
      if (a !== b) parent.set(a, b)
    }
  }

  // Pieces in the order of their first member (the API lists noderoles by cohort, then id).
  const pieces = new Map<number, LayoutNodeRole[]>()
  for (const nr of noderoles) {
    const root = find(parent, nr.id)
    const piece = pieces.get(root)
    if (piece) piece.push(nr)
    else pieces.set(root, [nr])
  }

  const shapes = new Map<string, PieceLayout>()
  const laidOut: { members: LayoutNodeRole[]; layout: PieceLayout }[] = []
  for (const members of pieces.values()) {
    const shape = shapeOf(members, indexOf)
    if (shape) {
      let layout = shapes.get(shape.key)
      if (!layout) {
        layout = runDagre(members, shape.edges)
        shapes.set(shape.key, layout)
      }
      laidOut.push({ members, layout })
      continue
    }
    const local = new Map(members.map((m, i) => [m.id, i]))
    const pieceEdges: [number, number][] = []
    members.forEach((m, i) => {
      for (const p of m.parents) {
        const from = local.get(p)
        if (from !== undefined) pieceEdges.push([from, i])
      }
    })
    laidOut.push({ members, layout: runDagre(members, pieceEdges) })
  }

  const shelfWidth = Math.max(MIN_SHELF_WIDTH, ...laidOut.map((p) => p.layout.width))
  const positions = new Map<number, Point>()
  let x = 0
  let y = 0
  let shelfHeight = 0
  let width = 0
  for (const { members, layout } of laidOut) {
    if (x > 0 && x + layout.width > shelfWidth) {
      x = 0
      y += shelfHeight + PIECE_GAP
      shelfHeight = 0
    }
    members.forEach((m, i) => {
      const at = layout.positions[i] ?? { x: 0, y: 0 }
      positions.set(m.id, { x: x + at.x, y: y + at.y })
    })
    x += layout.width + PIECE_GAP
    width = Math.max(width, x - PIECE_GAP)
    shelfHeight = Math.max(shelfHeight, layout.height)
  }
  return { positions, edges, width, height: y + shelfHeight }
}
