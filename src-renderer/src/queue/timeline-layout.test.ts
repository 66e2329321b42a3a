import { describe, expect, it } from 'vitest'
import type { Job } from '../../../src-main/model'
import { latestBurst, layoutTimeline } from './timeline-layout'

const job = (id: number, node: number, from: number | null, to: number | null, state: Job['state'] = 'done'): Job => ({
  id,
  noderole_id: id,
  node_id: node,
  state,
  attempt: 1,
  worker: null,
  created_at: new Date(0).toISOString(),
  started_at: from === null ? null : new Date(from).toISOString(),
  finished_at: to === null ? null : new Date(to).toISOString()
})

describe('layoutTimeline', () => {
  it('gives each node a row in the order its first run started, and bars as fractions of the span', () => {
    const t = layoutTimeline([job(2, 20, 1500, 2000), job(1, 10, 1000, 1500), job(3, 10, 1600, 1700)], 5000)
    expect(t.rows).toEqual([10, 20])
    expect(t.start).toBe(1000)
    expect(t.end).toBe(2000)
    const byId = new Map(t.bars.map((b) => [b.job.id, b]))
    expect(byId.get(1)).toMatchObject({ row: 0, left: 0, width: 0.5 })
    expect(byId.get(2)).toMatchObject({ row: 1, left: 0.5, width: 0.5 })
  })

  it('draws a running job up to now and leaves queued ones out', () => {
    const t = layoutTimeline([job(1, 10, 1000, null, 'running'), job(2, 10, null, null, 'queued')], 3000)
    expect(t.bars).toHaveLength(1)
    expect(t.end).toBe(3000)
    expect(t.bars[0]?.width).toBe(1)
  })
})

describe('latestBurst', () => {
  it('keeps the runs after the last quiet spell, overlapping runs included', () => {
    const jobs = [job(1, 10, 0, 1000), job(2, 10, 200_000, 260_000), job(3, 20, 250_000, 300_000), job(4, 20, 301_000, 302_000)]
    expect(latestBurst(jobs, 400_000, 60_000).map((j) => j.id)).toEqual([2, 3, 4])
  })

  it('keeps everything when there was no quiet spell', () => {
    const jobs = [job(1, 10, 0, 1000), job(2, 10, 30_000, 31_000)]
    expect(latestBurst(jobs, 40_000, 60_000)).toHaveLength(2)
  })
})
