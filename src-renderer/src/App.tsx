// The window: a header with the views, and the open view. Deployments, nodes and roles are loaded
// here once and kept current from the change stream; their load failures are shown in words.
import { useEffect, useState } from 'react'
import type { ChangeEvent } from '../../src-main/model'
import { AnnealerStatus } from './AnnealerStatus'
import { DeploymentTree } from './deployments/DeploymentTree'
import { DeploymentWorkspace } from './deployments/DeploymentWorkspace'
import { NewDeploymentForm } from './deployments/NewDeploymentForm'
import { ErrorAlert } from './errors/ErrorAlert'
import { useClient, useStreamOnline } from './live/LiveContext'
import { useLiveResource } from './live/use-live-resource'
import { formatPlace, parsePlace, VIEWS, type Place, type View } from './navigation'
import { NetworksView } from './networks/NetworksView'
import { NodesView } from './nodes/NodesView'
import { QueueView } from './queue/QueueView'
import { SetupGate } from './setup/SetupGate'

const VIEW_LABELS: Record<View, string> = { deployments: 'Deployments', nodes: 'Nodes', networks: 'Networks', queue: 'Queue' }

// Noderole state changes move deployments' counts (and so their state): reload, coalesced.
const deploymentChange = (e: ChangeEvent): boolean => e.kind === 'deployment' || e.kind === 'noderole'
const nodeChange = (e: ChangeEvent): boolean => e.kind === 'node'
const barclampChange = (e: ChangeEvent): boolean => e.kind === 'barclamp'

/** The install wizard until the setup is done, then the window. */
export function App() {
  return (
    <SetupGate>
      <MainWindow />
    </SetupGate>
  )
}

function MainWindow() {
  const client = useClient()
  const [place, setPlace] = useState<Place>(() => parsePlace(window.location.hash))
  const deployments = useLiveResource('deployments', () => client.api.listDeployments({}), deploymentChange, 250)
  const nodes = useLiveResource('nodes', () => client.api.listNodes({}), nodeChange)
  const roles = useLiveResource('roles', () => client.api.listRoles({}), barclampChange)
  const online = useStreamOnline()

  useEffect(() => {
    const target = formatPlace(place)
    if (window.location.hash !== target) window.history.replaceState(null, '', target)
  }, [place])

  const list = deployments.data ?? []
  const selected = list.find((d) => d.id === place.deploymentId) ?? list[0] ?? null
  const loadErrors = [
    online ? null : 'Lost the live connection to the Crowbar server: retrying. What is shown may be out of date until it is back.',
    deployments.error,
    nodes.error,
    roles.error
  ].filter((m): m is string => m !== null)
  const ready = deployments.data !== null && nodes.data !== null && roles.data !== null

  return (
    <div className="app">
      <header className="app-header">
        <h1>Crowbar Desktop</h1>
        <nav aria-label="Views">
          {VIEWS.map((v) => (
            <button
              key={v}
              type="button"
              aria-current={place.view === v ? 'page' : undefined}
              onClick={() => setPlace({ view: v, deploymentId: selected?.id ?? null })}
            >
              {VIEW_LABELS[v]}
            </button>
          ))}
        </nav>
        <AnnealerStatus />
      </header>
      <ErrorAlert messages={loadErrors} />
      {!ready && loadErrors.length === 0 && <p className="loading">Loading…</p>}
      {ready && place.view === 'deployments' && (
        <main className="deployments-view">
          <nav className="sidebar" aria-labelledby="deployments-title">
            <h2 id="deployments-title">Deployments</h2>
            <DeploymentTree deployments={list} selectedId={selected?.id ?? null} onSelect={(id) => setPlace({ view: 'deployments', deploymentId: id })} />
            <NewDeploymentForm
              deployments={list}
              defaultParentId={selected?.id ?? null}
              onCreated={(d) => {
                deployments.reload()
                setPlace({ view: 'deployments', deploymentId: d.id })
              }}
            />
          </nav>
          {selected ? (
            <DeploymentWorkspace
              key={selected.id}
              deployment={selected}
              parentName={list.find((d) => d.id === selected.parent_id)?.name ?? null}
              nodes={nodes.data ?? []}
              roles={roles.data ?? []}
              onDeploymentChanged={deployments.reload}
            />
          ) : (
            <p className="empty">No deployments.</p>
          )}
        </main>
      )}
      {ready && place.view === 'nodes' && <NodesView nodes={nodes.data ?? []} onChanged={nodes.reload} />}
      {ready && place.view === 'networks' && <NetworksView onAddressesChanged={nodes.reload} />}
      {ready && place.view === 'queue' && <QueueView deployments={list} nodes={nodes.data ?? []} />}
    </div>
  )
}
