// The deployment tree: `system` at the root, child deployments under their parents, each with its state.
import type { Deployment } from '../../../src-main/model'

interface Props {
  readonly deployments: readonly Deployment[]
  readonly selectedId: number | null
  readonly onSelect: (id: number) => void
}

export function DeploymentTree({ deployments, selectedId, onSelect }: Props) {
  const ids = new Set(deployments.map((d) => d.id))
  const children = new Map<number | null, Deployment[]>()
  for (const d of deployments) {
    // A deployment whose parent is missing (deleted meanwhile) still shows, at the top.
    const parent = d.parent_id !== null && ids.has(d.parent_id) ? d.parent_id : null
    children.set(parent, [...(children.get(parent) ?? []), d])
  }

  const branch = (parent: number | null, depth: number, testId?: string) => {
    const list = children.get(parent) ?? []
    if (list.length === 0 || depth > deployments.length) return null
    return (
      <ul className={depth === 0 ? 'tree' : 'tree-branch'} data-testid={testId}>
        {list.map((d) => (
          <li key={d.id}>
            <button type="button" aria-pressed={selectedId === d.id} onClick={() => onSelect(d.id)}>
              <span className="name">{d.name}</span> <span className={`state state-${d.state}`}>{d.state}</span>
            </button>
            {branch(d.id, depth + 1)}
          </li>
        ))}
      </ul>
    )
  }

  return branch(null, 0, 'deployments')
}
