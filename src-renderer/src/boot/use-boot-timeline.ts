// One node's boot timeline and diagnosis, kept current from the change stream: a burst of boot
// events for the node is coalesced into one reload of the newest page (older pages, once loaded,
// stay), and older events are paged in with before_id on request.
import { useCallback, useEffect, useRef, useState } from 'react'
import type { BootDiagnosis, BootEvent } from '../../../src-main/model'
import { errorText } from '../errors/error-text'
import { useClient, useLiveChanges } from '../live/LiveContext'
import { coalescedLoader } from '../live/coalesced-loader'

export const BOOT_PAGE = 100
const RELOAD_DELAY_MS = 500

export interface BootTimeline {
  /** Newest first; null until the first load. */
  readonly events: readonly BootEvent[] | null
  readonly error: string | null
  /** More, older events than those loaded may exist. */
  readonly hasOlder: boolean
  readonly loadingOlder: boolean
  readonly loadOlder: () => void
  readonly diagnosis: BootDiagnosis | null
  readonly diagnosisError: string | null
}

interface Events {
  readonly list: readonly BootEvent[] | null
  readonly hasOlder: boolean
}

/** The newest page merged into what is loaded; a page with no overlap means a gap: start again from it. */
function mergeNewest(prev: Events, page: readonly BootEvent[]): Events {
  const old = prev.list ?? []
  const overlaps = old.length === 0 || page.length < BOOT_PAGE || page.some((e) => old.some((o) => o.id === e.id))
  if (!overlaps || prev.list === null) return { list: page, hasOlder: page.length >= BOOT_PAGE }
  const byId = new Map(old.map((e) => [e.id, e]))
  for (const e of page) byId.set(e.id, e)
  return { list: [...byId.values()].sort((a, b) => b.id - a.id), hasOlder: prev.hasOlder }
}

export function useBootTimeline(nodeId: number): BootTimeline {
  const client = useClient()
  const changes = useLiveChanges()
  const [events, setEvents] = useState<Events>({ list: null, hasOlder: false })
  const [error, setError] = useState<string | null>(null)
  const [diagnosis, setDiagnosis] = useState<BootDiagnosis | null>(null)
  const [diagnosisError, setDiagnosisError] = useState<string | null>(null)
  const [loadingOlder, setLoadingOlder] = useState(false)
  const macs = useRef(new Set<string>())
  const oldest = useRef<number | null>(null)

  useEffect(() => {
    oldest.current = events.list && events.list.length > 0 ? (events.list[events.list.length - 1]?.id ?? null) : null
    for (const e of events.list ?? []) macs.current.add(e.mac)
  }, [events])

  useEffect(() => {
    let active = true
    macs.current = new Set()
    setEvents({ list: null, hasOlder: false })
    setDiagnosis(null)
    const loader = coalescedLoader(async () => {
      const [page, diag] = await Promise.allSettled([client.api.listBootEvents({ node_id: nodeId, limit: BOOT_PAGE }), client.api.diagnoseBoot({ node_id: nodeId })])
      if (!active) return
      if (page.status === 'fulfilled') {
        setEvents((prev) => mergeNewest(prev, page.value))
        setError(null)
      } else setError(errorText(page.reason))
      if (diag.status === 'fulfilled') {
        setDiagnosis(diag.value)
        setDiagnosisError(null)
      } else setDiagnosisError(errorText(diag.reason))
    }, RELOAD_DELAY_MS)
    const mine = (mac: string | undefined, node: number | null | undefined): boolean => node === nodeId || (mac !== undefined && macs.current.has(mac))
    const stop = changes.listen({
      onChange: (e) => {
        if ((e.kind === 'boot_event' && mine(e.mac, e.node_id)) || (e.kind === 'node' && e.id === nodeId)) loader.schedule()
      },
      onConnected: loader.run
    })
    loader.run()
    return () => {
      active = false
      stop()
      loader.dispose()
    }
  }, [client, changes, nodeId])

  const loadOlder = useCallback(() => {
    const before = oldest.current
    if (before === null) return
    setLoadingOlder(true)
    client.api
      .listBootEvents({ node_id: nodeId, before_id: before, limit: BOOT_PAGE })
      .then(
        (page) => {
          setEvents((prev) => {
            const byId = new Map((prev.list ?? []).map((e) => [e.id, e]))
            for (const e of page) if (!byId.has(e.id)) byId.set(e.id, e)
            return { list: [...byId.values()].sort((a, b) => b.id - a.id), hasOlder: page.length >= BOOT_PAGE }
          })
          setError(null)
        },
        (err: unknown) => setError(`Cannot load older boot events: ${errorText(err)}`)
      )
      .finally(() => setLoadingOlder(false))
  }, [client, nodeId])

  return { events: events.list, error, hasOlder: events.hasOlder, loadingOlder, loadOlder, diagnosis, diagnosisError }
}
