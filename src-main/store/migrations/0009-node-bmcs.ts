// Each node's BMC (DESIGN.md §9): how the laptop reaches it, the password sealed with the data
// directory's credential key (never in clear: store.ts's readers see ciphertext), what discovery
// read in band, the Redfish certificate pinned on first contact, and the power state last read.
// One row per node; it goes with the node.
import type { Kysely, Migration } from 'kysely'

export function nodeBmcsMigration(): Migration {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('node_bmcs')
        .addColumn('node_id', 'integer', (c) => c.primaryKey().references('nodes.id').onDelete('cascade'))
        .addColumn('protocol', 'text', (c) => c.notNull())
        .addColumn('address', 'text', (c) => c.notNull())
        .addColumn('port', 'integer', (c) => c.notNull())
        .addColumn('username', 'text', (c) => c.notNull())
        .addColumn('password_sealed', 'text')
        // bmc-configure's user and password while its run sets them; they replace the above once it succeeds.
        .addColumn('pending_username', 'text')
        .addColumn('pending_password_sealed', 'text')
        .addColumn('mac', 'text')
        .addColumn('source', 'text', (c) => c.notNull())
        .addColumn('certificate_sha256', 'text')
        .addColumn('power_state', 'text', (c) => c.notNull().defaultTo('unknown'))
        .addColumn('power_checked_at', 'text')
        .addColumn('power_error', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute()
      await db.schema.createIndex('node_bmcs_address').on('node_bmcs').columns(['address']).execute()
    }
  }
}
