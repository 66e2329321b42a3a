// Errors a user can meet. Each says what happened and what to do; the API maps the kind to a status.
export type CrowbarErrorKind = 'invalid' | 'not_found' | 'conflict'

export class CrowbarError extends Error {
  override readonly name = 'CrowbarError'
  constructor(
    readonly kind: CrowbarErrorKind,
    message: string
  ) {
    super(message)
  }
}

export const invalid = (message: string): CrowbarError => new CrowbarError('invalid', message)
export const notFound = (message: string): CrowbarError => new CrowbarError('not_found', message)
export const conflict = (message: string): CrowbarError => new CrowbarError('conflict', message)

/** True when a database error is a unique-constraint violation (SQLite or PostgreSQL). */
export function isUniqueViolation(err: unknown): boolean {
  if (!(err instanceof Error)) return false
  const code = (err as Error & { code?: unknown }).code
  return code === '23505' || /UNIQUE constraint failed/.test(err.message)
}
