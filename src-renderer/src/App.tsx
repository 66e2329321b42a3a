// The first view: deployments, nodes and noderoles as the contract reports them, refreshed live
// from the change stream. (The deployment tree and noderole graph come with the renderer issue.)
import { useCallback, useEffect, useRef, useState } from 'react'
import type { Deployment, Node, NodeRole } from '../../src-main/api/contract'
import type { Client } from './api-client'

interface Snapshot {
  deployments: Deployment[]
  nodes: Node[]
  noderoles: NodeRole[]
}

export function App({ client }: { client: Client }) {
  const [data, setData] = useState<Snapshot | null>(null)
  const [error, setError] = useState<string | null>(null)
  const [selected, setSelected] = useState<number | null>(null)
  const pending = useRef<ReturnType<typeof setTimeout> | null>(null)

  const load = useCallback(async () => {
    try {
      const [deployments, nodes, noderoles] = await Promise.all([
        client.api.listDeployments({}),
        client.api.listNodes({}),
        client.api.listNodeRoles({})
      ])
      setData({ deployments, nodes, noderoles })
      setError(null)
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err))
    }
  }, [client])

  useEffect(() => {
    // Changes arrive in bursts (a commit moves many noderoles): coalesce them into one reload. The
    // first load runs once the stream is connected, so no change falls between the two.
    const unsubscribe = client.subscribe(
      () => {
        if (pending.current) return
        pending.current = setTimeout(() => {
          pending.current = null
          void load()
        }, 150)
      },
      () => void load()
    )
    return () => {
      unsubscribe()
      if (pending.current) clearTimeout(pending.current)
    }
  }, [client, load])

  const noderoles = data?.noderoles.filter((nr) => selected === null || nr.deployment_id === selected) ?? []

  return (
    <div className="app">
      <header>
        <h1>Crowbar Desktop</h1>
      </header>
      {error && (
        <div role="alert" className="error">
          {error}
        </div>
      )}
      {!data && !error && <p>Loading…</p>}
      {data && (
        <main>
          <section aria-labelledby="deployments-title">
            <h2 id="deployments-title">Deployments</h2>
            <ul className="deployments" data-testid="deployments">
              {data.deployments.map((d) => (
                <li key={d.id}>
                  <button
                    type="button"
                    aria-pressed={selected === d.id}
                    onClick={() => setSelected(selected === d.id ? null : d.id)}
                  >
                    <span className="name">{d.name}</span> <span className={`state state-${d.state}`}>{d.state}</span>
                  </button>
                </li>
              ))}
            </ul>
          </section>
          <section aria-labelledby="nodes-title">
            <h2 id="nodes-title">Nodes</h2>
            <table data-testid="nodes">
              <thead>
                <tr>
                  <th>Name</th>
                  <th>Alive</th>
                  <th>Available</th>
                  <th>Bootenv</th>
                </tr>
              </thead>
              <tbody>
                {data.nodes.map((n) => (
                  <tr key={n.id}>
                    <td>{n.name}</td>
                    <td>{n.alive ? 'alive' : 'dead'}</td>
                    <td>{n.available ? 'yes' : 'no'}</td>
                    <td>{n.bootenv}</td>
                  </tr>
                ))}
              </tbody>
            </table>
            {data.nodes.length === 0 && <p className="empty">No nodes yet.</p>}
          </section>
          <section aria-labelledby="noderoles-title">
            <h2 id="noderoles-title">Noderoles</h2>
            <table data-testid="noderoles">
              <thead>
                <tr>
                  <th>Role</th>
                  <th>Node</th>
                  <th>State</th>
                  <th>Cohort</th>
                </tr>
              </thead>
              <tbody>
                {noderoles.map((nr) => (
                  <tr key={nr.id}>
                    <td>{nr.role}</td>
                    <td>{nr.node}</td>
                    <td className={`state state-${nr.state}`}>{nr.state}</td>
                    <td>{nr.cohort}</td>
                  </tr>
                ))}
              </tbody>
            </table>
            {noderoles.length === 0 && <p className="empty">No noderoles.</p>}
          </section>
        </main>
      )}
    </div>
  )
}
