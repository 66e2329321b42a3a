// Role requirement graph checks: which roles satisfy a requirement (by name or by `provides`), and
// whether a set of roles requires itself in a loop. Pure.

export interface RoleRequirementInfo {
  readonly name: string
  readonly requires: readonly string[]
  readonly provides: readonly string[]
}

/** Roles that satisfy `requirement`: the role of that name first, then those that provide it. */
export function providersOf<R extends RoleRequirementInfo>(roles: readonly R[], requirement: string): R[] {
  const exact = roles.filter((r) => r.name === requirement)
  const providing = roles.filter((r) => r.name !== requirement && r.provides.includes(requirement))
  return [...exact, ...providing]
}

/** The first requirement cycle found, as role names from start back to start; null if none. */
export function findRequirementCycle(roles: readonly RoleRequirementInfo[]): string[] | null {
  const WHITE = 0
  const GREY = 1
  const BLACK = 2
  const colour = new Map<string, number>(roles.map((r) => [r.name, WHITE]))
  const byName = new Map(roles.map((r) => [r.name, r]))
  const path: string[] = []

  const successors = (role: RoleRequirementInfo): string[] =>
    role.requires.flatMap((req) => providersOf(roles, req).map((r) => r.name))

  // Iterative DFS: barclamps are small, but a recursive walk would still be unbounded input depth.
  for (const start of roles) {
    if (colour.get(start.name) !== WHITE) continue
    const stack: Array<{ name: string; next: string[] }> = [{ name: start.name, next: successors(start) }]
    colour.set(start.name, GREY)
    path.push(start.name)
    while (stack.length > 0) {
      const top = stack[stack.length - 1] as { name: string; next: string[] }
      const succ = top.next.shift()
      if (succ === undefined) {
        colour.set(top.name, BLACK)
        stack.pop()
        path.pop()
        continue
      }
      const c = colour.get(succ)
      if (c === GREY) return [...path.slice(path.indexOf(succ)), succ]
      if (c === WHITE) {
        const role = byName.get(succ) as RoleRequirementInfo
        colour.set(succ, GREY)
        path.push(succ)
        stack.push({ name: succ, next: successors(role) })
      }
    }
  }
  return null
}

/** Requirements that no role in the set satisfies. */
export function unresolvedRequirements(roles: readonly RoleRequirementInfo[]): Array<{ role: string; requires: string }> {
  return roles.flatMap((r) =>
    r.requires.filter((req) => providersOf(roles, req).length === 0).map((req) => ({ role: r.name, requires: req }))
  )
}
