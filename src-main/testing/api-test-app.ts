// For tests that go through the real operator API: a test app of either store kind with its HTTP
// transport on a loopback port, and `call`/`ok` that send one contract operation over HTTP exactly
// as the renderer's client does (the route table, the token, a JSON body).
import { request } from 'node:http'
import { afterEach, beforeEach } from 'vitest'
import { HttpTransport } from '../api/http-transport'
import { requestFor } from '../api/http-routes'
import type { OperationInput, OperationName, OperationOutput } from '../api/contract'
import type { StoreKind } from '../store/store-kind'
import { scenario } from './domain-scenario'
import { startTestApp, type TestApp, type TestAppOptions } from './test-app'

export interface ApiReply {
  readonly status: number
  readonly body: unknown
}

export class ApiCallFailed extends Error {
  constructor(
    readonly operation: string,
    readonly status: number,
    readonly body: unknown
  ) {
    super(`${operation} answered ${status}: ${JSON.stringify(body)}`)
  }
}

/** Sends one HTTP request to the loopback API and reads the whole answer (5 s bound). */
export function httpCall(port: number, token: string, method: string, url: string, body?: string, contentType = 'application/json'): Promise<ApiReply> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { Authorization: `Bearer ${token}` }
    if (body !== undefined) headers['Content-Type'] = contentType
    const req = request({ host: '127.0.0.1', port, method, path: url, headers, timeout: 5000 }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8')
        let parsed: unknown = text
        try {
          parsed = JSON.parse(text)
        } catch {
          // not JSON: the text itself
        }
        resolve({ status: res.statusCode ?? 0, body: parsed })
      })
    })
    req.on('error', reject)
    req.on('timeout', () => req.destroy(new Error(`${method} ${url} timed out`)))
    if (body !== undefined) req.write(body)
    req.end()
  })
}

export interface ApiTestEnv {
  readonly app: TestApp
  readonly s: ReturnType<typeof scenario>
  /** The loopback port the API listens on (for requests the contract's client would not send). */
  readonly port: number
  /** One operation over HTTP; the status and parsed body, whatever they are. */
  call<K extends OperationName>(name: K, input: OperationInput<K>): Promise<ApiReply>
  /** One operation that must succeed (2xx): its answer. */
  ok<K extends OperationName>(name: K, input: OperationInput<K>): Promise<OperationOutput<K>>
  /** The error kind, status and message of an operation that must fail. */
  refused<K extends OperationName>(name: K, input: OperationInput<K>): Promise<{ status: number; kind: string; message: string }>
  /** Errors the transport reported as internal (each test expects none). */
  readonly internalErrors: unknown[]
}

export function useApiTestApp(kind: StoreKind, options: TestAppOptions = {}): ApiTestEnv {
  let current: { app: TestApp; s: ReturnType<typeof scenario>; http: HttpTransport } | undefined
  const internalErrors: unknown[] = []
  beforeEach(async () => {
    internalErrors.length = 0
    const app = await startTestApp(kind, options)
    const http = new HttpTransport({
      handlers: app.handlers,
      feed: app.feed,
      port: 0,
      apiToken: app.apiToken,
      onInternalError: (err) => internalErrors.push(err)
    })
    await http.start()
    current = { app, s: scenario(app.ctx), http }
  })
  afterEach(async () => {
    await current?.http.stop()
    await current?.app.dispose()
    current = undefined
  })
  const get = () => {
    if (!current) throw new Error('useApiTestApp: use env inside a test')
    return current
  }
  const call = async <K extends OperationName>(name: K, input: OperationInput<K>): Promise<ApiReply> => {
    const { app, http } = get()
    const req = requestFor(name, input as Record<string, unknown>)
    return httpCall(http.port, app.apiToken, req.method, req.url, req.body)
  }
  return {
    get app() {
      return get().app
    },
    get s() {
      return get().s
    },
    get port() {
      return get().http.port
    },
    internalErrors,
    call,
    async ok(name, input) {
      const r = await call(name, input)
      if (r.status < 200 || r.status > 299) throw new ApiCallFailed(name, r.status, r.body)
      return r.body as OperationOutput<typeof name>
    },
    async refused(name, input) {
      const r = await call(name, input)
      if (r.status >= 200 && r.status <= 299) throw new Error(`${name} succeeded but was expected to be refused: ${JSON.stringify(r.body)}`)
      const error = (r.body as { error?: { kind?: string; message?: string } }).error
      return { status: r.status, kind: error?.kind ?? '', message: error?.message ?? '' }
    }
  }
}
