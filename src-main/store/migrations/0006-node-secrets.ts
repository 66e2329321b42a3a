// Each node's credential for the node-facing API (DESIGN.md §10): the SHA-256 of the secret its
// discovery image was given at registration (the secret itself is never stored), and when it was
// issued. Null: no secret yet (an operator-made node, the admin node, or one the operator reset).
import type { Kysely, Migration } from 'kysely'

export function nodeSecretsMigration(): Migration {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema.alterTable('nodes').addColumn('api_secret_hash', 'text').execute()
      await db.schema.alterTable('nodes').addColumn('api_secret_issued_at', 'text').execute()
    }
  }
}
