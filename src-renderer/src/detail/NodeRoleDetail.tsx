// One noderole opened from the graph or the board: its state, its attribute layers, its runs and
// their logs; retry when in error, remove while proposed, user data while the deployment is proposed;
// why it waits while todo or blocked.
import { useEffect, useRef, useState } from 'react'
import type { ChangeEvent } from '../../../src-main/model'
import { ErrorAlert } from '../errors/ErrorAlert'
import { errorText } from '../errors/error-text'
import { useClient } from '../live/LiveContext'
import { useLiveResource } from '../live/use-live-resource'
import { waitingChange } from '../noderoles/waiting-reasons'
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
  // While it waits, what it waits for may change anywhere (its node, a parent, the queue).
  const waits = useRef(false)
  const detail = useLiveResource(`nr-${id}`, () => client.api.getNodeRole({ id }), (e) => relevant(e) || (waits.current && waitingChange(e)))
  const jobs = useLiveResource(`jobs-${id}`, () => client.api.listJobs({ noderole_id: id, limit: 20 }), relevant)
  useEffect(() => {
    waits.current = detail.data?.waiting != null
  })
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
            {nr.waiting && (
              <>
                <dt>Waiting</dt>
                <dd className={`waiting waiting-${nr.waiting.reason}`} data-testid="detail-waiting" data-reason={nr.waiting.reason}>
                  {nr.waiting.message}
                </dd>
              </>
            )}
          </dl>
          <div className="actions">
            {nr.state === 'error' && (
              <button type="button" onClick={() => void act(() => client.api.retryNodeRole({ id }), 'Retry refused')}>
                Retry
              </button>
            )}
            {nr.state === 'active' && (
              <button type="button" onClick={() => void act(() => client.api.rerunNodeRole({ id }), 'Re-run refused')}>
                Re-run
              </button>
            )}
            <label className="toggle" title="An unavailable noderole is left alone by the annealer; its state does not change">
              <input
                type="checkbox"
                checked={nr.available}
                onChange={(e) => {
                  const available = e.target.checked
                  void act(() => client.api.updateNodeRole({ id, available }), 'Cannot change availability')
                }}
              />{' '}
              Available
            </label>
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
