// One deployment at work: its state and progress, propose and commit, the binding board beside
// the noderole graph, and the details of the noderole opened from either.
import { useCallback, useState } from 'react'
import type { Deployment, Node, Role } from '../../../src-main/model'
import { BindingBoard } from '../board/BindingBoard'
import { NodeRoleDetail } from '../detail/NodeRoleDetail'
import { ErrorAlert } from '../errors/ErrorAlert'
import { errorText } from '../errors/error-text'
import { NodeRoleGraph } from '../graph/NodeRoleGraph'
import { useClient } from '../live/LiveContext'
import { useDeploymentNodeRoles } from '../noderoles/use-deployment-noderoles'
import { DeploymentProgress } from './DeploymentProgress'
import { DeploymentRoleData } from './DeploymentRoleData'

interface Props {
  readonly deployment: Deployment
  readonly parentName: string | null
  readonly nodes: readonly Node[]
  readonly roles: readonly Role[]
  readonly onDeploymentChanged: () => void
}

export function DeploymentWorkspace({ deployment, parentName, nodes, roles, onDeploymentChanged }: Props) {
  const client = useClient()
  const { noderoles, structure, error, reload } = useDeploymentNodeRoles(deployment.id)
  const [openId, setOpenId] = useState<number | null>(null)
  const [actionError, setActionError] = useState<string | null>(null)
  const [busy, setBusy] = useState(false)
  // Discarding and deleting cannot be undone: each asks once more, in place.
  const [confirming, setConfirming] = useState<'discard' | 'delete' | null>(null)
  const close = useCallback(() => setOpenId(null), [])

  const act = async (work: () => Promise<unknown>, what: string): Promise<void> => {
    setBusy(true)
    setActionError(null)
    try {
      await work()
    } catch (err) {
      setActionError(`${what}: ${errorText(err)}`)
    } finally {
      setBusy(false)
      onDeploymentChanged()
      reload()
    }
  }

  const proposed = deployment.state === 'proposed'
  return (
    <div className="workspace">
      <div className="ws-head">
        <div className="ws-title">
          <h2>{deployment.name}</h2>
          <span className={`badge state-${deployment.state}`} data-testid="deployment-state">
            {deployment.state}
          </span>
          {parentName && <span className="muted">under {parentName}</span>}
        </div>
        <DeploymentProgress deployment={deployment} />
        <div className="ws-actions">
          {!proposed && !deployment.system && (
            <button type="button" disabled={busy} onClick={() => void act(() => client.api.proposeDeployment({ id: deployment.id }), 'Cannot propose')}>
              Propose
            </button>
          )}
          {proposed && (
            <button
              type="button"
              className="primary"
              disabled={busy}
              onClick={() => void act(() => client.api.commitDeployment({ id: deployment.id }), 'Cannot commit')}
            >
              Commit
            </button>
          )}
          {proposed && (
            <button
              type="button"
              disabled={busy}
              onClick={() => {
                if (confirming !== 'discard') return setConfirming('discard')
                setConfirming(null)
                void act(() => client.api.discardProposal({ id: deployment.id }), 'Cannot discard the proposal')
              }}
            >
              {confirming === 'discard' ? 'Really discard?' : 'Discard proposal'}
            </button>
          )}
          {!deployment.system && (
            <button
              type="button"
              className="danger"
              disabled={busy}
              onClick={() => {
                if (confirming !== 'delete') return setConfirming('delete')
                setConfirming(null)
                void act(() => client.api.deleteDeployment({ id: deployment.id }), 'Cannot delete the deployment')
              }}
            >
              {confirming === 'delete' ? 'Really delete?' : 'Delete'}
            </button>
          )}
        </div>
      </div>
      <ErrorAlert messages={[actionError, error].filter((m): m is string => m !== null)} onDismiss={() => setActionError(null)} />
      <DeploymentRoleData deployment={deployment} />
      <div className="ws-body">
        <div className="ws-board">
          <BindingBoard deployment={deployment} nodes={nodes} roles={roles} noderoles={noderoles ?? []} onOpen={setOpenId} onChanged={reload} />
        </div>
        <div className="ws-graph">
          {structure && noderoles && noderoles.length > 0 && (
            <NodeRoleGraph structure={structure} noderoles={noderoles} selectedId={openId} onSelect={setOpenId} />
          )}
          {noderoles && noderoles.length === 0 && (
            <div className="graph-empty" data-testid="noderole-graph-empty">
              No noderoles in {deployment.name} yet. Drag a node onto a role to bind it.
            </div>
          )}
          {!noderoles && !error && <div className="graph-empty">Loading noderoles…</div>}
          {openId !== null && <NodeRoleDetail id={openId} deploymentProposed={proposed} onClose={close} onChanged={reload} />}
        </div>
      </div>
    </div>
  )
}
