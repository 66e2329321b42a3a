// Which view is open, kept in the URL's hash so a reload (or a link) lands on the same place:
// #/deployments/3, #/nodes, #/networks, #/queue.
export const VIEWS = ['deployments', 'nodes', 'networks', 'queue'] as const
export type View = (typeof VIEWS)[number]

export interface Place {
  readonly view: View
  readonly deploymentId: number | null
}

export function parsePlace(hash: string): Place {
  const [view, id] = hash.replace(/^#\/?/, '').split('/')
  const known = VIEWS.find((v) => v === view) ?? 'deployments'
  const n = Number(id)
  return { view: known, deploymentId: known === 'deployments' && Number.isInteger(n) && n > 0 ? n : null }
}

export function formatPlace(place: Place): string {
  return place.view === 'deployments' && place.deploymentId !== null ? `#/deployments/${place.deploymentId}` : `#/${place.view}`
}
