// A node's boot progress as a compact step indicator: PXE → discovery → install → local disk →
// alive, the steps reached filled, the furthest named (with the install's last step), and the
// times each began in the tooltip. Memoised: the nodes table draws one per node.
import { memo } from 'react'
import { BOOT_PHASES, type BootProgress } from '../../../src-main/model'
import { formatTime } from '../time-format'
import { PHASE_LABELS } from './boot-event-text'
import './boot.css'

function tooltip(progress: BootProgress): string {
  const lines = BOOT_PHASES.map((p) => `${PHASE_LABELS[p]}: ${progress.phases[p] ? formatTime(progress.phases[p]) : 'not yet'}`)
  if (progress.install_step) lines.push(`install step: ${progress.install_step}`)
  if (progress.last_event_at) lines.push(`last boot event: ${formatTime(progress.last_event_at)}`)
  return lines.join('\n')
}

export const BootProgressSteps = memo(function BootProgressSteps({ progress, nodeName }: { progress: BootProgress | undefined; nodeName: string }) {
  if (!progress || progress.phase === null) {
    return (
      <span className="boot-steps muted" data-testid={`boot-progress-${nodeName}`} data-phase="none">
        no boot seen
      </span>
    )
  }
  const reached = BOOT_PHASES.indexOf(progress.phase)
  const current = PHASE_LABELS[progress.phase]
  const step = progress.phase === 'install' && progress.install_step ? ` (${progress.install_step})` : ''
  return (
    <span
      className="boot-steps"
      title={tooltip(progress)}
      data-testid={`boot-progress-${nodeName}`}
      data-phase={progress.phase}
      aria-label={`boot progress: ${current}${step}, step ${reached + 1} of ${BOOT_PHASES.length}`}
    >
      <span className="boot-step-dots" aria-hidden="true">
        {BOOT_PHASES.map((p, i) => (
          <span key={p} className={i < reached ? 'boot-dot reached' : i === reached ? 'boot-dot current' : 'boot-dot'} />
        ))}
      </span>
      <span className="boot-step-name" aria-hidden="true">
        {current}
        {step}
      </span>
    </span>
  )
})
