// Every node's boot progress, by node id, reloaded at most once a second while boot events arrive
// (a rack of 300 machines PXE booting at once writes many): one request for the whole table.
import { useMemo, useRef } from 'react'
import type { BootProgress, ChangeEvent } from '../../../src-main/model'
import { useClient } from '../live/LiveContext'
import { useLiveResource } from '../live/use-live-resource'

const bootChange = (e: ChangeEvent): boolean => e.kind === 'boot_event' || e.kind === 'node'

export interface BootProgressByNode {
  readonly byNode: ReadonlyMap<number, BootProgress>
  /** Why it could not be loaded, in words; null after a success. */
  readonly error: string | null
}

function sameProgress(a: BootProgress, b: BootProgress): boolean {
  return a.phase === b.phase && a.install_step === b.install_step && a.last_event_at === b.last_event_at && a.mac === b.mac && JSON.stringify(a.phases) === JSON.stringify(b.phases)
}

export function useBootProgress(): BootProgressByNode {
  const client = useClient()
  const { data, error } = useLiveResource('boot-progress', () => client.api.listBootProgress({}), bootChange, 1000)
  const previous = useRef<ReadonlyMap<number, BootProgress>>(new Map())
  // An unchanged node keeps its object, so its memoised step indicator is not drawn again.
  const byNode = useMemo(() => {
    const map = new Map<number, BootProgress>()
    for (const p of data ?? []) {
      if (p.node_id === null) continue
      const before = previous.current.get(p.node_id)
      map.set(p.node_id, before && sameProgress(before, p) ? before : p)
    }
    previous.current = map
    return map
  }, [data])
  return { byNode, error }
}
