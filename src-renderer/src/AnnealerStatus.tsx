// The annealer at a glance in the header: jig runs running and queued, and what the rest wait for.
import { useClient } from './live/LiveContext'
import { useLiveResource } from './live/use-live-resource'
import { waitingChange, waitingSummary } from './noderoles/waiting-reasons'

export function AnnealerStatus() {
  const client = useClient()
  const status = useLiveResource('annealer', () => client.api.getAnnealer({}), waitingChange, 400)
  if (!status.data) return null
  const { running, queued, max_jobs } = status.data
  const waiting = waitingSummary(status.data.waiting)
  return (
    <p className="annealer-status" role="status" aria-live="off" data-testid="annealer-status">
      Annealer: {running} running, {queued} queued
      {waiting && <span data-testid="annealer-waiting"> · waiting: {waiting}</span>} <span className="muted">(at most {max_jobs} at once)</span>
    </p>
  )
}
