// One noderole opened from the graph or the board: its state, its attribute layers, its runs and
// their logs; retry when in error, remove while proposed, user data while the deployment is proposed.
import { useEffect, useState } from 'react'
import type { ChangeEvent } from '../../../src-main/model'
import { ErrorAlert } from '../errors/ErrorAlert'
import { errorText } from '../errors/error-text'
import { useClient } from '../live/LiveContext'
import { useLiveResource } from '../live/use-live-resource'
import { AttributeLayers } from './AttributeLayers'
import { NodeRoleRuns } from './NodeRoleRuns'
import { UserDataEditor } from './UserDataEditor'
import './detail.css'

interface Props {
  readonly id: number
  readonly deploymentProposed: boolean
  readonly onClose: () => void
  readonly onChanged: () => void
}

export function NodeRoleDetail({ id, deploymentProposed, onClose, onChanged }: Props) {
  const client = useClient()
  const relevant = (e: ChangeEvent): boolean => e.kind === 'noderole' && e.id === id
  const detail = useLiveResource(`nr-${id}`, () => client.api.getNodeRole({ id }), relevant)
  const jobs = useLiveResource(`jobs-${id}`, () => client.api.listJobs({ noderole_id: id, limit: 20 }), relevant)
  const [actionError, setActionError] = useState<string | null>(null)

  useEffect(() => {
    const onKey = (e: KeyboardEvent): void => {
      if (e.key === 'Escape' && !(e.target instanceof HTMLTextAreaElement || e.target instanceof HTMLInputElement)) onClose()
    }
    window.addEventListener('keydown', onKey)
    return () => window.removeEventListener('keydown', onKey)
  }, [onClose])

  const act = async (work: () => Promise<unknown>, what: string): Promise<void> => {
    setActionError(null)
    try {
      await work()
      onChanged()
    } catch (err) {
      setActionError(`${what}: ${errorText(err)}`)
    }
  }

  const nr = detail.data
  return (
    <aside className="detail" aria-labelledby="detail-title" data-testid="noderole-detail">
      <div className="detail-head">
        <h3 id="detail-title">{nr ? `${nr.role} on ${nr.node}` : `Noderole ${id}`}</h3>
        <button type="button" className="close" onClick={onClose} aria-label="Close the noderole details">
          ×
        </button>
      </div>
      <ErrorAlert messages={[detail.error, jobs.error, actionError].filter((m): m is string => m !== null)} />
      {!nr && !detail.error && <p>Loading…</p>}
      {nr && (
        <>
          <dl className="facts">
            <dt>State</dt>
            <dd className={`state state-${nr.state}`} data-testid="detail-state">
              {nr.state}
            </dd>
            <dt>Cohort</dt>
            <dd>{nr.cohort}</dd>
            <dt>Runs</dt>
            <dd>{nr.run_count}</dd>
            <dt>Parents</dt>
            <dd>{nr.parents.length}</dd>
          </dl>
          <div className="actions">
            {nr.state === 'error' && (
              <button type="button" onClick={() => void act(() => client.api.retryNodeRole({ id }), 'Retry refused')}>
                Retry
              </button>
            )}
            {nr.state === 'proposed' && (
              <button
                type="button"
                onClick={() =>
                  void act(async () => {
                    await client.api.deleteNodeRole({ id })
                    onClose()
                  }, 'Cannot remove it')
                }
              >
                Remove binding
              </button>
            )}
          </div>
          <section aria-labelledby="runlog-title">
            <h4 id="runlog-title">Last run log</h4>
            <pre className="log" data-testid="runlog" tabIndex={0} aria-label="Last run log">
              {nr.runlog === '' ? '(not run yet)' : nr.runlog}
            </pre>
          </section>
          <NodeRoleRuns jobs={jobs.data ?? []} />
          <AttributeLayers detail={nr} />
          {deploymentProposed && <UserDataEditor key={nr.id} detail={nr} onSaved={detail.reload} />}
        </>
      )}
    </aside>
  )
}
