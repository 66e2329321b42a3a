// The annealer's durable job queue, pinned SSH host keys, and role scripts for the script jig.
import { sql, type Kysely, type Migration } from 'kysely'
import type { StoreKind } from '../store-kind'
import { idColumn } from './id-column'

export function jobsAndSshMigration(kind: StoreKind): Migration {
  const [idType, id] = idColumn(kind)
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('jobs')
        .addColumn('id', idType, id)
        .addColumn('noderole_id', 'integer', (c) => c.notNull().references('noderoles.id').onDelete('cascade'))
        .addColumn('node_id', 'integer', (c) => c.notNull())
        // queued -> running -> done | failed; a running job whose worker died goes back to queued.
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('attempt', 'integer', (c) => c.notNull().defaultTo(1))
        .addColumn('worker', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('started_at', 'text')
        .addColumn('finished_at', 'text')
        .addColumn('heartbeat_at', 'text')
        .addColumn('output', 'text', (c) => c.notNull().defaultTo(''))
        .execute()
      // Never two live jobs for one noderole, nor two running on one node: the database refuses.
      await db.schema
        .createIndex('jobs_one_live_per_noderole')
        .on('jobs')
        .column('noderole_id')
        .unique()
        .where(sql.ref('state'), 'in', sql`('queued', 'running')`)
        .execute()
      await db.schema
        .createIndex('jobs_one_running_per_node')
        .on('jobs')
        .column('node_id')
        .unique()
        .where(sql.ref('state'), '=', 'running')
        .execute()
      await db.schema.createIndex('jobs_state').on('jobs').column('state').execute()

      await db.schema
        .createTable('ssh_host_keys')
        .addColumn('node_id', 'integer', (c) => c.notNull().references('nodes.id').onDelete('cascade'))
        .addColumn('key_type', 'text', (c) => c.notNull())
        // SHA-256 of the raw public key blob, base64 (the OpenSSH fingerprint without "SHA256:").
        .addColumn('fingerprint', 'text', (c) => c.notNull())
        .addColumn('first_seen_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('ssh_host_keys_pk', ['node_id', 'key_type'])
        .execute()

      await db.schema.alterTable('roles').addColumn('scripts', 'text', (c) => c.notNull().defaultTo('[]')).execute()
    }
  }
}
