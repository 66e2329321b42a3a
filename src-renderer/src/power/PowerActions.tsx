// A node's power buttons: each calls powerNode and says what came of it in words. Off and Power
// cycle cut a running machine, so they ask first; one action runs at a time.
import { useState } from 'react'
import { POWER_ACTIONS, type PowerAction, type PowerResult } from '../../../src-main/model'
import { ErrorAlert } from '../errors/ErrorAlert'
import { errorText } from '../errors/error-text'
import { useClient } from '../live/LiveContext'
import { CONFIRMED_ACTIONS, POWER_ACTION_LABELS, powerProgressText, powerResultText } from './power-text'

interface Props {
  readonly nodeId: number
  readonly nodeName: string
  /** After each action, whatever its outcome: the power states are read again. */
  readonly onDone: () => void
}

interface Outcome {
  readonly ok: boolean
  readonly text: string
}

// Refresh last: it reads, the others act.
const BUTTONS: readonly PowerAction[] = [...POWER_ACTIONS.filter((a) => a !== 'status'), 'status']

function outcomeOf(result: PowerResult, nodeName: string): Outcome {
  return { ok: result.ok, text: `${powerResultText(result, nodeName)}${result.ok ? ` in ${result.ms} ms.` : ''}` }
}

export function PowerActions({ nodeId, nodeName, onDone }: Props) {
  const client = useClient()
  const [running, setRunning] = useState<PowerAction | null>(null)
  const [confirming, setConfirming] = useState<PowerAction | null>(null)
  const [outcome, setOutcome] = useState<Outcome | null>(null)

  const run = (action: PowerAction): void => {
    setConfirming(null)
    setRunning(action)
    setOutcome(null)
    client.api
      .powerNode({ id: nodeId, action })
      .then((result) => setOutcome(outcomeOf(result, nodeName)))
      .catch((err: unknown) => setOutcome({ ok: false, text: `Cannot ${POWER_ACTION_LABELS[action].toLowerCase()} ${nodeName}: ${errorText(err)}` }))
      .finally(() => {
        setRunning(null)
        onDone()
      })
  }

  return (
    <div className="power-actions" data-testid="power-actions">
      <div className="inline" role="group" aria-label={`Power ${nodeName}`}>
        {BUTTONS.map((action) => (
          <button
            key={action}
            type="button"
            className={CONFIRMED_ACTIONS.has(action) ? 'danger' : undefined}
            disabled={running !== null}
            aria-pressed={confirming === action ? true : undefined}
            onClick={() => (CONFIRMED_ACTIONS.has(action) ? setConfirming(action) : run(action))}
          >
            {POWER_ACTION_LABELS[action]}
            {CONFIRMED_ACTIONS.has(action) ? '…' : ''}
          </button>
        ))}
      </div>
      {confirming && (
        <div className="power-confirm inline" role="group" aria-label="Confirm">
          <span>
            {confirming === 'off' ? `Power off ${nodeName} at once? A running system loses what it has not written.` : `Power cycle ${nodeName}? Its power is cut, then restored.`}
          </span>
          <button type="button" className="danger" onClick={() => run(confirming)}>
            {confirming === 'off' ? `Power off ${nodeName}` : `Power cycle ${nodeName}`}
          </button>
          <button type="button" onClick={() => setConfirming(null)}>
            Cancel
          </button>
        </div>
      )}
      {running && (
        <p className="hint" role="status">
          {powerProgressText(running, nodeName)}
        </p>
      )}
      {outcome?.ok && (
        <p className="status" role="status" data-testid="power-result">
          {outcome.text}
        </p>
      )}
      <ErrorAlert messages={outcome && !outcome.ok ? [outcome.text] : []} onDismiss={() => setOutcome(null)} testId="power-error" />
    </div>
  )
}
