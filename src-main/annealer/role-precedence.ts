// Soft ordering between runs on one node: a role's `precedes` (role names, not what a role provides)
// makes its runnable noderole run before the noderoles of the roles it names on the same node.

export interface RunnableOnNode {
  readonly id: number
  readonly role: string
  /** The role names this noderole's role precedes. */
  readonly precedes: readonly string[]
}

/**
 * Which of one node's runnable noderoles (given in cohort/id order) runs next: the first one that
 * no other runnable one precedes. Only direct `precedes` between runnable noderoles count (it never
 * blocks: a preceding noderole that is not runnable holds nothing back). Noderoles on a precedes
 * cycle do not hold each other back, so a cycle falls back to cohort/id order.
 */
export function nextByPrecedence<T extends RunnableOnNode>(ordered: readonly T[]): T | undefined {
  // after[i]: the indexes of the noderoles that ordered[i] precedes (a role naming itself is ignored).
  const after = ordered.map((u) => ordered.flatMap((v, j) => (v.role !== u.role && u.precedes.includes(v.role) ? [j] : [])))
  const reaches = (from: number, to: number): boolean => {
    const seen = new Set([from])
    const stack = [from]
    for (let u = stack.pop(); u !== undefined; u = stack.pop()) {
      for (const v of after[u] ?? []) {
        if (v === to) return true
        if (!seen.has(v)) {
          seen.add(v)
          stack.push(v)
        }
      }
    }
    return false
  }
  const heldBack = (v: number): boolean => after.some((targets, u) => targets.includes(v) && !reaches(v, u))
  // A finite graph always has a noderole that nothing outside its own cycle precedes; the
  // fallback is only a guard.
  const next = ordered.findIndex((_, v) => !heldBack(v))
  return ordered[next === -1 ? 0 : next]
}
