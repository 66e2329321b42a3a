// What a caught value says, for messages a user reads: anything can be thrown, not only an Error.

/** The message of an Error, or the thrown value as text. */
export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}

/** The errno code of a failed system call (`EACCES`, `ENOENT`, ...), or undefined for any other value. */
export function errnoCodeOf(err: unknown): string | undefined {
  const code = err instanceof Error ? (err as NodeJS.ErrnoException).code : undefined
  return typeof code === 'string' ? code : undefined
}
