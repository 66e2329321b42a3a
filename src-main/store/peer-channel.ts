// Processes sharing one PostgreSQL database (several annealer workers) tell each other that work
// may have become runnable: LISTEN/NOTIFY on one channel, so a peer wakes at once instead of at
// its next look at the queue. SQLite has one process and needs none.
import { sql, type Kysely } from 'kysely'
import pg from 'pg'
import type { Database } from './database'

const CHANNEL = 'crowbar_anneal'

export interface PeerChannel {
  /** Calls `onSignal` for every signal any process sends (this one's too); resolves to a stop function. */
  listen(onSignal: () => void, onError: (err: Error) => void): Promise<() => Promise<void>>
  /** Tells every listening process to look at the queue. */
  signal(): Promise<void>
}

export function postgresPeerChannel(url: string, db: Kysely<Database>): PeerChannel {
  return {
    async listen(onSignal, onError) {
      // LISTEN holds its session: one connection of its own, outside the pool.
      const client = new pg.Client({ connectionString: url })
      client.on('error', onError)
      client.on('notification', (message) => {
        if (message.channel === CHANNEL) onSignal()
      })
      await client.connect()
      try {
        await client.query(`LISTEN ${CHANNEL}`)
      } catch (err) {
        await client.end().catch(() => undefined)
        throw err
      }
      let ended = false
      return async () => {
        if (ended) return
        ended = true
        await client.end().catch(() => undefined)
      }
    },
    async signal() {
      await sql`select pg_notify(${CHANNEL}, '')`.execute(db)
    }
  }
}
