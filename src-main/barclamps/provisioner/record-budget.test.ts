// The recorder's budget: a burst per MAC, then its sustained rate; an overall bound; refused items
// counted and reported with the next one admitted.
import { describe, expect, it } from 'vitest'
import { RecordBudget } from './record-budget'

describe('RecordBudget', () => {
  it('admits a MAC’s burst, then its sustained rate, and says how many it refused in between', () => {
    let now = 0
    const budget = new RecordBudget({ perMacPerSecond: 10, perMacBurst: 5, totalPerSecond: 1000, totalBurst: 1000, now: () => now })
    const a = Array.from({ length: 8 }, () => budget.admit('52:54:00:00:00:01').admitted)
    expect(a).toEqual([true, true, true, true, true, false, false, false])
    // Another MAC has its own bucket.
    expect(budget.admit('52:54:00:00:00:02').admitted).toBe(true)
    now += 100 // one token back
    expect(budget.admit('52:54:00:00:00:01')).toEqual({ admitted: true, refusedBefore: 3 })
    expect(budget.admit('52:54:00:00:00:01')).toEqual({ admitted: false, refusedBefore: 0 })
    now += 10_000 // refilled to the burst, not beyond
    expect(Array.from({ length: 6 }, () => budget.admit('52:54:00:00:00:01').admitted).filter(Boolean)).toHaveLength(5)
    expect(budget.takeRefused()).toBe(5)
    expect(budget.takeRefused()).toBe(0)
  })

  it('bounds all MACs together: a flood of new MACs is held to the overall rate', () => {
    let now = 0
    const budget = new RecordBudget({ perMacPerSecond: 10, perMacBurst: 5, totalPerSecond: 100, totalBurst: 50, now: () => now })
    const mac = (i: number): string => `02:00:00:00:${((i >> 8) & 0xff).toString(16).padStart(2, '0')}:${(i & 0xff).toString(16).padStart(2, '0')}`
    let admitted = 0
    for (let i = 0; i < 1000; i++) if (budget.admit(mac(i)).admitted) admitted++
    expect(admitted).toBe(50)
    now += 1000
    for (let i = 1000; i < 2000; i++) if (budget.admit(mac(i)).admitted) admitted++
    expect(admitted).toBe(100)
  })
})
