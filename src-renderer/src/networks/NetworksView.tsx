// The networks: pick one to edit, or start a new one.
import { useState } from 'react'
import type { ChangeEvent } from '../../../src-main/model'
import { ErrorAlert } from '../errors/ErrorAlert'
import { useClient } from '../live/LiveContext'
import { useLiveResource } from '../live/use-live-resource'
import { NetworkEditor } from './NetworkEditor'
import './networks.css'

// Network edits (from any window), node changes (deleting a node frees its addresses) and new
// bindings (a network role allocates addresses) all change what this view shows.
const relevant = (e: ChangeEvent): boolean => e.kind === 'network' || e.kind === 'node' || (e.kind === 'noderole' && e.action !== 'updated')

export function NetworksView({ onAddressesChanged }: { onAddressesChanged: () => void }) {
  const client = useClient()
  const networks = useLiveResource('networks', () => client.api.listNetworks({}), relevant)
  const [selected, setSelected] = useState<number | 'new' | null>(null)
  const list = networks.data ?? []
  const current = selected === 'new' ? null : (list.find((n) => n.id === selected) ?? list[0] ?? null)

  return (
    <main className="networks-view">
      <nav className="sidebar" aria-labelledby="networks-title">
        <h2 id="networks-title">Networks</h2>
        <ul className="tree" data-testid="networks">
          {list.map((n) => (
            <li key={n.id}>
              <button type="button" aria-pressed={selected !== 'new' && current?.id === n.id} onClick={() => setSelected(n.id)}>
                <span className="name">{n.name}</span> <span className="muted">{n.category}</span>
              </button>
            </li>
          ))}
        </ul>
        <button type="button" onClick={() => setSelected('new')} aria-pressed={selected === 'new'}>
          New network
        </button>
      </nav>
      <div className="network-pane">
        <ErrorAlert messages={networks.error ? [networks.error] : []} />
        {(current || selected === 'new') && (
          <NetworkEditor
            key={selected === 'new' ? 'new' : String(current?.id)}
            network={selected === 'new' ? null : current}
            onSaved={(n) => {
              networks.reload()
              onAddressesChanged()
              setSelected(n.id)
            }}
            onDeleted={() => {
              networks.reload()
              setSelected(null)
            }}
          />
        )}
      </div>
    </main>
  )
}
