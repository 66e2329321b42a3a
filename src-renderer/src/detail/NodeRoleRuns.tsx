// A noderole's jig runs (jobs), newest first, each with its captured output on demand.
import { useState } from 'react'
import type { Job } from '../../../src-main/model'
import { ErrorAlert } from '../errors/ErrorAlert'
import { errorText } from '../errors/error-text'
import { useClient } from '../live/LiveContext'
import { formatDuration, formatTime } from '../time-format'

export function NodeRoleRuns({ jobs }: { jobs: readonly Job[] }) {
  const client = useClient()
  const [open, setOpen] = useState<{ id: number; output: string } | null>(null)
  const [error, setError] = useState<string | null>(null)

  const show = async (id: number): Promise<void> => {
    if (open?.id === id) {
      setOpen(null)
      return
    }
    setError(null)
    try {
      const job = await client.api.getJob({ id })
      setOpen({ id, output: job.output })
    } catch (err) {
      setError(errorText(err))
    }
  }

  return (
    <section aria-labelledby="runs-title">
      <h4 id="runs-title">Runs</h4>
      {jobs.length === 0 ? (
        <p className="empty">No runs yet.</p>
      ) : (
        <table className="runs" data-testid="noderole-runs">
          <thead>
            <tr>
              <th>Job</th>
              <th>State</th>
              <th>Started</th>
              <th>Took</th>
              <th>Log</th>
            </tr>
          </thead>
          <tbody>
            {jobs.map((j) => (
              <tr key={j.id}>
                <td>#{j.id}</td>
                <td className={`job-${j.state}`}>{j.state}</td>
                <td>{formatTime(j.started_at)}</td>
                <td>{formatDuration(j.started_at, j.finished_at)}</td>
                <td>
                  <button type="button" className="link" aria-expanded={open?.id === j.id} onClick={() => void show(j.id)}>
                    {open?.id === j.id ? 'Hide log' : `Show log of job ${j.id}`}
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <ErrorAlert messages={error ? [error] : []} />
      {open && (
        <pre className="log" data-testid="job-output" tabIndex={0} aria-label={`Output of job ${open.id}`}>
          {open.output === '' ? '(no output)' : open.output}
        </pre>
      )}
    </section>
  )
}
