// The network barclamp's tables: networks (IPv4 subnet and IPv6 prefix in one), their ranges and
// routers per family, and per-node address allocations that the database keeps unique.
import { type Kysely, type Migration } from 'kysely'
import type { StoreKind } from '../store-kind'
import { idColumn } from './id-column'

export function networkMigration(kind: StoreKind): Migration {
  const [idType, id] = idColumn(kind)
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('networks')
        .addColumn('id', idType, id)
        .addColumn('name', 'text', (c) => c.notNull().unique())
        .addColumn('category', 'text', (c) => c.notNull())
        .addColumn('vlan', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('bond', 'text', (c) => c.notNull().defaultTo('null'))
        .addColumn('v4_subnet', 'text')
        // What the operator asked for ('auto', a /64, or null) and what it resolved to.
        .addColumn('v6prefix_setting', 'text')
        .addColumn('v6prefix', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute()
      await db.schema
        .createTable('network_ranges')
        .addColumn('id', idType, id)
        .addColumn('network_id', 'integer', (c) => c.notNull().references('networks.id').onDelete('cascade'))
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('family', 'integer', (c) => c.notNull())
        .addColumn('first', 'text', (c) => c.notNull())
        .addColumn('last', 'text', (c) => c.notNull())
        .addUniqueConstraint('network_ranges_name', ['network_id', 'family', 'name'])
        .execute()
      await db.schema
        .createTable('network_routers')
        .addColumn('id', idType, id)
        .addColumn('network_id', 'integer', (c) => c.notNull().references('networks.id').onDelete('cascade'))
        .addColumn('family', 'integer', (c) => c.notNull())
        .addColumn('address', 'text', (c) => c.notNull())
        .addColumn('pref', 'integer', (c) => c.notNull().defaultTo(10))
        .execute()
      await db.schema
        .createTable('network_allocations')
        .addColumn('id', idType, id)
        .addColumn('network_id', 'integer', (c) => c.notNull().references('networks.id').onDelete('cascade'))
        .addColumn('node_id', 'integer', (c) => c.notNull().references('nodes.id').onDelete('cascade'))
        .addColumn('family', 'integer', (c) => c.notNull())
        .addColumn('range_name', 'text')
        .addColumn('address', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        // Never one address twice in a network, and one address per family per node in it.
        .addUniqueConstraint('network_allocations_address', ['network_id', 'address'])
        .addUniqueConstraint('network_allocations_node_family', ['network_id', 'node_id', 'family'])
        .execute()
      await db.schema.createIndex('network_allocations_node').on('network_allocations').column('node_id').execute()
    }
  }
}
