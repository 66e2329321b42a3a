// Headless mode for e2e tests (see src-main/cli/serve-process.ts), plus a small fetch helper for
// setting up state through the real API.
import { test as base } from '@playwright/test'
import type { HttpMethod } from '../src-main/api/contract'
import { API_PREFIX, bodyless } from '../src-main/api/http-routes'
import { startHeadlessServer, type HeadlessServer } from '../src-main/cli/serve-process'

export { startHeadlessServer, type HeadlessServer }

/** What a call to the API needs: where it listens and its token. */
export type ApiServer = Pick<HeadlessServer, 'url' | 'token'>

/**
 * Calls the headless API: `path` is relative to /api/v2 (e.g. '/deployments'); GET and DELETE take
 * their input in its query string, so `body` is for the other methods. Returns the parsed
 * JSON body as `unknown`, to be checked against the contract's schemas by the caller; throws with
 * the response body on a non-2xx status.
 */
export async function api(server: ApiServer, method: HttpMethod, path: string, body?: unknown): Promise<unknown> {
  if (bodyless(method) && body !== undefined) throw new Error(`${method} takes its input in the query string, not a body`)
  // Mutations always carry a JSON body (the server refuses any other), `{}` when there is no input.
  const json = bodyless(method) ? undefined : JSON.stringify(body ?? {})
  const auth = { Authorization: `Bearer ${server.token}` }
  const res = await fetch(`${server.url}${API_PREFIX}${path}`, {
    method,
    headers: json === undefined ? auth : { ...auth, 'Content-Type': 'application/json' },
    body: json
  })
  const text = await res.text()
  if (!res.ok) throw new Error(`${method} ${API_PREFIX}${path} answered HTTP ${res.status}: ${text}`)
  return text === '' ? null : (JSON.parse(text) as unknown)
}

/** Playwright `test` with one headless server per worker, stopped when the worker ends. */
export const test = base.extend<object, { server: HeadlessServer }>({
  server: [
    // Playwright reads fixture dependencies from the destructuring pattern; this one has none.
    // eslint-disable-next-line no-empty-pattern
    async ({}, use) => {
      const server = await startHeadlessServer()
      try {
        await use(server)
      } finally {
        await server.stop()
      }
    },
    { scope: 'worker' }
  ]
})

export { expect } from '@playwright/test'
