// A noderole's attributes, one layer at a time in the order they merge into its run input
// (DESIGN.md §2), then the merged result and the wall its last run produced.
import { useState } from 'react'
import type { NodeRoleDetail } from '../../../src-main/model'

type JsonObject = NodeRoleDetail['wall']

const LAYERS = [
  ['merged', 'Merged run input'],
  ['role_defaults', 'Role defaults'],
  ['deployment_role', 'Deployment role'],
  ['parents_wall', 'Parents’ wall'],
  ['system', 'System'],
  ['user', 'User'],
  ['wall', 'Wall (output)']
] as const

type LayerKey = (typeof LAYERS)[number][0]

function layer(detail: NodeRoleDetail, key: LayerKey): JsonObject {
  if (key === 'merged') return detail.attributes.merged
  if (key === 'wall') return detail.wall
  return detail.attributes.layers[key]
}

export function AttributeLayers({ detail }: { detail: NodeRoleDetail }) {
  const [shown, setShown] = useState<LayerKey>('merged')
  const value = layer(detail, shown)
  return (
    <section aria-labelledby="attributes-title">
      <h4 id="attributes-title">Attributes</h4>
      <div className="layer-tabs" role="group" aria-label="Attribute layer">
        {LAYERS.map(([key, label]) => (
          <button key={key} type="button" aria-pressed={shown === key} onClick={() => setShown(key)}>
            {label}
          </button>
        ))}
      </div>
      <pre className="json" data-testid={`layer-${shown}`} tabIndex={0} aria-label={`${shown} attributes`}>
        {Object.keys(value).length === 0 ? '(empty)' : JSON.stringify(value, null, 2)}
      </pre>
    </section>
  )
}
