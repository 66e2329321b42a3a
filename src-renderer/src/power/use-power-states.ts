// Every BMC node's power state as the server's poller last read it: listPower every 10 s while the
// view is shown, once more right after an action, never two requests at a time, and no more once
// the view is gone.
import { useCallback, useEffect, useRef, useState } from 'react'
import type { NodePower } from '../../../src-main/model'
import { errorText } from '../errors/error-text'
import { useClient } from '../live/LiveContext'
import { coalescedLoader } from '../live/coalesced-loader'

export const POWER_POLL_MS = 10_000

export interface PowerStates {
  /** By node id; a node missing here has no BMC. Null until the first load succeeds. */
  readonly byNode: ReadonlyMap<number, NodePower> | null
  /** Why the last load failed, in words; null after a success. */
  readonly error: string | null
  /** Reads again now (or right after the read in flight). */
  readonly refresh: () => void
}

export function usePowerStates(intervalMs = POWER_POLL_MS): PowerStates {
  const client = useClient()
  const [byNode, setByNode] = useState<ReadonlyMap<number, NodePower> | null>(null)
  const [error, setError] = useState<string | null>(null)
  const runNow = useRef<() => void>(() => undefined)

  useEffect(() => {
    let active = true
    let timer: ReturnType<typeof setTimeout> | undefined
    const loader = coalescedLoader(async () => {
      try {
        const list = await client.api.listPower({})
        if (!active) return
        setByNode(new Map(list.map((p) => [p.node_id, p])))
        setError(null)
      } catch (err) {
        if (active) setError(errorText(err))
      } finally {
        // The next read is counted from the end of this one, so a slow server is never asked twice.
        if (timer !== undefined) clearTimeout(timer)
        timer = active ? setTimeout(loader.run, intervalMs) : undefined
      }
    }, 0)
    runNow.current = loader.run
    loader.run()
    return () => {
      active = false
      loader.dispose()
      if (timer !== undefined) clearTimeout(timer)
      runNow.current = () => undefined
    }
  }, [client, intervalMs])

  const refresh = useCallback(() => runNow.current(), [])
  return { byNode, error, refresh }
}
