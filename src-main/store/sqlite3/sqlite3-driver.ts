// Kysely driver over the asynchronous `sqlite3` package: one connection, serialised by a mutex,
// because SQLite allows one writer and Kysely's built-in driver expects better-sqlite3's sync API.
import sqlite3 from 'sqlite3'
import {
  CompiledQuery,
  SelectQueryNode,
  type DatabaseConnection,
  type Driver,
  type QueryResult
} from 'kysely'

export interface Sqlite3DriverConfig {
  /** Path of the database file, or ':memory:'. */
  readonly filename: string
  /** Milliseconds a statement waits for another process's lock before failing. */
  readonly busyTimeoutMs?: number
}

type Row = Record<string, unknown>

// Statements that hand back rows; everything else goes through run() to learn changes/lastID.
const READER = /^\s*(select|pragma|with|values|explain)\b|\breturning\b/i

class Sqlite3Connection implements DatabaseConnection {
  constructor(private readonly db: sqlite3.Database) {}

  executeQuery<R>(compiled: CompiledQuery): Promise<QueryResult<R>> {
    const { sql, parameters } = compiled
    const params = parameters.map(toSqliteValue)
    if (SelectQueryNode.is(compiled.query) || READER.test(sql)) {
      return new Promise((resolve, reject) => {
        this.db.all<Row>(sql, params, (err, rows) => {
          if (err) reject(err)
          else resolve({ rows: rows as R[] })
        })
      })
    }
    return new Promise((resolve, reject) => {
      this.db.run(sql, params, function (this: sqlite3.RunResult, err: Error | null) {
        if (err) {
          reject(err)
          return
        }
        resolve({
          numAffectedRows: BigInt(this.changes),
          insertId: this.lastID ? BigInt(this.lastID) : undefined,
          rows: []
        })
      })
    })
  }

  // eslint-disable-next-line require-yield
  async *streamQuery<R>(): AsyncIterableIterator<QueryResult<R>> {
    throw new Error('streaming queries are not supported by the sqlite3 driver')
  }
}

function toSqliteValue(value: unknown): unknown {
  if (typeof value === 'boolean') return value ? 1 : 0
  if (typeof value === 'bigint') return Number(value)
  return value
}

/** A FIFO lock: Kysely hands the single connection to one caller (or transaction) at a time. */
class ConnectionMutex {
  private tail: Promise<void> = Promise.resolve()
  private release: (() => void) | undefined

  async lock(): Promise<void> {
    const previous = this.tail
    let release!: () => void
    this.tail = new Promise((resolve) => (release = resolve))
    await previous
    this.release = release
  }

  unlock(): void {
    const release = this.release
    this.release = undefined
    release?.()
  }
}

export class Sqlite3Driver implements Driver {
  private db: sqlite3.Database | undefined
  private connection: Sqlite3Connection | undefined
  private readonly mutex = new ConnectionMutex()

  constructor(private readonly config: Sqlite3DriverConfig) {}

  async init(): Promise<void> {
    const db = await new Promise<sqlite3.Database>((resolve, reject) => {
      const opened: sqlite3.Database = new sqlite3.Database(this.config.filename, (err) =>
        err ? reject(err) : resolve(opened)
      )
    })
    this.db = db
    this.connection = new Sqlite3Connection(db)
    db.configure('busyTimeout', this.config.busyTimeoutMs ?? 10_000)
    for (const pragma of ['journal_mode = WAL', 'foreign_keys = ON', 'synchronous = NORMAL']) {
      await this.connection.executeQuery(CompiledQuery.raw(`pragma ${pragma}`))
    }
  }

  async acquireConnection(): Promise<DatabaseConnection> {
    if (!this.connection) throw new Error('sqlite3 driver used before init()')
    await this.mutex.lock()
    return this.connection
  }

  async beginTransaction(connection: DatabaseConnection): Promise<void> {
    // IMMEDIATE takes the write lock up front, so two processes never deadlock upgrading a read lock.
    await connection.executeQuery(CompiledQuery.raw('begin immediate'))
  }

  async commitTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('commit'))
  }

  async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('rollback'))
  }

  async releaseConnection(): Promise<void> {
    this.mutex.unlock()
  }

  async destroy(): Promise<void> {
    const db = this.db
    this.db = undefined
    this.connection = undefined
    if (!db) return
    await new Promise<void>((resolve, reject) => db.close((err) => (err ? reject(err) : resolve())))
  }
}
