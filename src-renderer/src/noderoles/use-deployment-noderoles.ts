// The noderoles of one deployment, kept current from the change stream: state changes (the bulk
// of the traffic while the annealer runs) are patched in place in batches; bindings and removals
// reload the list. `structure` keeps its identity while ids and edges stay the same, so the graph
// layout is computed once per structure, not once per state change.
import { useCallback, useEffect, useRef, useState } from 'react'
import type { NodeRole } from '../../../src-main/model'
import { errorText } from '../errors/error-text'
import { useClient, useLiveChanges } from '../live/LiveContext'
import { coalescedLoader } from '../live/coalesced-loader'

type NodeRoleState = NodeRole['state']

export interface NodeRoleStructure {
  readonly key: string
  readonly noderoles: readonly NodeRole[]
}

export interface DeploymentNodeRoles {
  readonly noderoles: readonly NodeRole[] | null
  readonly structure: NodeRoleStructure | null
  readonly error: string | null
  readonly reload: () => void
}

interface Current {
  readonly deploymentId: number
  readonly noderoles: readonly NodeRole[]
  readonly structure: NodeRoleStructure
}

const PATCH_INTERVAL_MS = 100
const RELOAD_DELAY_MS = 150

function structureKey(noderoles: readonly NodeRole[]): string {
  return noderoles.map((nr) => `${nr.id}<${nr.parents.join(',')}`).join(';')
}

function applyStates(noderoles: readonly NodeRole[], states: ReadonlyMap<number, NodeRoleState>): readonly NodeRole[] {
  if (states.size === 0) return noderoles
  let changed = false
  const next = noderoles.map((nr) => {
    const state = states.get(nr.id)
    if (state === undefined || state === nr.state) return nr
    changed = true
    return { ...nr, state }
  })
  return changed ? next : noderoles
}

export function useDeploymentNodeRoles(deploymentId: number): DeploymentNodeRoles {
  const client = useClient()
  const changes = useLiveChanges()
  const [current, setCurrent] = useState<Current | null>(null)
  const [error, setError] = useState<{ deploymentId: number; message: string } | null>(null)
  const reloadNow = useRef<() => void>(() => undefined)

  useEffect(() => {
    let active = true
    let patchTimer: ReturnType<typeof setTimeout> | undefined
    let pending = new Map<number, NodeRoleState>()
    // States seen while a load is in flight: laid over its result, which may predate them.
    let sinceLoad = new Map<number, NodeRoleState>()

    const loader = coalescedLoader(() => {
      sinceLoad = new Map()
      return client.api.listNodeRoles({ deployment_id: deploymentId }).then(
        (list) => {
          if (!active) return
          const patched = applyStates(list, sinceLoad)
          setCurrent((prev) => {
            const key = structureKey(patched)
            const sameStructure = prev !== null && prev.deploymentId === deploymentId && prev.structure.key === key
            return { deploymentId, noderoles: patched, structure: sameStructure ? prev.structure : { key, noderoles: patched } }
          })
          setError(null)
        },
        (err: unknown) => active && setError({ deploymentId, message: errorText(err) })
      )
    }, RELOAD_DELAY_MS)
    const flushPatches = (): void => {
      patchTimer = undefined
      const states = pending
      pending = new Map()
      setCurrent((prev) => {
        if (!prev || prev.deploymentId !== deploymentId) return prev
        const noderoles = applyStates(prev.noderoles, states)
        return noderoles === prev.noderoles ? prev : { ...prev, noderoles }
      })
    }

    reloadNow.current = loader.run
    const stop = changes.listen({
      onChange: (event) => {
        if (event.kind !== 'noderole') return
        if (event.action === 'updated' && event.state !== undefined) {
          pending.set(event.id, event.state)
          if (loader.inFlight) sinceLoad.set(event.id, event.state)
          patchTimer ??= setTimeout(flushPatches, PATCH_INTERVAL_MS)
        } else if (event.action !== 'updated') {
          loader.schedule()
        }
      },
      onConnected: loader.run
    })
    if (changes.connected) loader.run()
    return () => {
      active = false
      stop()
      loader.dispose()
      if (patchTimer !== undefined) clearTimeout(patchTimer)
    }
  }, [client, changes, deploymentId])

  const reload = useCallback(() => reloadNow.current(), [])
  const mine = current !== null && current.deploymentId === deploymentId ? current : null
  return {
    noderoles: mine?.noderoles ?? null,
    structure: mine?.structure ?? null,
    error: error !== null && error.deploymentId === deploymentId ? error.message : null,
    reload
  }
}
