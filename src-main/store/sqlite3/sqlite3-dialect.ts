// Wires the sqlite3 driver to Kysely's own SQLite compiler, adapter and introspector (they are
// driver-independent; only the driver differs from Kysely's better-sqlite3 dialect).
import {
  SqliteAdapter,
  SqliteIntrospector,
  SqliteQueryCompiler,
  type DatabaseIntrospector,
  type Dialect,
  type DialectAdapter,
  type Driver,
  type Kysely,
  type QueryCompiler
} from 'kysely'
import { Sqlite3Driver, type Sqlite3DriverConfig } from './sqlite3-driver'

export class Sqlite3Dialect implements Dialect {
  constructor(private readonly config: Sqlite3DriverConfig) {}

  createDriver(): Driver {
    return new Sqlite3Driver(this.config)
  }

  createQueryCompiler(): QueryCompiler {
    return new SqliteQueryCompiler()
  }

  createAdapter(): DialectAdapter {
    return new SqliteAdapter()
  }

  createIntrospector(db: Kysely<unknown>): DatabaseIntrospector {
    return new SqliteIntrospector(db)
  }
}
