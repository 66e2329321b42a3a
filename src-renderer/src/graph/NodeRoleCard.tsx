// One noderole in the graph: its role, node and state, colored by state; a waiting one marked, with
// why it waits in its tooltip. Memoised: while the annealer runs only the cards whose state changed
// render again.
import { Handle, Position, useStore, type Node, type NodeProps, type ReactFlowState } from '@xyflow/react'
import { memo } from 'react'
import type { NodeRole } from '../../../src-main/model'

export interface NodeRoleCardData extends Record<string, unknown> {
  readonly role: string
  readonly node: string
  readonly state: NodeRole['state']
  readonly waiting: NodeRole['waiting']
}

export type NodeRoleFlowNode = Node<NodeRoleCardData, 'noderole'>

/** Below this zoom the text would be too small to read: cards show their state color only. */
const FAR_ZOOM = 0.45
const isFar = (s: ReactFlowState): boolean => s.transform[2] < FAR_ZOOM

function NodeRoleCardView({ data, selected }: NodeProps<NodeRoleFlowNode>) {
  // A boolean, so cards re-render only when the zoom crosses the threshold, not on every zoom step.
  const far = useStore(isFar)
  if (far) {
    return (
      <div className={`noderole-card card-${data.state} is-far`} data-testid={`noderole-${data.role}@${data.node}`} data-state={data.state}>
        <Handle type="target" position={Position.Left} isConnectable={false} />
        <Handle type="source" position={Position.Right} isConnectable={false} />
      </div>
    )
  }
  return (
    <div
      className={`noderole-card card-${data.state}${selected ? ' is-selected' : ''}`}
      data-testid={`noderole-${data.role}@${data.node}`}
      data-state={data.state}
      title={`${data.role} on ${data.node}: ${data.state}${data.waiting ? `\n${data.waiting.message}` : ''}`}
      data-waiting={data.waiting?.reason}
    >
      <Handle type="target" position={Position.Left} isConnectable={false} />
      {data.waiting && <span className={`card-waiting${data.waiting.reason === 'ready' ? ' is-ready' : ''}`} aria-hidden="true" />}
      <div className="card-role">{data.role}</div>
      <div className="card-meta">
        <span className="card-node">{data.node}</span>
        <span className="card-state">{data.state}</span>
      </div>
      <Handle type="source" position={Position.Right} isConnectable={false} />
    </div>
  )
}

export const NodeRoleCard = memo(NodeRoleCardView)

/** Defined once, outside any component: React Flow re-creates every node when this object changes. */
export const NODE_TYPES = { noderole: NodeRoleCard }
