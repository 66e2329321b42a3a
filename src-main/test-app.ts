// For tests: the whole main-side app (store, domain, handlers) on a fresh store of either kind,
// with a fixed clock so timestamps are exact, and a quiet logger.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { inject } from 'vitest'
import { startApp, type CrowbarApp } from './app'
import { createRootLogger } from './log'
import type { StoreKind } from './store/store-kind'
import { createTestDatabase } from './store/test-stores'

export const FIXED_TIME = new Date('2026-01-02T03:04:05.000Z')

export interface TestApp extends CrowbarApp {
  readonly dataDir: string
  dispose(): Promise<void>
}

export async function startTestApp(kind: StoreKind): Promise<TestApp> {
  const dataDir = await mkdtemp(join(tmpdir(), 'crowbar-app-'))
  const databaseUrl = kind === 'postgres' ? await createTestDatabase(inject('postgresUrl')) : undefined
  const app = await startApp({ dataDir, databaseUrl, clock: () => FIXED_TIME, logger: createRootLogger('silent') })
  return {
    ...app,
    dataDir,
    async dispose() {
      await app.stop()
      await rm(dataDir, { recursive: true, force: true })
    }
  }
}
