// Opens the store: SQLite in the data directory by default, PostgreSQL when a postgres:// URL is
// given; migrates it to the latest schema before anyone uses it.
import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { Kysely, Migrator, PostgresDialect, sql } from 'kysely'
import pg from 'pg'
import { messageOf } from '../base/error-message'
import { ADVISORY_LOCK } from './advisory-locks'
import type { Database } from './database'
import { migrationProvider } from './migrations/migrations'
import { postgresPeerChannel, type PeerChannel } from './peer-channel'
import { Sqlite3Dialect } from './sqlite3/sqlite3-dialect'
import type { StoreKind } from './store-kind'

export interface StoreOptions {
  /** Directory for the embedded SQLite file (created if missing). */
  readonly dataDir: string
  /** postgres://... to use PostgreSQL instead of the embedded SQLite file. */
  readonly databaseUrl?: string | undefined
}

export interface Store {
  readonly db: Kysely<Database>
  readonly kind: StoreKind
  /** Where the data is: the SQLite file path, or the PostgreSQL URL without its password. */
  readonly location: string
  /** PostgreSQL: the channel to the other processes sharing the database. */
  readonly peers?: PeerChannel | undefined
  close(): Promise<void>
}

export class StoreOpenError extends Error {
  override readonly name = 'StoreOpenError'
}

export const SQLITE_FILE_NAME = 'crowbar.sqlite'

export async function openStore(options: StoreOptions): Promise<Store> {
  const url = options.databaseUrl?.trim()
  let db: Kysely<Database>
  let kind: StoreKind
  let location: string
  let peers: PeerChannel | undefined
  if (url) {
    if (!/^postgres(ql)?:\/\//.test(url)) {
      throw new StoreOpenError(
        `CROWBAR_DATABASE_URL must start with postgres:// (got "${redact(url)}"); unset it to use the embedded SQLite store`
      )
    }
    kind = 'postgres'
    location = redact(url)
    db = new Kysely<Database>({
      dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: url, max: 10 }) })
    })
    peers = postgresPeerChannel(url, db)
  } else {
    try {
      await mkdir(options.dataDir, { recursive: true })
    } catch (err) {
      throw new StoreOpenError(`cannot create the data directory ${options.dataDir}: ${messageOf(err)}`)
    }
    kind = 'sqlite'
    location = join(options.dataDir, SQLITE_FILE_NAME)
    db = new Kysely<Database>({ dialect: new Sqlite3Dialect({ filename: location }) })
  }

  try {
    await migrate(db, kind)
  } catch (err) {
    await db.destroy().catch(() => undefined)
    throw new StoreOpenError(`cannot open the store at ${location}: ${messageOf(err)}`)
  }

  let closed = false
  return {
    db,
    kind,
    location,
    peers,
    async close() {
      if (closed) return
      closed = true
      await db.destroy()
    }
  }
}

/**
 * A second connection to the same store for a background writer (the boot flight recorder), so its
 * statements do not queue in front of the boot services' on the one SQLite connection: SQLite (WAL)
 * then only serialises the writes themselves. PostgreSQL's pool already has more than one.
 */
export async function openWriterConnection(store: Store): Promise<{ readonly db: Kysely<Database>; close(): Promise<void> }> {
  if (store.kind !== 'sqlite') return { db: store.db, close: () => Promise.resolve() }
  const db = new Kysely<Database>({ dialect: new Sqlite3Dialect({ filename: store.location }) })
  await sql`select 1`.execute(db)
  return { db, close: () => db.destroy() }
}

async function migrate(db: Kysely<Database>, kind: StoreKind): Promise<void> {
  // Two processes may start together on one PostgreSQL database: serialise their migrations.
  if (kind === 'postgres') {
    await db.connection().execute(async (conn) => {
      await sql`select pg_advisory_lock(${sql.lit(ADVISORY_LOCK.migrate)})`.execute(conn)
      try {
        await runMigrator(conn, kind)
      } finally {
        await sql`select pg_advisory_unlock(${sql.lit(ADVISORY_LOCK.migrate)})`.execute(conn)
      }
    })
  } else {
    await runMigrator(db, kind)
  }
}

async function runMigrator(db: Kysely<Database>, kind: StoreKind): Promise<void> {
  const migrator = new Migrator({ db, provider: migrationProvider(kind) })
  const { error, results } = await migrator.migrateToLatest()
  if (error) {
    const failed = results?.find((r) => r.status === 'Error')
    throw new Error(`migration ${failed?.migrationName ?? '?'} failed: ${messageOf(error)}`)
  }
}

function redact(url: string): string {
  return url.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@')
}

// cli/cli.ts still imports it from here; it lives in base/error-message.ts.
export { messageOf }
