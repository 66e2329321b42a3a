// Vitest global setup: one throwaway PostgreSQL server for the whole run (each test file makes its
// own databases on it), stopped by PID when the run ends.
import type { TestProject } from 'vitest/node'
import { startPostgresTestServer, type PostgresTestServer } from './postgres-test-server'

declare module 'vitest' {
  export interface ProvidedContext {
    postgresUrl: string
  }
}

let server: PostgresTestServer | undefined

export async function setup(project: TestProject): Promise<void> {
  server = await startPostgresTestServer()
  project.provide('postgresUrl', server.url)
}

export async function teardown(): Promise<void> {
  await server?.stop()
}
