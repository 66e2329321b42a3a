// DHCP state in the store: leases handed out from the dhcp range (kept across restarts), and the
// MAC addresses of known nodes, which the DHCP database role keeps current for reservations.
import type { Kysely, Migration } from 'kysely'

export function dhcpMigration(): Migration {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('dhcp_leases')
        .addColumn('mac', 'text', (c) => c.primaryKey())
        .addColumn('address', 'text', (c) => c.notNull().unique())
        .addColumn('hostname', 'text')
        .addColumn('expires_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute()
      await db.schema
        .createTable('node_macs')
        .addColumn('mac', 'text', (c) => c.primaryKey())
        .addColumn('node_id', 'integer', (c) => c.notNull().references('nodes.id').onDelete('cascade'))
        .execute()
      await db.schema.createIndex('node_macs_node').on('node_macs').column('node_id').execute()
    }
  }
}
