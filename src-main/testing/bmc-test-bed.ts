// For tests of BMC power through the app: a test namespace with a real BMC simulator (ipmi_sim)
// and the app on SQLite with a short power bound and no poller, its log kept to search (a password
// must never be in it). Needs root, ipmitool, openipmi.
import { Writable } from 'node:stream'
import { afterEach, beforeEach } from 'vitest'
import pino from 'pino'
import type { Logger } from '../base/log'
import { startIpmiSim, type IpmiSim } from './ipmi-sim'
import { startTestApp, type TestApp } from './test-app'
import { createTestLink, type TestLink } from './test-link'

export interface CapturedLog {
  readonly logger: Logger
  /** Everything logged so far, as JSON lines. */
  text(): string
}

/** A debug-level logger whose lines are kept in memory. */
export function capturingLogger(): CapturedLog {
  let text = ''
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      text += chunk.toString('utf8')
      done()
    }
  })
  return { logger: pino({ level: 'debug', base: undefined }, sink), text: () => text }
}

export interface BmcTestBed {
  readonly link: TestLink
  readonly sim: IpmiSim
  readonly app: TestApp
  /** The app's log so far. */
  logged(): string
  stop(): Promise<void>
}

/** Each BMC call's bound in the test bed. */
export const TEST_BED_BMC_TIMEOUT_MS = 5_000

export async function startBmcTestBed(): Promise<BmcTestBed> {
  const link = await createTestLink()
  let sim: IpmiSim | undefined
  try {
    sim = await startIpmiSim({ link })
    const log = capturingLogger()
    const app = await startTestApp('sqlite', { realClock: true, power: { pollMs: 0, timeoutMs: TEST_BED_BMC_TIMEOUT_MS }, logger: log.logger })
    const started = sim
    return {
      link,
      sim: started,
      app,
      logged: log.text,
      async stop() {
        await app.dispose()
        await started.stop()
        await link.stop()
      }
    }
  } catch (err) {
    await sim?.stop()
    await link.stop()
    throw err
  }
}

/**
 * A fresh test bed for each test of the file (beforeEach/afterEach), read through the result:
 * `bed.sim`, `bed.app`, `bed.link`, `bed.logged()`.
 */
export function useBmcTestBed(): BmcTestBed {
  let current: BmcTestBed | undefined
  beforeEach(async () => {
    current = await startBmcTestBed()
  })
  afterEach(async () => {
    await current?.stop()
    current = undefined
  })
  const now = (): BmcTestBed => {
    if (!current) throw new Error('the BMC test bed is used outside a test')
    return current
  }
  return {
    get link() {
      return now().link
    },
    get sim() {
      return now().sim
    },
    get app() {
      return now().app
    },
    logged: () => now().logged(),
    stop: () => now().stop()
  }
}
