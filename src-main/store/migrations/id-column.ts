// The one column type that differs between the two engines: an auto-numbered integer primary key
// (SQLite's INTEGER AUTOINCREMENT, PostgreSQL's serial; neither reuses a deleted id).
import { sql, type ColumnDefinitionBuilder, type RawBuilder } from 'kysely'
import type { StoreKind } from '../store-kind'

export function idColumn(kind: StoreKind): [RawBuilder<unknown>, (c: ColumnDefinitionBuilder) => ColumnDefinitionBuilder] {
  return kind === 'postgres' ? [sql`serial`, (c) => c.primaryKey()] : [sql`integer`, (c) => c.primaryKey().autoIncrement()]
}
