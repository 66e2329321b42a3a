// The boot flight recorder's packets (DESIGN.md §6.2): the DHCP, TFTP and HTTP-boot frames our
// servers received and sent for a MAC, exported as pcap. One row per MAC per recorder batch:
// `records` holds its frames as pcap records (each with its µs time, kept and real length), base64
// text (one type on both engines); `packets` counts them; `t` is the first one's time in µs since
// the epoch (a 64-bit integer: bigint on PostgreSQL). Bounded per MAC and overall by the writer.
import { sql, type Kysely, type Migration } from 'kysely'
import type { StoreKind } from '../store-kind'
import { idColumn } from './id-column'

export function bootPacketsMigration(kind: StoreKind): Migration {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      const [idType, idConstraints] = idColumn(kind)
      await db.schema
        .createTable('boot_packets')
        .addColumn('id', idType, idConstraints)
        .addColumn('mac', 'text', (c) => c.notNull())
        // No foreign key: a deleted node's packets stay readable by MAC.
        .addColumn('node_id', 'integer')
        .addColumn('t', kind === 'postgres' ? sql`bigint` : sql`integer`, (c) => c.notNull())
        .addColumn('packets', 'integer', (c) => c.notNull())
        .addColumn('records', 'text', (c) => c.notNull())
        .execute()
      await db.schema.createIndex('boot_packets_mac').on('boot_packets').columns(['mac', 'id']).execute()
      await db.schema.createIndex('boot_packets_node').on('boot_packets').columns(['node_id', 'id']).execute()
    }
  }
}
