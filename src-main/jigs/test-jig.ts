// Product code, not test support: the `test` jig ships, with settable delay and failure from the
// noderole's attributes, for demos and benchmarks. Reads `test_jig: { delay_ms, fail, failure_rate }` from the run input.
import { isJsonObject } from '../domain/attributes'
import type { Jig, JigOutcome, JigRun } from './jig'

export interface TestJigObserver {
  started(run: JigRun): void
  finished(run: JigRun, outcome: JigOutcome): void
}

export interface TestJigOptions {
  /** Randomness for `failure_rate`, injectable so tests are exact. */
  readonly random?: () => number
  /** Sees every run start and end (tests use it to check the annealer's limits). */
  readonly observer?: TestJigObserver
}

const MAX_DELAY_MS = 10 * 60_000

export class TestJig implements Jig {
  readonly name = 'test'
  constructor(private readonly options: TestJigOptions = {}) {}

  async run(run: JigRun): Promise<JigOutcome> {
    this.options.observer?.started(run)
    const outcome = await this.outcome(run)
    this.options.observer?.finished(run, outcome)
    return outcome
  }

  private async outcome(run: JigRun): Promise<JigOutcome> {
    const settings = isJsonObject(run.attributes.test_jig) ? run.attributes.test_jig : {}
    const delay = typeof settings.delay_ms === 'number' ? Math.min(Math.max(0, settings.delay_ms), MAX_DELAY_MS) : 0
    if (delay > 0) {
      const aborted = await sleep(delay, run.signal)
      if (aborted) return { ok: false, log: `test jig: aborted after less than ${delay} ms` }
    }
    const rate = typeof settings.failure_rate === 'number' ? settings.failure_rate : 0
    if (settings.fail === true || (rate > 0 && (this.options.random ?? Math.random)() < rate)) {
      const message = typeof settings.message === 'string' ? settings.message : 'test jig: failing as configured'
      return { ok: false, log: message }
    }
    return { ok: true, wall: { test_jig: { [run.role.name]: { node: run.node.name } } }, log: `test jig: ${run.role.name} on ${run.node.name} ok` }
  }
}

/** Resolves true if aborted before the delay elapsed. */
function sleep(ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(true)
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort)
      resolve(false)
    }, ms)
    const onAbort = (): void => {
      clearTimeout(timer)
      resolve(true)
    }
    signal.addEventListener('abort', onAbort, { once: true })
  })
}
