// How contract operations map onto HTTP: `/api/v2` + the operation's path, `:name` segments filled
// from the input; GET and DELETE carry the rest in the query string, others in a JSON body.
// Pure (no Node imports): the renderer's HTTP client uses it too.
import { contract, type HttpMethod, type OperationName } from './contract'

export const API_PREFIX = '/api/v2'
export const EVENTS_PATH = `${API_PREFIX}/events`

export interface Route {
  readonly name: OperationName
  readonly method: HttpMethod
  readonly pattern: RegExp
  readonly params: readonly string[]
}

export const bodyless = (method: HttpMethod): boolean => method === 'GET' || method === 'DELETE'

export const ROUTES: readonly Route[] = (Object.keys(contract) as OperationName[]).map((name) => {
  const spec = contract[name]
  const params: string[] = []
  const source = spec.path
    .split('/')
    .map((segment) => {
      if (!segment.startsWith(':')) return segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
      params.push(segment.slice(1))
      return '([^/]+)'
    })
    .join('/')
  return { name, method: spec.method, pattern: new RegExp(`^${API_PREFIX}${source}$`), params }
})

export function matchRoute(
  method: string,
  pathname: string
): { route: Route; params: Record<string, string> } | { allowed: HttpMethod[] } | null {
  const allowed: HttpMethod[] = []
  for (const route of ROUTES) {
    const m = route.pattern.exec(pathname)
    if (!m) continue
    if (route.method !== method) {
      allowed.push(route.method)
      continue
    }
    const params: Record<string, string> = {}
    route.params.forEach((p, i) => (params[p] = decodeURIComponent(m[i + 1] ?? '')))
    return { route, params }
  }
  return allowed.length > 0 ? { allowed } : null
}

/** Numbers in paths and query strings arrive as text: digits become numbers, true/false booleans. */
export function coerceScalar(value: string): string | number | boolean {
  if (/^(0|[1-9][0-9]{0,14})$/.test(value)) return Number(value)
  if (value === 'true') return true
  if (value === 'false') return false
  return value
}

/** Splits an input object into the URL (path + query) and the body for one operation. */
export function requestFor(name: OperationName, input: Record<string, unknown>): { method: HttpMethod; url: string; body?: string } {
  const spec = contract[name]
  const rest: Record<string, unknown> = { ...input }
  const path = spec.path.replace(/:([a-z_]+)/g, (_, key: string) => {
    const value = rest[key]
    delete rest[key]
    return encodeURIComponent(String(value))
  })
  if (bodyless(spec.method)) {
    const query = new URLSearchParams()
    for (const [k, v] of Object.entries(rest)) if (v !== undefined) query.set(k, String(v))
    const qs = query.toString()
    return { method: spec.method, url: `${API_PREFIX}${path}${qs ? `?${qs}` : ''}` }
  }
  return { method: spec.method, url: `${API_PREFIX}${path}`, body: JSON.stringify(rest) }
}
