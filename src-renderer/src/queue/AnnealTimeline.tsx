// The anneal timeline: a Gantt of jig runs, one row per node, colored by outcome. Each bar is a
// button: it names its run and opens the run's log.
import { useMemo, useState } from 'react'
import type { Job } from '../../../src-main/model'
import { formatDuration } from '../time-format'
import { latestBurst, layoutTimeline } from './timeline-layout'

interface Props {
  readonly jobs: readonly Job[]
  readonly now: number
  readonly nodeName: (id: number) => string
  readonly runName: (job: Job) => string
  readonly onOpen: (job: Job) => void
}

const MAX_ROWS = 60
/** A quiet spell this long ends a burst of work. */
const BURST_GAP_MS = 2 * 60_000

export function AnnealTimeline({ jobs, now, nodeName, runName, onOpen }: Props) {
  const [all, setAll] = useState(false)
  const shown = useMemo(() => (all ? jobs : latestBurst(jobs, now, BURST_GAP_MS)), [all, jobs, now])
  const timeline = useMemo(() => layoutTimeline(shown, now), [shown, now])
  if (timeline.bars.length === 0) return <p className="empty">No jig runs yet: commit a deployment to start the annealer.</p>
  const rows = timeline.rows.slice(0, MAX_ROWS)
  const span = timeline.end - timeline.start
  return (
    <div className="timeline" data-testid="anneal-timeline">
      <label className="timeline-choice">
        <input type="checkbox" checked={all} onChange={(e) => setAll(e.target.checked)} /> All runs (not only the latest burst of work)
      </label>
      <div className="timeline-scale" aria-hidden="true">
        <span>{new Date(timeline.start).toLocaleTimeString()}</span>
        <span>span {span < 1000 ? `${span} ms` : `${(span / 1000).toFixed(1)} s`}</span>
        <span>{new Date(timeline.end).toLocaleTimeString()}</span>
      </div>
      <ul className="timeline-rows">
        {rows.map((nodeId, row) => (
          <li key={nodeId} className="timeline-row">
            <span className="timeline-node" title={nodeName(nodeId)}>
              {nodeName(nodeId)}
            </span>
            <span className="timeline-track">
              {timeline.bars
                .filter((b) => b.row === row)
                .map((b) => (
                  <button
                    key={b.job.id}
                    type="button"
                    className={`bar bar-${b.job.state}`}
                    style={{ left: `${b.left * 100}%`, width: `${b.width * 100}%` }}
                    aria-label={`${runName(b.job)}: ${b.job.state}, ${formatDuration(b.job.started_at, b.job.finished_at, now)}`}
                    title={`${runName(b.job)}: ${b.job.state}, ${formatDuration(b.job.started_at, b.job.finished_at, now)}`}
                    onClick={() => onOpen(b.job)}
                  />
                ))}
            </span>
          </li>
        ))}
      </ul>
      {timeline.rows.length > MAX_ROWS && <p className="hint">{timeline.rows.length - MAX_ROWS} more nodes not shown.</p>}
    </div>
  )
}
