// Queue and progress: the annealer, each committed deployment's progress, the runs in flight,
// and the anneal timeline with each run's log.
import { useEffect, useMemo, useState } from 'react'
import type { ChangeEvent, Deployment, Job, Node } from '../../../src-main/model'
import { DeploymentProgress } from '../deployments/DeploymentProgress'
import { ErrorAlert } from '../errors/ErrorAlert'
import { errorText } from '../errors/error-text'
import { useClient } from '../live/LiveContext'
import { useLiveResource } from '../live/use-live-resource'
import { formatDuration, formatTime } from '../time-format'
import { AnnealerControl } from './AnnealerControl'
import { AnnealTimeline } from './AnnealTimeline'
import './queue.css'

const runChange = (e: ChangeEvent): boolean => e.kind === 'noderole' && e.state !== undefined
const bindingChange = (e: ChangeEvent): boolean => e.kind === 'noderole' && e.action !== 'updated'

export function QueueView({ deployments, nodes }: { deployments: readonly Deployment[]; nodes: readonly Node[] }) {
  const client = useClient()
  const jobs = useLiveResource('jobs', () => client.api.listJobs({ limit: 500 }), runChange, 300)
  const noderoles = useLiveResource('all-noderoles', () => client.api.listNodeRoles({}), bindingChange, 500)
  const [open, setOpen] = useState<{ job: Job; output: string } | null>(null)
  const [error, setError] = useState<string | null>(null)
  const [now, setNow] = useState(() => Date.now())

  const list = useMemo(() => jobs.data ?? [], [jobs.data])
  const inFlight = list.filter((j) => j.state === 'running' || j.state === 'queued')
  useEffect(() => {
    setNow(Date.now())
    if (!list.some((j) => j.state === 'running')) return
    const timer = setInterval(() => setNow(Date.now()), 1000)
    return () => clearInterval(timer)
  }, [list])

  const nodeNames = useMemo(() => new Map(nodes.map((n) => [n.id, n.name])), [nodes])
  const roleOf = useMemo(() => new Map((noderoles.data ?? []).map((nr) => [nr.id, nr.role])), [noderoles.data])
  const nodeName = (id: number): string => nodeNames.get(id) ?? `node ${id}`
  const runName = (j: Job): string => `${roleOf.get(j.noderole_id) ?? `noderole ${j.noderole_id}`} on ${nodeName(j.node_id)}`

  const openJob = async (job: Job): Promise<void> => {
    setError(null)
    try {
      const detail = await client.api.getJob({ id: job.id })
      setOpen({ job, output: detail.output })
    } catch (err) {
      setError(errorText(err))
    }
  }

  const committed = deployments.filter((d) => d.state !== 'proposed')
  return (
    <main className="queue-view">
      <div className="queue-side">
        <AnnealerControl />
        <section aria-labelledby="progress-title" className="panel">
          <h3 id="progress-title">Progress</h3>
          {committed.map((d) => (
            <div key={d.id} className="progress-row">
              <span className="name">{d.name}</span>
              <DeploymentProgress deployment={d} />
            </div>
          ))}
        </section>
        <section aria-labelledby="inflight-title" className="panel">
          <h3 id="inflight-title">Running and queued</h3>
          {inFlight.length === 0 ? (
            <p className="empty">Nothing running.</p>
          ) : (
            <table data-testid="jobs-in-flight">
              <tbody>
                {inFlight.map((j) => (
                  <tr key={j.id}>
                    <td>{runName(j)}</td>
                    <td className={`job-${j.state}`}>{j.state}</td>
                    <td>{j.state === 'running' ? formatDuration(j.started_at, null, now) : formatTime(j.created_at)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </section>
      </div>
      <section className="queue-main panel" aria-labelledby="timeline-title">
        <h3 id="timeline-title">Anneal timeline</h3>
        <ErrorAlert messages={[jobs.error, noderoles.error, error].filter((m): m is string => m !== null)} />
        <AnnealTimeline jobs={list} now={now} nodeName={nodeName} runName={runName} onOpen={(j) => void openJob(j)} />
        {open && (
          <div className="job-log">
            <h4>
              Job {open.job.id}: {runName(open.job)}, {open.job.state}
            </h4>
            <pre className="log" data-testid="timeline-job-output" tabIndex={0}>
              {open.output === '' ? '(no output)' : open.output}
            </pre>
          </div>
        )}
      </section>
    </main>
  )
}
