// A node's power state in the nodes table: on, off or unknown as its BMC last told, the last read's
// failure in words under it (and in the tooltip with when it was read); '—' for a node without a BMC.
import type { NodePower } from '../../../src-main/model'
import { powerCellText } from './power-text'
import './power.css'

/** `power`: undefined while the states are not loaded yet, null for a node without a BMC. */
export function PowerCell({ power, nodeName }: { power: NodePower | null | undefined; nodeName: string }) {
  if (power === undefined) {
    return (
      <td className="power-cell muted" data-testid={`power-${nodeName}`} data-state="loading">
        …
      </td>
    )
  }
  const text = powerCellText(power ?? undefined)
  return (
    <td className="power-cell" data-testid={`power-${nodeName}`} data-state={power?.state ?? 'none'} title={text.title}>
      <span className={`power-state power-${power?.state ?? 'none'}`}>{text.label}</span>
      {text.failure && <span className="power-failure">{text.failure}</span>}
    </td>
  )
}
