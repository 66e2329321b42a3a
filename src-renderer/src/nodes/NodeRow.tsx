// One node: selected or not (for bulk power), alive (the framework's view), its power state,
// available (the administrator's switch), bootenv, addresses, inventory and when it last changed.
import { useState } from 'react'
import type { BootProgress, Node, NodePower } from '../../../src-main/model'
import { BootProgressSteps } from '../boot/BootProgressSteps'
import { PowerCell } from '../power/PowerCell'
import { formatAgo } from '../time-format'

export type NodeWithAddresses = Node & { readonly addresses: readonly { network: string; family: 4 | 6; address: string }[] }

interface Props {
  readonly node: NodeWithAddresses
  readonly busy: boolean
  readonly onUpdate: (change: { available?: boolean; bootenv?: string }) => void
  readonly onDelete: () => void
  /** Its boot progress (undefined: none known). */
  readonly progress?: BootProgress | undefined
  /** Its boot timeline is the one open below the table. */
  readonly opened?: boolean
  readonly onOpen?: () => void
  readonly selected?: boolean
  readonly onSelect?: (selected: boolean) => void
  /** Its power state: undefined while not loaded, null when it has no BMC. */
  readonly power?: NodePower | null | undefined
}

function Inventory({ discovery }: { discovery: Node['discovery'] }) {
  const keys = Object.keys(discovery)
  if (keys.length === 0) return <span className="muted">none reported</span>
  return (
    <details>
      <summary>
        {keys.length} fact{keys.length === 1 ? '' : 's'}: {keys.slice(0, 3).join(', ')}
        {keys.length > 3 ? '…' : ''}
      </summary>
      <pre className="json">{JSON.stringify(discovery, null, 2)}</pre>
    </details>
  )
}

export function NodeRow({ node, busy, onUpdate, onDelete, progress, opened = false, onOpen, selected = false, onSelect, power }: Props) {
  const [bootenv, setBootenv] = useState(node.bootenv)
  const [confirming, setConfirming] = useState(false)
  return (
    <tr data-testid={`node-${node.name}`} className={opened ? 'node-opened' : undefined}>
      <td className="select-cell">
        <input type="checkbox" aria-label={`Select ${node.name}`} checked={selected} disabled={!onSelect} onChange={(e) => onSelect?.(e.target.checked)} />
      </td>
      <td>
        {onOpen ? (
          <button type="button" className="node-open" aria-expanded={opened} title={`Show the BMC and the boot timeline of ${node.name}`} onClick={onOpen}>
            {node.name}
          </button>
        ) : (
          node.name
        )}
      </td>
      <td>
        <span className={node.alive ? 'alive' : 'dead'}>{node.alive ? 'alive' : 'dead'}</span>
        {node.admin && <span className="tag">admin</span>}
      </td>
      <PowerCell power={power} nodeName={node.name} />
      <td>
        <button
          type="button"
          role="switch"
          className="switch"
          aria-checked={node.available}
          aria-label={`${node.name} available`}
          disabled={busy}
          onClick={() => onUpdate({ available: !node.available })}
        >
          {node.available ? 'available' : 'not available'}
        </button>
      </td>
      <td>
        <form
          className="inline"
          onSubmit={(e) => {
            e.preventDefault()
            onUpdate({ bootenv: bootenv.trim() })
          }}
        >
          <input aria-label={`${node.name} bootenv`} value={bootenv} onChange={(e) => setBootenv(e.target.value)} list="bootenvs" size={10} />
          <button type="submit" disabled={busy || bootenv.trim() === node.bootenv}>
            Set
          </button>
        </form>
      </td>
      <td>
        {node.addresses.length === 0 ? (
          <span className="muted">none</span>
        ) : (
          <ul className="addresses">
            {node.addresses.map((a) => (
              <li key={`${a.network}-${a.address}`}>
                <span className="muted">{a.network}</span> {a.address}
              </li>
            ))}
          </ul>
        )}
      </td>
      <td>
        <BootProgressSteps progress={progress} nodeName={node.name} />
      </td>
      <td>
        <Inventory discovery={node.discovery} />
      </td>
      <td title={node.last_seen_at ?? 'never seen alive'}>{node.last_seen_at ? formatAgo(node.last_seen_at) : 'never'}</td>
      <td>
        {node.admin ? null : confirming ? (
          <>
            <button type="button" className="danger" disabled={busy} onClick={onDelete}>
              Delete {node.name}
            </button>
            <button type="button" onClick={() => setConfirming(false)}>
              Keep
            </button>
          </>
        ) : (
          <button type="button" onClick={() => setConfirming(true)} aria-label={`Delete ${node.name}…`}>
            Delete…
          </button>
        )}
      </td>
    </tr>
  )
}
