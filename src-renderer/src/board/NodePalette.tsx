// The nodes to bind: drag one onto a role, or select it (click, Enter or Space) and press a role's
// Bind button.
import { useMemo, useState } from 'react'
import type { Node } from '../../../src-main/model'
import { startNodeDrag } from './drag-data'

interface Props {
  readonly nodes: readonly Node[]
  readonly selectedId: number | null
  readonly onSelect: (id: number | null) => void
}

const SHOWN = 60

export function NodePalette({ nodes, selectedId, onSelect }: Props) {
  const [filter, setFilter] = useState('')
  const matching = useMemo(() => {
    const f = filter.trim().toLowerCase()
    return f === '' ? nodes : nodes.filter((n) => n.name.toLowerCase().includes(f))
  }, [nodes, filter])
  const shown = matching.slice(0, SHOWN)

  return (
    <section className="palette" aria-labelledby="palette-title">
      <div className="pane-title">
        <h3 id="palette-title">Nodes</h3>
        <input
          type="search"
          aria-label="Filter nodes"
          placeholder="Filter nodes"
          value={filter}
          onChange={(e) => setFilter(e.target.value)}
        />
      </div>
      <p className="hint">Drag a node onto a role, or select it and press the role’s Bind button.</p>
      <ul className="node-chips" data-testid="node-palette">
        {shown.map((n) => (
          <li key={n.id}>
            <button
              type="button"
              className="node-chip"
              draggable
              aria-pressed={selectedId === n.id}
              onDragStart={(e) => startNodeDrag(e, n.id, n.name)}
              onClick={() => onSelect(selectedId === n.id ? null : n.id)}
              onKeyDown={(e) => e.key === 'Escape' && onSelect(null)}
              title={`${n.name}: ${n.alive ? 'alive' : 'dead'}, ${n.available ? 'available' : 'not available'}`}
            >
              <span className={`dot ${n.alive ? 'dot-alive' : 'dot-dead'}`} aria-hidden="true" />
              {n.name}
              {!n.available && <span className="tag">unavailable</span>}
            </button>
          </li>
        ))}
      </ul>
      {matching.length > SHOWN && <p className="hint">{matching.length - SHOWN} more: filter to find them.</p>}
      {nodes.length === 0 && <p className="empty">No nodes yet: add one in the Nodes view.</p>}
    </section>
  )
}
