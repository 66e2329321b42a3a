// What the user reads when something fails: the API's own message (it says what happened and what
// to do), or the plainest text we have for anything else.
export function errorText(err: unknown): string {
  if (err instanceof Error) return err.message
  if (typeof err === 'string') return err
  return 'something failed without saying why; the server log may have the details'
}
