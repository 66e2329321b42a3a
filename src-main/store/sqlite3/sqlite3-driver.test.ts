import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Kysely, sql, type Generated } from 'kysely'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { Sqlite3Dialect } from './sqlite3-dialect'

interface T {
  items: { id: Generated<number>; name: string }
}

describe('Kysely driver for sqlite3', () => {
  let dir: string
  let db: Kysely<T>
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'crowbar-sqlite3-'))
    db = new Kysely<T>({ dialect: new Sqlite3Dialect({ filename: join(dir, 'db.sqlite') }) })
    await sql`create table items (id integer primary key autoincrement, name text not null unique)`.execute(db)
  })
  afterEach(async () => {
    await db.destroy()
    await rm(dir, { recursive: true, force: true })
  })

  it('opens the file in WAL mode with foreign keys enforced', async () => {
    const mode = await sql<{ journal_mode: string }>`pragma journal_mode`.execute(db)
    const fk = await sql<{ foreign_keys: number }>`pragma foreign_keys`.execute(db)
    expect(mode.rows[0]?.journal_mode).toBe('wal')
    expect(fk.rows[0]?.foreign_keys).toBe(1)
  })

  it('reports inserted ids, affected rows and RETURNING rows', async () => {
    const inserted = await db.insertInto('items').values({ name: 'a' }).executeTakeFirstOrThrow()
    expect(inserted.insertId).toBe(1n)
    const returned = await db.insertInto('items').values({ name: 'b' }).returning(['id', 'name']).executeTakeFirstOrThrow()
    expect(returned).toEqual({ id: 2, name: 'b' })
    const updated = await db.updateTable('items').set({ name: 'c' }).where('id', '=', 1).executeTakeFirstOrThrow()
    expect(updated.numUpdatedRows).toBe(1n)
  })

  it('rolls a failed transaction back entirely', async () => {
    await expect(
      db.transaction().execute(async (tx) => {
        await tx.insertInto('items').values({ name: 'kept?' }).execute()
        await tx.insertInto('items').values({ name: 'kept?' }).execute() // unique violation
      })
    ).rejects.toThrow(/UNIQUE constraint failed/)
    expect(await db.selectFrom('items').selectAll().execute()).toEqual([])
  })

  it('serialises concurrent transactions on its one connection without losing a write', async () => {
    await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        db.transaction().execute(async (tx) => {
          const n = await tx.selectFrom('items').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()
          await tx.insertInto('items').values({ name: `item-${i}-${n.n}` }).execute()
        })
      )
    )
    const names = (await db.selectFrom('items').select('name').execute()).map((r) => r.name)
    expect(names).toHaveLength(50)
    // Each transaction saw all earlier ones: the counts it read are exactly 0..49.
    expect(names.map((n) => Number(n.split('-')[2])).sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i))
  })

  it('destroy is safe to call twice', async () => {
    await db.destroy()
    await expect(db.destroy()).resolves.toBeUndefined()
    db = new Kysely<T>({ dialect: new Sqlite3Dialect({ filename: join(dir, 'db.sqlite') }) })
  })
})
