// The boot flight recorder (DESIGN.md §6.2): every event the boot services saw for a MAC, with its
// time, linked to the node once it registers. Bounded per MAC and overall by the writer.
import type { Kysely, Migration } from 'kysely'
import type { StoreKind } from '../store-kind'
import { idColumn } from './id-column'

export function bootEventsMigration(kind: StoreKind): Migration {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      const [idType, idConstraints] = idColumn(kind)
      await db.schema
        .createTable('boot_events')
        .addColumn('id', idType, idConstraints)
        .addColumn('mac', 'text', (c) => c.notNull())
        // No foreign key: a deleted node's timeline stays readable by MAC.
        .addColumn('node_id', 'integer')
        .addColumn('t', 'text', (c) => c.notNull())
        .addColumn('source', 'text', (c) => c.notNull())
        .addColumn('event', 'text', (c) => c.notNull())
        .addColumn('detail', 'text', (c) => c.notNull())
        .execute()
      await db.schema.createIndex('boot_events_mac').on('boot_events').columns(['mac', 'id']).execute()
      await db.schema.createIndex('boot_events_node').on('boot_events').columns(['node_id', 'id']).execute()
    }
  }
}
