// How far a deployment has converged: a bar of its noderoles by state, and "N of M active".
import { NODEROLE_STATES, type Deployment } from '../../../src-main/model'

export function DeploymentProgress({ deployment }: { deployment: Deployment }) {
  const counts = deployment.noderole_states
  const total = NODEROLE_STATES.reduce((n, s) => n + (counts[s] ?? 0), 0)
  const active = counts.active ?? 0
  const errors = counts.error ?? 0
  const label = `${deployment.name}: ${active} of ${total} noderoles active${errors > 0 ? `, ${errors} in error` : ''}`
  return (
    <div className="progress" data-testid={`progress-${deployment.name}`}>
      <div
        className="progress-bar"
        role="progressbar"
        aria-label={label}
        aria-valuemin={0}
        aria-valuemax={total}
        aria-valuenow={active}
        aria-valuetext={label}
      >
        {total > 0 &&
          NODEROLE_STATES.map((s) =>
            (counts[s] ?? 0) > 0 ? <span key={s} className={`segment legend-${s}`} style={{ width: `${((counts[s] ?? 0) / total) * 100}%` }} /> : null
          )}
      </div>
      <span className="progress-text">
        {active} of {total} active{errors > 0 ? `, ${errors} in error` : ''}
      </span>
    </div>
  )
}
