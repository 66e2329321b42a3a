// The list for a `where id in (...)`, never empty.

/**
 * `IN ()` is a syntax error on both stores (SQLite and PostgreSQL), and Kysely passes an empty list
 * through; no row has id 0 (ids start at 1), so `[0]` makes an empty list match nothing, as it should.
 */
export function idList(ids: readonly number[]): number[] {
  return ids.length > 0 ? [...ids] : [0]
}
