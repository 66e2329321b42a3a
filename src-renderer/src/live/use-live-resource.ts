// Data that follows the change stream: loaded when the stream connects (and whenever `key`
// changes), reloaded after relevant changes. Bursts of changes (a commit moves many noderoles)
// are coalesced into one reload, and at most one load is in flight at a time.
import { useCallback, useEffect, useRef, useState } from 'react'
import type { ChangeEvent } from '../../../src-main/model'
import { errorText } from '../errors/error-text'
import { useLiveChanges } from './LiveContext'
import { coalescedLoader } from './coalesced-loader'

export interface LiveResource<T> {
  /** The data for the current key, or null until its first load succeeds. */
  readonly data: T | null
  /** The last load's failure, in words; null after a success. */
  readonly error: string | null
  /** Loads again now (after an action whose changes the stream does not report). */
  readonly reload: () => void
}

interface Loaded<T> {
  readonly key: string
  readonly data: T | null
  readonly error: string | null
}

export function useLiveResource<T>(
  key: string,
  load: () => Promise<T>,
  relevant: (event: ChangeEvent) => boolean,
  delayMs = 150
): LiveResource<T> {
  const changes = useLiveChanges()
  const [loaded, setLoaded] = useState<Loaded<T>>({ key, data: null, error: null })
  const latest = useRef({ load, relevant })
  const runNow = useRef<() => void>(() => undefined)
  useEffect(() => {
    latest.current = { load, relevant }
  })

  useEffect(() => {
    let active = true
    const loader = coalescedLoader(
      () =>
        latest.current.load().then(
          (data) => active && setLoaded({ key, data, error: null }),
          (err: unknown) => active && setLoaded((prev) => ({ key, data: prev.key === key ? prev.data : null, error: errorText(err) }))
        ),
      delayMs
    )
    runNow.current = loader.run
    const stop = changes.listen({ onChange: (e) => latest.current.relevant(e) && loader.schedule(), onConnected: loader.run })
    if (changes.connected) loader.run()
    return () => {
      active = false
      stop()
      loader.dispose()
    }
  }, [changes, key, delayMs])

  const reload = useCallback(() => runNow.current(), [])
  const current = loaded.key === key ? loaded : { data: null, error: null }
  return { data: current.data, error: current.error, reload }
}
