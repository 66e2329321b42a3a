// Where each jig run sits on the anneal timeline: one row per node, bars from start to finish
// (running ones up to now), as fractions of the whole span.
import type { Job } from '../../../src-main/model'

export interface TimelineBar {
  readonly job: Job
  readonly row: number
  /** Fractions of the span, 0..1. */
  readonly left: number
  readonly width: number
}

export interface Timeline {
  /** Node ids, one per row, in the order their first run started. */
  readonly rows: readonly number[]
  readonly bars: readonly TimelineBar[]
  readonly start: number
  readonly end: number
}

/** A bar never thinner than this fraction, so a 2 ms run still shows. */
const MIN_WIDTH = 0.004

export function layoutTimeline(jobs: readonly Job[], now: number): Timeline {
  const started = jobs
    .filter((j): j is Job & { started_at: string } => j.started_at !== null)
    .map((j) => ({ job: j, from: Date.parse(j.started_at), to: j.finished_at === null ? now : Date.parse(j.finished_at) }))
    .filter((s) => Number.isFinite(s.from) && Number.isFinite(s.to))
    .sort((a, b) => a.from - b.from || a.job.id - b.job.id)
  if (started.length === 0) return { rows: [], bars: [], start: now, end: now }
  const start = started[0]?.from ?? now
  const end = Math.max(...started.map((s) => s.to), start + 1)
  const span = end - start
  const rowOf = new Map<number, number>()
  const bars = started.map(({ job, from, to }) => {
    let row = rowOf.get(job.node_id)
    if (row === undefined) {
      row = rowOf.size
      rowOf.set(job.node_id, row)
    }
    const left = (from - start) / span
    const width = Math.min(Math.max((to - from) / span, MIN_WIDTH), 1 - left)
    return { job, row, left, width: Math.max(width, 0) }
  })
  return { rows: [...rowOf.keys()], bars, start, end }
}

/**
 * The runs of the latest burst of work: those after the last quiet spell longer than `gapMs` (with
 * nothing running). Anneals come in bursts after commits; one an hour ago would squash today's to
 * slivers.
 */
export function latestBurst(jobs: readonly Job[], now: number, gapMs: number): Job[] {
  const spans = jobs
    .filter((j) => j.started_at !== null)
    .map((j) => ({ job: j, from: Date.parse(j.started_at as string), to: j.finished_at === null ? now : Date.parse(j.finished_at) }))
    .sort((a, b) => a.from - b.from)
  let burstStart = 0
  let reach = -Infinity
  spans.forEach((s, i) => {
    if (i > 0 && s.from - reach > gapMs) burstStart = i
    reach = Math.max(reach, s.to)
  })
  return spans.slice(burstStart).map((s) => s.job)
}
