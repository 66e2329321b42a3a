// The operator API's credential (DESIGN.md §10): a random token in `<data-dir>/api-token`, 0600,
// created at first start. Whoever can read the data directory is its owner; nobody else is.
import { timingSafeEqual } from 'node:crypto'
import { join } from 'node:path'
import { readOrCreateSecret } from '../base/private-files'

export const API_TOKEN_FILE = 'api-token'

export function readOrCreateApiToken(dataDir: string): Promise<string> {
  return readOrCreateSecret(join(dataDir, API_TOKEN_FILE))
}

/** True when an `Authorization` header carries exactly `Bearer <token>`; constant time in the token. */
export function bearerMatches(header: string | undefined, token: string): boolean {
  const match = /^Bearer ([0-9A-Za-z._~+/-]+=*)$/.exec(header ?? '')
  if (!match) return false
  const given = Buffer.from(match[1] ?? '')
  const wanted = Buffer.from(token)
  return given.length === wanted.length && timingSafeEqual(given, wanted)
}
