// A role as a drop target, with the noderoles bound to it in this deployment. Each shows its node
// and state; one brought in to satisfy another's requirements says which; proposed ones can be removed.
import { useState, type DragEvent } from 'react'
import type { NodeRole, Role } from '../../../src-main/model'
import { carriesNode, droppedNodeId } from './drag-data'

interface Props {
  readonly role: Role
  readonly bound: readonly NodeRole[]
  readonly byId: ReadonlyMap<number, NodeRole>
  /** The node selected in the palette, for the keyboard's Bind button. */
  readonly selectedNode: { readonly id: number; readonly name: string } | null
  readonly onBind: (nodeId: number, role: string) => void
  readonly onRemove: (noderole: NodeRole) => void
  readonly onOpen: (id: number) => void
}

const SHOWN = 6
const FLAG_NAMES = ['implicit', 'cluster', 'discovery', 'bootstrap', 'library', 'abstract', 'destructive', 'milestone'] as const

function requiredBy(nr: NodeRole, byId: ReadonlyMap<number, NodeRole>): string | null {
  const children = nr.children.map((id) => byId.get(id)).filter((c): c is NodeRole => c !== undefined)
  if (children.length === 0) return null
  const first = children[0] as NodeRole
  const who = first.node === nr.node ? first.role : `${first.role} on ${first.node}`
  return children.length === 1 ? `required by ${who}` : `required by ${who} and ${children.length - 1} more`
}

export function RoleCard({ role, bound, byId, selectedNode, onBind, onRemove, onOpen }: Props) {
  const [over, setOver] = useState(false)
  const [expanded, setExpanded] = useState(false)
  const flags = FLAG_NAMES.filter((f) => role.flags[f])
  const shown = expanded ? bound : bound.slice(0, SHOWN)

  const onDragOver = (e: DragEvent): void => {
    if (!carriesNode(e)) return
    e.preventDefault()
    e.dataTransfer.dropEffect = 'link'
    setOver(true)
  }
  const onDrop = (e: DragEvent): void => {
    setOver(false)
    const nodeId = droppedNodeId(e)
    if (nodeId === null) return
    e.preventDefault()
    onBind(nodeId, role.name)
  }

  return (
    <section
      className={`role-card${over ? ' drop-over' : ''}`}
      aria-label={`Role ${role.name}`}
      data-testid={`role-${role.name}`}
      onDragOver={onDragOver}
      onDragEnter={onDragOver}
      onDragLeave={() => setOver(false)}
      onDrop={onDrop}
    >
      <div className="role-head">
        <h4 title={role.description}>{role.name}</h4>
        {flags.map((f) => (
          <span key={f} className="tag">
            {f}
          </span>
        ))}
        {selectedNode && (
          <button type="button" className="bind" onClick={() => onBind(selectedNode.id, role.name)}>
            Bind {selectedNode.name}
          </button>
        )}
      </div>
      {role.requires.length > 0 && <p className="requires">requires {role.requires.join(', ')}</p>}
      {bound.length > 0 && (
        <ul className="bound">
          {shown.map((nr) => {
            const why = requiredBy(nr, byId)
            return (
              <li key={nr.id} data-testid={`bound-${role.name}@${nr.node}`}>
                <button type="button" className="bound-open" onClick={() => onOpen(nr.id)} aria-label={`Open ${role.name} on ${nr.node}`}>
                  {nr.node}
                </button>
                <span className={`state state-${nr.state}`}>{nr.state}</span>
                {why && <span className="why">{why}</span>}
                {nr.state === 'proposed' && (
                  <button type="button" className="remove" aria-label={`Remove ${role.name} from ${nr.node}`} onClick={() => onRemove(nr)}>
                    ×
                  </button>
                )}
              </li>
            )
          })}
        </ul>
      )}
      {bound.length > SHOWN && (
        <button type="button" className="link" aria-expanded={expanded} onClick={() => setExpanded(!expanded)}>
          {expanded ? 'Show fewer' : `Show all ${bound.length}`}
        </button>
      )}
    </section>
  )
}
