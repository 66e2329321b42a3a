import pino from 'pino'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { LogRateLimit } from './log-rate-limit'

interface Line {
  level: number
  msg: string
  total?: number
  counts?: Record<string, number>
  client?: string
}

describe('rate-limited log', () => {
  let lines: Line[]
  let clock: number
  const logger = () => pino({ level: 'debug' }, { write: (l: string) => void lines.push(JSON.parse(l) as Line) })

  beforeEach(() => {
    lines = []
    clock = 0
    vi.useFakeTimers()
  })
  afterEach(() => {
    vi.useRealTimers()
  })

  it('logs the first of each kind at once and sums up the interval in one line with counts', () => {
    const limit = new LogRateLimit(logger(), { verb: 'refused', noun: 'packets', now: () => clock })
    for (let i = 0; i < 60_000; i++) limit.note('not for us', 'debug', { client: `10.0.0.${i % 250}` }, 'DHCP packet not for us')
    for (let i = 0; i < 4_623; i++) limit.note('malformed', 'warn', { client: '10.0.0.9' }, 'DHCP packet malformed')
    expect(lines.map((l) => l.msg)).toEqual(['DHCP packet not for us', 'DHCP packet malformed'])
    expect(lines[0]?.client).toBe('10.0.0.0')
    clock = 10_000
    vi.advanceTimersByTime(10_000)
    expect(lines).toHaveLength(3)
    expect(lines[2]).toMatchObject({
      level: 40,
      msg: 'refused 64,623 packets in the last 10 s: 60,000 not for us, 4,623 malformed',
      total: 64_623,
      counts: { 'not for us': 60_000, malformed: 4_623 }
    })
  })

  it('starts a new interval after the summary, logging each kind once again', () => {
    const limit = new LogRateLimit(logger(), { verb: 'refused', noun: 'packets', intervalMs: 1000, now: () => clock })
    limit.note('malformed', 'warn', {}, 'malformed')
    limit.note('malformed', 'warn', {}, 'malformed')
    clock = 1000
    vi.advanceTimersByTime(1000)
    limit.note('malformed', 'warn', {}, 'malformed')
    expect(lines.map((l) => l.msg)).toEqual(['malformed', 'refused 2 packets in the last 1 s: 2 malformed', 'malformed'])
  })

  it('writes no summary when every event of the interval was logged as it came', () => {
    const limit = new LogRateLimit(logger(), { verb: 'refused', noun: 'packets', now: () => clock })
    limit.note('a', 'warn', {}, 'a')
    limit.note('b', 'warn', {}, 'b')
    vi.advanceTimersByTime(20_000)
    expect(lines.map((l) => l.msg)).toEqual(['a', 'b'])
  })

  it('summarises at info when only debug kinds were counted, and flushes on dispose', () => {
    const limit = new LogRateLimit(logger(), { verb: 'refused', noun: 'packets', now: () => clock })
    limit.note('malformed', 'debug', {}, 'malformed')
    limit.note('malformed', 'debug', {}, 'malformed')
    clock = 2_400
    limit.dispose()
    expect(lines[1]).toMatchObject({ level: 30, msg: 'refused 2 packets in the last 2 s: 2 malformed' })
    expect(vi.getTimerCount()).toBe(0)
  })

  it('counts kinds past its cap as other, so memory stays bounded whatever the kinds', () => {
    const limit = new LogRateLimit(logger(), { verb: 'refused', noun: 'packets', maxKinds: 3, now: () => clock })
    for (let i = 0; i < 1000; i++) limit.note(`kind ${i}`, 'warn', {}, `kind ${i}`)
    limit.flush()
    expect(lines).toHaveLength(4)
    expect(lines[3]?.counts).toEqual({ 'kind 0': 1, 'kind 1': 1, 'kind 2': 1, other: 997 })
  })
})
