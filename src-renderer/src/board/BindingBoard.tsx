// The binding board: the roles on offer and the nodes. Dropping a node on a role proposes the
// noderole (and the noderoles its requirements bring); the API's refusal is shown in its words.
import { useMemo, useState } from 'react'
import type { Deployment, Node, NodeRole, Role } from '../../../src-main/model'
import { ErrorAlert } from '../errors/ErrorAlert'
import { errorText } from '../errors/error-text'
import { useClient } from '../live/LiveContext'
import { NodePalette } from './NodePalette'
import { RoleCard } from './RoleCard'
import './board.css'

interface Props {
  readonly deployment: Deployment
  readonly nodes: readonly Node[]
  readonly roles: readonly Role[]
  readonly noderoles: readonly NodeRole[]
  readonly onOpen: (id: number) => void
  /** After a bind or removal: reload at once rather than wait for the change stream. */
  readonly onChanged: () => void
}

const describe = (nr: Pick<NodeRole, 'role' | 'node'>): string => `${nr.role} on ${nr.node}`

export function BindingBoard({ deployment, nodes, roles, noderoles, onOpen, onChanged }: Props) {
  const client = useClient()
  const [selectedNodeId, setSelectedNodeId] = useState<number | null>(null)
  const [filter, setFilter] = useState('')
  const [status, setStatus] = useState<string | null>(null)
  const [error, setError] = useState<string | null>(null)
  const [busy, setBusy] = useState(false)

  const byId = useMemo(() => new Map(noderoles.map((nr) => [nr.id, nr])), [noderoles])
  const byRole = useMemo(() => {
    const m = new Map<string, NodeRole[]>()
    for (const nr of noderoles) {
      const list = m.get(nr.role)
      if (list) list.push(nr)
      else m.set(nr.role, [nr])
    }
    return m
  }, [noderoles])
  const barclamps = useMemo(() => {
    const f = filter.trim().toLowerCase()
    const m = new Map<string, Role[]>()
    for (const r of roles) {
      if (f !== '' && !r.name.includes(f) && !r.barclamp.includes(f)) continue
      const list = m.get(r.barclamp)
      if (list) list.push(r)
      else m.set(r.barclamp, [r])
    }
    return [...m.entries()]
  }, [roles, filter])
  const selectedNode = nodes.find((n) => n.id === selectedNodeId) ?? null

  const act = async (work: () => Promise<string>): Promise<void> => {
    setBusy(true)
    setError(null)
    setStatus(null)
    try {
      setStatus(await work())
    } catch (err) {
      setError(errorText(err))
    } finally {
      setBusy(false)
      onChanged()
    }
  }

  const bind = (nodeId: number, role: string): void => {
    const nodeName = nodes.find((n) => n.id === nodeId)?.name ?? `node ${nodeId}`
    void act(async () => {
      const before = new Set(noderoles.map((nr) => nr.id))
      let bound: NodeRole
      try {
        bound = await client.api.bindNodeRole({ deployment_id: deployment.id, node_id: nodeId, role })
      } catch (err) {
        throw new Error(`Cannot bind ${role} to ${nodeName}: ${errorText(err)}`, { cause: err })
      }
      const after = await client.api.listNodeRoles({ deployment_id: deployment.id })
      const brought = after.filter((nr) => !before.has(nr.id) && nr.id !== bound.id)
      const also = brought.length > 0 ? `; added for its requirements: ${brought.map(describe).join(', ')}` : ''
      return `Proposed ${describe(bound)}${also}.`
    })
  }

  const remove = (nr: NodeRole): void => {
    void act(async () => {
      let deleted: number[]
      try {
        deleted = (await client.api.deleteNodeRole({ id: nr.id })).deleted
      } catch (err) {
        throw new Error(`Cannot remove ${describe(nr)}: ${errorText(err)}`, { cause: err })
      }
      const others = deleted.length - 1
      return `Removed ${describe(nr)}${others > 0 ? ` and ${others} noderole${others === 1 ? '' : 's'} that depended on it` : ''}.`
    })
  }

  return (
    <div className="board" data-testid="binding-board" aria-busy={busy}>
      {deployment.state !== 'proposed' && (
        <p className="notice">
          {deployment.system
            ? 'The system deployment takes no new bindings: create a child deployment for new work.'
            : `${deployment.name} has no open proposal: propose it to change its bindings.`}
        </p>
      )}
      <ErrorAlert messages={error ? [error] : []} onDismiss={() => setError(null)} testId="board-error" />
      {status && (
        <p role="status" className="status" data-testid="board-status">
          {status}
        </p>
      )}
      <NodePalette nodes={nodes} selectedId={selectedNodeId} onSelect={setSelectedNodeId} />
      <section className="roles" aria-labelledby="roles-title">
        <div className="pane-title">
          <h3 id="roles-title">Roles</h3>
          <input type="search" aria-label="Filter roles" placeholder="Filter roles" value={filter} onChange={(e) => setFilter(e.target.value)} />
        </div>
        {barclamps.map(([barclamp, list]) => (
          <div key={barclamp} className="barclamp">
            <h4 className="barclamp-name">{barclamp}</h4>
            {list.map((role) => (
              <RoleCard
                key={role.id}
                role={role}
                bound={byRole.get(role.name) ?? []}
                byId={byId}
                selectedNode={selectedNode}
                onBind={bind}
                onRemove={remove}
                onOpen={onOpen}
              />
            ))}
          </div>
        ))}
        {barclamps.length === 0 && <p className="empty">No role matches.</p>}
      </section>
    </div>
  )
}
