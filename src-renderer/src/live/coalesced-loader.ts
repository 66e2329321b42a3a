// One load at a time, never a lost one: a run asked for while a load is in flight becomes one more
// load after it (however many were asked for), and `schedule` coalesces a burst of change events
// into one run after a short delay. Both live views (useLiveResource, the noderole graph) reload
// this way.

export interface CoalescedLoader {
  /** Loads now, or once more after the load in flight. */
  run(): void
  /** Runs after `delayMs`, once for every call made meanwhile. */
  schedule(): void
  /** True while a load is in flight. */
  readonly inFlight: boolean
  /** No more loads; a pending scheduled run is cancelled. */
  dispose(): void
}

/** `load` handles its own failures: the promise it returns must not reject. */
export function coalescedLoader(load: () => Promise<unknown>, delayMs: number): CoalescedLoader {
  let disposed = false
  let inFlight = false
  let again = false
  let timer: ReturnType<typeof setTimeout> | undefined
  const run = (): void => {
    if (disposed) return
    if (inFlight) {
      again = true
      return
    }
    inFlight = true
    void load()
      .catch(() => undefined)
      .finally(() => {
        inFlight = false
        if (again) {
          again = false
          run()
        }
      })
  }
  return {
    run,
    schedule() {
      if (timer !== undefined || disposed) return
      timer = setTimeout(() => {
        timer = undefined
        run()
      }, delayMs)
    },
    get inFlight() {
      return inFlight
    },
    dispose() {
      disposed = true
      if (timer !== undefined) clearTimeout(timer)
      timer = undefined
    }
  }
}
