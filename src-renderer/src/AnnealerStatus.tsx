// The annealer at a glance in the header: jig runs running and queued.
import type { ChangeEvent } from '../../src-main/model'
import { useClient } from './live/LiveContext'
import { useLiveResource } from './live/use-live-resource'

const relevant = (e: ChangeEvent): boolean => e.kind === 'noderole' && e.state !== undefined

export function AnnealerStatus() {
  const client = useClient()
  const status = useLiveResource('annealer', () => client.api.getAnnealer({}), relevant, 400)
  if (!status.data) return null
  const { running, queued, max_jobs } = status.data
  return (
    <p className="annealer-status" role="status" aria-live="off" data-testid="annealer-status">
      Annealer: {running} running, {queued} queued <span className="muted">(at most {max_jobs} at once)</span>
    </p>
  )
}
