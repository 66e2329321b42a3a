// The dependency graph of a deployment's noderoles: laid out once per structure, colored by state,
// patched live as the annealer runs. Only the cards in view are rendered, so thousands of
// noderoles pan smoothly. A card is opened by click, or by Tab then Enter.
import {
  Background,
  Controls,
  MiniMap,
  Panel,
  ReactFlow,
  ReactFlowProvider,
  useReactFlow,
  type NodeChange,
  type Viewport
} from '@xyflow/react'
import '@xyflow/react/dist/style.css'
import { useCallback, useEffect, useMemo, useRef } from 'react'
import { NODEROLE_STATES, type NodeRole } from '../../../src-main/model'
import type { NodeRoleStructure } from '../noderoles/use-deployment-noderoles'
import { FlowNodes, flowEdges } from './flow-elements'
import { layoutGraph } from './graph-layout'
import { NODE_TYPES, type NodeRoleFlowNode } from './NodeRoleCard'
import './graph.css'

/** Above this many noderoles the view opens at reading size on the first ones instead of fitting all. */
const FIT_ALL_LIMIT = 400
const START_VIEWPORT: Viewport = { x: 24, y: 64, zoom: 0.9 }
const FIT_OPTIONS = { padding: 0.15, maxZoom: 1.1 }

interface Props {
  readonly structure: NodeRoleStructure
  readonly noderoles: readonly NodeRole[]
  readonly selectedId: number | null
  readonly onSelect: (id: number | null) => void
}

export function NodeRoleGraph(props: Props) {
  return (
    <ReactFlowProvider>
      <GraphCanvas {...props} />
    </ReactFlowProvider>
  )
}

function GraphCanvas({ structure, noderoles, selectedId, onSelect }: Props) {
  const layout = useMemo(() => layoutGraph(structure.noderoles), [structure])
  const edges = useMemo(() => flowEdges(layout), [layout])
  const flowNodes = useRef(new FlowNodes())
  const nodes = useMemo(() => flowNodes.current.build(layout, noderoles, selectedId), [layout, noderoles, selectedId])
  const small = structure.noderoles.length <= FIT_ALL_LIMIT
  const flow = useReactFlow()

  // The first layout is fitted by the `fitView` prop once React Flow knows its size; later ones
  // (a binding added or removed) are fitted here.
  const firstLayout = useRef(layout)
  useEffect(() => {
    if (small && layout !== firstLayout.current) void flow.fitView(FIT_OPTIONS)
  }, [flow, layout, small])

  const counts = useMemo(() => {
    const c = new Map<NodeRole['state'], number>()
    for (const nr of noderoles) c.set(nr.state, (c.get(nr.state) ?? 0) + 1)
    return c
  }, [noderoles])

  const onNodesChange = useCallback(
    (changes: NodeChange<NodeRoleFlowNode>[]) => {
      let chosen: number | null | undefined
      for (const change of changes) {
        if (change.type !== 'select') continue
        if (change.selected) chosen = Number(change.id)
        else if (chosen === undefined && Number(change.id) === selectedId) chosen = null
      }
      if (chosen !== undefined) onSelect(chosen)
    },
    [onSelect, selectedId]
  )

  return (
    <div className="graph" data-testid="noderole-graph" data-noderoles={noderoles.length}>
      <ReactFlow<NodeRoleFlowNode>
        nodes={nodes}
        edges={edges}
        nodeTypes={NODE_TYPES}
        onNodesChange={onNodesChange}
        onlyRenderVisibleElements
        nodesDraggable={false}
        nodesConnectable={false}
        edgesFocusable={false}
        elementsSelectable
        fitView={small}
        fitViewOptions={FIT_OPTIONS}
        defaultViewport={START_VIEWPORT}
        minZoom={0.05}
        maxZoom={2}
        deleteKeyCode={null}
        proOptions={{ hideAttribution: true }}
        aria-label="Noderole graph: parents on the left, children on the right"
      >
        <Background gap={24} />
        <Controls showInteractive={false} />
        {small && <MiniMap pannable zoomable ariaLabel="Overview of the noderole graph" />}
        <Panel position="top-left">
          <ul className="graph-legend" aria-label="Noderoles by state">
            {NODEROLE_STATES.map((s) => (
              <li key={s} className={`legend-${s}`}>
                <span className="swatch" aria-hidden="true" /> {s} {counts.get(s) ?? 0}
              </li>
            ))}
          </ul>
        </Panel>
      </ReactFlow>
    </div>
  )
}
