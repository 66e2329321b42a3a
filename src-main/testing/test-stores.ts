// For tests: a fresh store of each kind. SQLite in a new temp directory; PostgreSQL as a new
// database on the run's server (see postgres-global-setup.ts). Both are really opened and migrated.
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import { inject } from 'vitest'
import { openStore, type Store } from '../store/store'
import type { StoreKind } from '../store/store-kind'

export const STORE_KINDS: readonly StoreKind[] = ['sqlite', 'postgres']

export interface TestStore extends Store {
  /** Closes the store and deletes its file or database. */
  dispose(): Promise<void>
}

export async function createTestDatabase(serverUrl: string): Promise<string> {
  const name = `t_${randomBytes(6).toString('hex')}`
  const client = new pg.Client({ connectionString: serverUrl })
  await client.connect()
  try {
    await client.query(`create database ${name}`)
  } finally {
    await client.end()
  }
  const url = new URL(serverUrl)
  url.pathname = `/${name}`
  return url.toString()
}

export async function openTestStore(kind: StoreKind): Promise<TestStore> {
  const dir = await mkdtemp(join(tmpdir(), 'crowbar-test-'))
  const databaseUrl = kind === 'postgres' ? await createTestDatabase(inject('postgresUrl')) : undefined
  const store = await openStore({ dataDir: dir, databaseUrl })
  return {
    ...store,
    async dispose() {
      await store.close()
      await rm(dir, { recursive: true, force: true })
    }
  }
}
