// Powers on the nodes selected in the table through their BMCs (one powerNodes call; the server
// bounds how many BMCs it talks to at once), then lists each node's result in words.
import { useState } from 'react'
import type { PowerResult } from '../../../src-main/model'
import { ErrorAlert } from '../errors/ErrorAlert'
import { errorText } from '../errors/error-text'
import { useClient } from '../live/LiveContext'
import { powerProgressText, powerResultText, powerSummaryText } from './power-text'
import './power.css'

interface Props {
  readonly selected: ReadonlyArray<{ readonly id: number; readonly name: string }>
  /** After the call, whatever its outcome: the power states are read again. */
  readonly onDone: () => void
}

interface Outcome {
  readonly summary: string
  readonly lines: ReadonlyArray<{ readonly key: number; readonly ok: boolean; readonly text: string }>
}

function outcomeOf(results: readonly PowerResult[], names: ReadonlyMap<number, string>): Outcome {
  return {
    summary: powerSummaryText('on', results),
    lines: results.map((r) => ({ key: r.node_id, ok: r.ok, text: powerResultText(r, names.get(r.node_id) ?? `node ${r.node_id}`) }))
  }
}

export function BulkPower({ selected, onDone }: Props) {
  const client = useClient()
  const [running, setRunning] = useState<number | null>(null)
  const [outcome, setOutcome] = useState<Outcome | null>(null)
  const [error, setError] = useState<string | null>(null)

  const powerOn = (): void => {
    const names = new Map(selected.map((n) => [n.id, n.name]))
    setRunning(selected.length)
    setOutcome(null)
    setError(null)
    client.api
      .powerNodes({ node_ids: [...names.keys()], action: 'on' })
      .then((results) => setOutcome(outcomeOf(results, names)))
      .catch((err: unknown) => setError(`Cannot power on the selected nodes: ${errorText(err)}`))
      .finally(() => {
        setRunning(null)
        onDone()
      })
  }

  return (
    <div className="bulk-power" data-testid="bulk-power">
      <div className="inline">
        <button type="button" onClick={powerOn} disabled={running !== null || selected.length === 0} title="Power on the selected nodes through their BMCs">
          {running !== null ? powerProgressText('on', running) : selected.length > 0 ? `Power on ${selected.length} selected` : 'Power on'}
        </button>
        {selected.length === 0 && running === null && <span className="hint">Select nodes to power them on.</span>}
      </div>
      <ErrorAlert messages={error ? [error] : []} onDismiss={() => setError(null)} testId="bulk-power-error" />
      {outcome && (
        <div className="power-results" data-testid="bulk-power-results">
          <p className="power-summary">
            {outcome.summary}{' '}
            <button type="button" className="link" onClick={() => setOutcome(null)}>
              Dismiss
            </button>
          </p>
          <ul>
            {outcome.lines.map((l) => (
              <li key={l.key} className={l.ok ? 'power-ok' : 'power-failed'} data-testid={`bulk-power-result-${l.key}`}>
                {l.text}
              </li>
            ))}
          </ul>
        </div>
      )}
    </div>
  )
}
