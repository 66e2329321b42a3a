// When a node was last seen alive (its own report, registration, or a passed aliveness check).
import type { Kysely, Migration } from 'kysely'

export function nodeLastSeenMigration(): Migration {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema.alterTable('nodes').addColumn('last_seen_at', 'text').execute()
    }
  }
}
