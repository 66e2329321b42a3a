import { describe, expect, it } from 'vitest'
import { CARD_HEIGHT, CARD_WIDTH, layoutGraph, type LayoutNodeRole } from './graph-layout'

const chain = (firstId: number, roles: readonly string[]): LayoutNodeRole[] =>
  roles.map((role, i) => ({ id: firstId + i, role, parents: i === 0 ? [] : [firstId + i - 1] }))

function overlaps(a: { x: number; y: number }, b: { x: number; y: number }): boolean {
  return a.x < b.x + CARD_WIDTH && b.x < a.x + CARD_WIDTH && a.y < b.y + CARD_HEIGHT && b.y < a.y + CARD_HEIGHT
}

describe('layoutGraph', () => {
  it('places every parent left of its children', () => {
    const layout = layoutGraph([
      { id: 1, role: 'library', parents: [] },
      { id: 2, role: 'server', parents: [1] },
      { id: 3, role: 'client', parents: [1, 2] }
    ])
    for (const { source, target } of layout.edges) {
      expect(layout.positions.get(source)?.x).toBeLessThan(layout.positions.get(target)?.x ?? -1)
    }
    expect(layout.edges).toHaveLength(3)
  })

  it('never overlaps two cards, across many pieces of the same shape', () => {
    const noderoles = Array.from({ length: 40 }, (_, n) => chain(n * 10 + 1, ['a', 'b', 'c', 'd'])).flat()
    const layout = layoutGraph(noderoles)
    const points = noderoles.map((nr) => layout.positions.get(nr.id))
    expect(points.every((p) => p !== undefined)).toBe(true)
    for (let i = 0; i < points.length; i++) {
      for (let j = i + 1; j < points.length; j++) {
        expect(overlaps(points[i] as { x: number; y: number }, points[j] as { x: number; y: number })).toBe(false)
      }
    }
  })

  it('ignores parents outside the graph (noderoles of a parent deployment)', () => {
    const layout = layoutGraph([{ id: 7, role: 'client', parents: [99] }])
    expect(layout.edges).toEqual([])
    expect(layout.positions.get(7)).toEqual({ x: 0, y: 0 })
  })

  it('lays out 5,000 noderoles in well under a second', () => {
    const roles = Array.from({ length: 20 }, (_, i) => `r${i}`)
    const noderoles = Array.from({ length: 250 }, (_, n) => chain(n * 100 + 1, roles)).flat()
    const start = performance.now()
    const layout = layoutGraph(noderoles)
    expect(performance.now() - start).toBeLessThan(1000)
    expect(layout.positions.size).toBe(5000)
  })
})
