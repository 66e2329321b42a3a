// For tests: the whole main-side app (store, domain, handlers) on a fresh store of either kind,
// with a fixed clock so timestamps are exact, and a quiet logger.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, inject } from 'vitest'
import { startApp, type AppOptions, type CrowbarApp } from '../app'
import type { Logger } from '../base/log'
import { scenario } from './domain-scenario'
import type { Jig } from '../jigs/jig'
import type { ScriptJigOptions } from '../jigs/script-jig'
import { createRootLogger } from '../base/log'
import type { StoreKind } from '../store/store-kind'
import { createTestDatabase } from './test-stores'

type Scenario = ReturnType<typeof scenario>

export const FIXED_TIME = new Date('2026-01-02T03:04:05.000Z')

export interface TestApp extends CrowbarApp {
  readonly dataDir: string
  dispose(): Promise<void>
}

export interface TestAppOptions {
  /** Start the annealer (default false: domain tests drive runs themselves). */
  readonly anneal?: boolean
  readonly jigs?: readonly Jig[]
  readonly scriptJig?: ScriptJigOptions
  readonly localLimit?: number
  /** Real time instead of the fixed clock (job timestamps, heartbeats). */
  readonly realClock?: boolean
  /** Run the first-start bootstrap (admin network and node); default false for exact counts. */
  readonly bootstrap?: boolean
  /** BMC power settings (a short poll, a short bound). */
  readonly power?: AppOptions['power']
  /** Where the app logs (default: silent). */
  readonly logger?: Logger
}

export async function startTestApp(kind: StoreKind, options: TestAppOptions = {}): Promise<TestApp> {
  const dataDir = await mkdtemp(join(tmpdir(), 'crowbar-app-'))
  const databaseUrl = kind === 'postgres' ? await createTestDatabase(inject('postgresUrl')) : undefined
  const app = await startApp({
    dataDir,
    databaseUrl,
    clock: options.realClock ? () => new Date() : () => FIXED_TIME,
    logger: options.logger ?? createRootLogger('silent'),
    anneal: options.anneal ?? false,
    bootstrap: options.bootstrap ? {} : false,
    ...(options.jigs ? { jigs: options.jigs } : {}),
    ...(options.scriptJig ? { scriptJig: options.scriptJig } : {}),
    ...(options.localLimit ? { localLimit: options.localLimit } : {}),
    ...(options.power ? { power: options.power } : {})
  })
  return {
    ...app,
    dataDir,
    async dispose() {
      await app.stop()
      await rm(dataDir, { recursive: true, force: true })
    }
  }
}

/**
 * For describe blocks: a fresh test app of `kind` before each test (disposed after it), and a
 * scenario over it. Read `env.app` and `env.s` inside tests.
 */
export function useTestApp(kind: StoreKind, options: TestAppOptions = {}): { readonly app: TestApp; readonly s: Scenario } {
  let current: { app: TestApp; s: Scenario } | undefined
  beforeEach(async () => {
    const app = await startTestApp(kind, options)
    current = { app, s: scenario(app.ctx) }
  })
  afterEach(async () => {
    await current?.app.dispose()
    current = undefined
  })
  const get = () => {
    if (!current) throw new Error('useTestApp: read env.app and env.s inside a test')
    return current
  }
  return {
    get app() {
      return get().app
    },
    get s() {
      return get().s
    }
  }
}
