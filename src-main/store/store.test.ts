import { sql } from 'kysely'
import { afterEach, describe, expect, it } from 'vitest'
import { openStore, StoreOpenError } from './store'
import { openTestStore, STORE_KINDS, type TestStore } from '../testing/test-stores'

describe.each(STORE_KINDS)('store on %s', (kind) => {
  let store: TestStore | undefined
  afterEach(async () => {
    await store?.dispose()
    store = undefined
  })

  it('migrates a new store to the latest schema and records the migration', async () => {
    store = await openTestStore(kind)
    expect(store.kind).toBe(kind)
    const migrations = await sql<{ name: string }>`select name from kysely_migration order by name`.execute(store.db)
    expect(migrations.rows.map((r) => r.name)).toEqual(['0001-initial', '0002-jobs-and-ssh', '0003-network', '0004-dhcp', '0005-node-last-seen', '0006-node-secrets', '0007-boot-events', '0008-boot-packets', '0009-node-bmcs'])
    const tables = await store.db.introspection.getTables()
    expect(tables.map((t) => t.name)).toEqual(
      expect.arrayContaining(['barclamps', 'roles', 'deployments', 'snapshots', 'deployment_roles', 'nodes', 'noderoles', 'noderole_edges', 'settings'])
    )
  })

  it('refuses a second open snapshot for one deployment in the database itself', async () => {
    store = await openTestStore(kind)
    const now = new Date().toISOString()
    const d = await store.db
      .insertInto('deployments')
      .values({ name: 'd', description: '', parent_id: null, system: 0, state: 'proposed', created_at: now, updated_at: now })
      .returning('id')
      .executeTakeFirstOrThrow()
    const open = { deployment_id: d.id, state: 'proposed', created_at: now, committed_at: null }
    await store.db.insertInto('snapshots').values(open).execute()
    await expect(store.db.insertInto('snapshots').values(open).execute()).rejects.toThrow(/unique|UNIQUE/)
    // Committed snapshots are history: any number may exist.
    await store.db.insertInto('snapshots').values({ ...open, state: 'committed' }).execute()
    await store.db.insertInto('snapshots').values({ ...open, state: 'committed' }).execute()
  })
})

describe('opening a store', () => {
  it('reopens an existing SQLite file without migrating it again', async () => {
    const first = await openTestStore('sqlite')
    const dataDir = first.location.replace(/\/crowbar\.sqlite$/, '')
    await first.db.insertInto('settings').values({ key: 'k', value: 'v' }).execute()
    await first.close()
    const again = await openStore({ dataDir })
    expect(await again.db.selectFrom('settings').selectAll().execute()).toEqual([{ key: 'k', value: 'v' }])
    await again.close()
    await first.dispose()
  })

  it('rejects a database URL that is not postgres:// with a message saying what to do', async () => {
    await expect(openStore({ dataDir: '/tmp/unused', databaseUrl: 'mysql://u:secret@h/db' })).rejects.toThrow(StoreOpenError)
    await expect(openStore({ dataDir: '/tmp/unused', databaseUrl: 'mysql://u:secret@h/db' })).rejects.toThrow(
      'CROWBAR_DATABASE_URL must start with postgres:// (got "mysql://u:***@h/db")'
    )
  })

  it('says where it failed when PostgreSQL cannot be reached, without the password', async () => {
    const err = await openStore({ dataDir: '/tmp/unused', databaseUrl: 'postgres://u:hunter2@127.0.0.1:1/db' }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(StoreOpenError)
    expect((err as Error).message).toMatch('cannot open the store at postgres://u:***@127.0.0.1:1/db')
    expect((err as Error).message).not.toMatch('hunter2')
  })
})
