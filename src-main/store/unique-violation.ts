// Recognising a unique-constraint violation from either database, so a domain rule can say which
// name was taken instead of surfacing a driver error.

/** True when a database error is a unique-constraint violation (SQLite or PostgreSQL). */
export function isUniqueViolation(err: unknown): boolean {
  if (!(err instanceof Error)) return false
  const code = (err as Error & { code?: unknown }).code
  return code === '23505' || /UNIQUE constraint failed/.test(err.message)
}
