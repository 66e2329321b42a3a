// The noderoles of one deployment, kept current from the change stream: state changes (the bulk
// of the traffic while the annealer runs) are patched in place in batches; bindings and removals
// reload the list. `structure` keeps its identity while ids and edges stay the same, so the graph
// layout is computed once per structure, not once per state change. Why each noderole waits
// depends on more than its own state (its node, its parents, the queue): while any of them waits,
// a change anywhere brings a trailing reload, spaced out more the larger the deployment.
import { useCallback, useEffect, useRef, useState } from 'react'
import type { NodeRole } from '../../../src-main/model'
import { errorText } from '../errors/error-text'
import { useClient, useLiveChanges } from '../live/LiveContext'
import { coalescedLoader } from '../live/coalesced-loader'
import { waitingChange } from './waiting-reasons'

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
/** Waiting reasons are refreshed at most this often, and no more often than every 50 µs per noderole. */
const WAITING_REFRESH_MS = 1000
const WAITING_REFRESH_MS_PER_NODEROLE = 0.05

const waits = (state: NodeRoleState): boolean => state === 'todo' || state === 'blocked'

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
    // The old reason no longer holds; the trailing reload brings the new one.
    return { ...nr, state, waiting: null }
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
    let waitingTimer: ReturnType<typeof setTimeout> | undefined
    // What the last load held: its ids and size, and whether any of them waits (or came to since).
    let known = new Set<number>()
    let anyWaiting = false
    let pending = new Map<number, NodeRoleState>()
    // States seen while a load is in flight: laid over its result, which may predate them.
    let sinceLoad = new Map<number, NodeRoleState>()

    const loader = coalescedLoader(() => {
      sinceLoad = new Map()
      return client.api.listNodeRoles({ deployment_id: deploymentId }).then(
        (list) => {
          if (!active) return
          const patched = applyStates(list, sinceLoad)
          known = new Set(patched.map((nr) => nr.id))
          anyWaiting = patched.some((nr) => waits(nr.state))
          // States that arrived during the load are newer than the reasons it read (and the events
          // may have come before `known` held their ids): fetch the reasons that go with them.
          if (sinceLoad.size > 0) refreshWaiting()
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

    const refreshWaiting = (): void => {
      if (!anyWaiting || waitingTimer !== undefined) return
      waitingTimer = setTimeout(
        () => {
          waitingTimer = undefined
          loader.run()
        },
        Math.max(WAITING_REFRESH_MS, known.size * WAITING_REFRESH_MS_PER_NODEROLE)
      )
    }

    reloadNow.current = loader.run
    const stop = changes.listen({
      onChange: (event) => {
        if (event.kind === 'noderole' && event.state !== undefined && waits(event.state) && known.has(event.id)) anyWaiting = true
        if (waitingChange(event)) refreshWaiting()
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
      if (waitingTimer !== undefined) clearTimeout(waitingTimer)
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
