// The annealer's queue counts, what the waiting noderoles wait for, and its concurrency limit,
// which the operator may change.
import { useState, type FormEvent } from 'react'
import { ErrorAlert } from '../errors/ErrorAlert'
import { errorText } from '../errors/error-text'
import { useClient } from '../live/LiveContext'
import { useLiveResource } from '../live/use-live-resource'
import { WAITING_LABELS, waitingChange, waitingEntries } from '../noderoles/waiting-reasons'

export function AnnealerControl() {
  const client = useClient()
  const status = useLiveResource('annealer-control', () => client.api.getAnnealer({}), waitingChange, 300)
  const [limit, setLimit] = useState('')
  const [error, setError] = useState<string | null>(null)

  const submit = async (e: FormEvent): Promise<void> => {
    e.preventDefault()
    setError(null)
    const n = Number(limit)
    if (!Number.isInteger(n) || n < 1 || n > 1000) {
      setError('the limit must be a whole number from 1 to 1000')
      return
    }
    try {
      await client.api.setAnnealer({ max_jobs: n })
      setLimit('')
      status.reload()
    } catch (err) {
      setError(errorText(err))
    }
  }

  const s = status.data
  return (
    <section aria-labelledby="annealer-title" className="panel">
      <h3 id="annealer-title">Annealer</h3>
      {s && (
        <p>
          {s.running} running, {s.queued} queued; at most {s.max_jobs} at once, one per node.
        </p>
      )}
      {s && <WaitingCounts counts={s.waiting} />}
      <form className="inline" onSubmit={(e) => void submit(e)}>
        <label>
          Runs at once <input value={limit} onChange={(e) => setLimit(e.target.value)} placeholder={s ? String(s.max_jobs) : ''} size={5} inputMode="numeric" />
        </label>
        <button type="submit">Set limit</button>
      </form>
      <ErrorAlert messages={[status.error, error].filter((m): m is string => m !== null)} />
    </section>
  )
}

/** Todo and blocked noderoles by why they wait, in the order the reasons are judged. */
function WaitingCounts({ counts }: { counts: Parameters<typeof waitingEntries>[0] }) {
  const entries = waitingEntries(counts)
  if (entries.length === 0) return <p className="empty">Nothing waiting.</p>
  return (
    <table className="waiting-counts" data-testid="queue-waiting">
      <caption>Waiting, by reason</caption>
      <tbody>
        {entries.map(([reason, n]) => (
          <tr key={reason} data-reason={reason}>
            <td>{WAITING_LABELS[reason]}</td>
            <td className="count">{n}</td>
          </tr>
        ))}
      </tbody>
    </table>
  )
}
