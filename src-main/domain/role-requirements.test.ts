import { describe, expect, it } from 'vitest'
import { findRequirementCycle, providersOf, unresolvedRequirements } from './role-requirements'

const role = (name: string, requires: string[] = [], provides: string[] = []) => ({ name, requires, provides })

describe('role requirements', () => {
  it('finds a requirement cycle and names it', () => {
    expect(findRequirementCycle([role('a', ['b']), role('b', ['c']), role('c', ['a'])])).toEqual(['a', 'b', 'c', 'a'])
    expect(findRequirementCycle([role('a', ['a'])])).toEqual(['a', 'a'])
  })

  it('sees a cycle through a role that provides the requirement', () => {
    expect(findRequirementCycle([role('a', ['db']), role('pg', ['a'], ['db'])])).toEqual(['a', 'pg', 'a'])
  })

  it('accepts a diamond', () => {
    expect(findRequirementCycle([role('a'), role('b', ['a']), role('c', ['a']), role('d', ['b', 'c'])])).toBeNull()
  })

  it('prefers the role of the required name over roles that provide it', () => {
    const roles = [role('pg', [], ['db']), role('db')]
    expect(providersOf(roles, 'db').map((r) => r.name)).toEqual(['db', 'pg'])
  })

  it('lists requirements nothing satisfies', () => {
    expect(unresolvedRequirements([role('a', ['missing', 'b']), role('b')])).toEqual([{ role: 'a', requires: 'missing' }])
  })
})
