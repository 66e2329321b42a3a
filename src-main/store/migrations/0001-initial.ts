// The first schema: Crowbar's core model (barclamps, roles, deployments and snapshots, nodes,
// noderoles and their graph). Written once, never edited: later changes are new migrations.
import { sql, type ColumnDefinitionBuilder, type Kysely, type Migration } from 'kysely'
import type { StoreKind } from '../store-kind'
import { idColumn } from './id-column'

export function initialMigration(kind: StoreKind): Migration {
  const [idType, id] = idColumn(kind)
  const json = (defaultValue: '{}' | '[]') => (c: ColumnDefinitionBuilder) =>
    c.notNull().defaultTo(defaultValue)
  const flag = (defaultValue: 0 | 1) => (c: ColumnDefinitionBuilder) =>
    c.notNull().defaultTo(defaultValue)

  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('settings')
        .addColumn('key', 'text', (c) => c.primaryKey())
        .addColumn('value', 'text', (c) => c.notNull())
        .execute()

      await db.schema
        .createTable('barclamps')
        .addColumn('id', idType, id)
        .addColumn('name', 'text', (c) => c.notNull().unique())
        .addColumn('description', 'text', (c) => c.notNull().defaultTo(''))
        .addColumn('version', 'text', (c) => c.notNull().defaultTo('0'))
        .execute()

      await db.schema
        .createTable('roles')
        .addColumn('id', idType, id)
        .addColumn('name', 'text', (c) => c.notNull().unique())
        .addColumn('barclamp_id', 'integer', (c) => c.notNull().references('barclamps.id').onDelete('cascade'))
        .addColumn('description', 'text', (c) => c.notNull().defaultTo(''))
        .addColumn('jig', 'text', (c) => c.notNull())
        .addColumn('requires', 'text', json('[]'))
        .addColumn('provides', 'text', json('[]'))
        .addColumn('conflicts', 'text', json('[]'))
        .addColumn('precedes', 'text', json('[]'))
        .addColumn('template', 'text', json('{}'))
        .addColumn('library', 'integer', flag(0))
        .addColumn('implicit', 'integer', flag(0))
        .addColumn('bootstrap', 'integer', flag(0))
        .addColumn('discovery', 'integer', flag(0))
        .addColumn('cluster', 'integer', flag(0))
        .addColumn('destructive', 'integer', flag(0))
        .addColumn('milestone', 'integer', flag(0))
        .addColumn('abstract', 'integer', flag(0))
        .execute()

      await db.schema
        .createTable('deployments')
        .addColumn('id', idType, id)
        .addColumn('name', 'text', (c) => c.notNull().unique())
        .addColumn('description', 'text', (c) => c.notNull().defaultTo(''))
        .addColumn('parent_id', 'integer', (c) => c.references('deployments.id'))
        .addColumn('system', 'integer', flag(0))
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute()

      await db.schema
        .createTable('snapshots')
        .addColumn('id', idType, id)
        .addColumn('deployment_id', 'integer', (c) => c.notNull().references('deployments.id').onDelete('cascade'))
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('committed_at', 'text')
        .execute()
      // The database itself refuses a second open proposal, even from racing writers.
      await db.schema
        .createIndex('snapshots_one_open_per_deployment')
        .on('snapshots')
        .column('deployment_id')
        .unique()
        .where(sql.ref('state'), '=', 'proposed')
        .execute()

      await db.schema
        .createTable('deployment_roles')
        .addColumn('id', idType, id)
        .addColumn('deployment_id', 'integer', (c) => c.notNull().references('deployments.id').onDelete('cascade'))
        .addColumn('role_id', 'integer', (c) => c.notNull().references('roles.id'))
        .addColumn('proposed_data', 'text', json('{}'))
        .addColumn('committed_data', 'text', json('{}'))
        .addUniqueConstraint('deployment_roles_deployment_role', ['deployment_id', 'role_id'])
        .execute()

      await db.schema
        .createTable('nodes')
        .addColumn('id', idType, id)
        .addColumn('name', 'text', (c) => c.notNull().unique())
        .addColumn('description', 'text', (c) => c.notNull().defaultTo(''))
        .addColumn('deployment_id', 'integer', (c) => c.notNull().references('deployments.id'))
        .addColumn('admin', 'integer', flag(0))
        .addColumn('alive', 'integer', flag(0))
        .addColumn('available', 'integer', flag(1))
        .addColumn('bootenv', 'text', (c) => c.notNull().defaultTo('discovery'))
        .addColumn('hint', 'text', json('{}'))
        .addColumn('discovery', 'text', json('{}'))
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute()

      await db.schema
        .createTable('noderoles')
        .addColumn('id', idType, id)
        .addColumn('deployment_id', 'integer', (c) => c.notNull().references('deployments.id'))
        .addColumn('role_id', 'integer', (c) => c.notNull().references('roles.id'))
        .addColumn('node_id', 'integer', (c) => c.notNull().references('nodes.id').onDelete('cascade'))
        .addColumn('state', 'integer', (c) => c.notNull())
        .addColumn('cohort', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('available', 'integer', flag(1))
        .addColumn('proposed_data', 'text', json('{}'))
        .addColumn('committed_data', 'text', json('{}'))
        .addColumn('sysdata', 'text', json('{}'))
        .addColumn('wall', 'text', json('{}'))
        .addColumn('runlog', 'text', (c) => c.notNull().defaultTo(''))
        .addColumn('run_count', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        // A node holds a role at most once (Crowbar's rule): binding again finds the same noderole.
        .addUniqueConstraint('noderoles_role_node', ['role_id', 'node_id'])
        .execute()
      await db.schema.createIndex('noderoles_deployment').on('noderoles').column('deployment_id').execute()
      // The annealer's two hot questions: "todo noderoles, lowest cohort first" and "is anything on
      // this node in transition or error"; both are answered from these indexes alone.
      await db.schema.createIndex('noderoles_node_state').on('noderoles').columns(['node_id', 'state']).execute()
      await db.schema.createIndex('noderoles_state_cohort').on('noderoles').columns(['state', 'cohort', 'id']).execute()

      await db.schema
        .createTable('noderole_edges')
        .addColumn('parent_id', 'integer', (c) => c.notNull().references('noderoles.id').onDelete('cascade'))
        .addColumn('child_id', 'integer', (c) => c.notNull().references('noderoles.id').onDelete('cascade'))
        .addPrimaryKeyConstraint('noderole_edges_pk', ['parent_id', 'child_id'])
        .execute()
      await db.schema.createIndex('noderole_edges_child').on('noderole_edges').column('child_id').execute()
    }
  }
}
