// The contract over HTTP for headless mode: JSON REST under /api/v2, a server-sent event stream of
// changes, and the built renderer. Listens on loopback only.
import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { ChangeFeed } from '../domain/change-feed'
import { bearerMatches } from './api-token'
import { bodyless, coerceScalar, EVENTS_PATH, matchRoute, API_PREFIX } from './http-routes'
import { failure, invokeOperation, type Handlers, type OperationResult } from './operations'
import { serveStatic } from './static-files'
import { createBoundedServer, limitsWith, parseBoundedJson, untrustedNetworkLimits, type HttpLimits } from '../base/http-limits'
import { listenTcp } from '../base/socket-ready'

export interface HttpTransportOptions {
  readonly handlers: Handlers
  readonly feed: ChangeFeed
  /** Directory of the built renderer (index.html and assets); missing means API only. */
  readonly rendererDir?: string | undefined
  readonly port: number
  readonly host?: string
  /** Every API request but the health check must send `Authorization: Bearer <apiToken>`. */
  readonly apiToken: string
  readonly onInternalError: (err: unknown, operation: string) => void
}

const MAX_BODY_BYTES = 1024 * 1024
/**
 * The operator API is on loopback, for one user's window and scripts: generous counts, but the
 * same refusals as the rack's server (a 100 KB head gets 431, a body nested deeper than any
 * request needs gets 400), and idle connections closed. Event streams send a heartbeat every 15 s,
 * well inside the idle timeout.
 */
const LIMITS: HttpLimits = limitsWith(untrustedNetworkLimits(), {
  // Every client here is this machine's user, on one address: one count for both.
  maxConnections: 256,
  maxConnectionsPerAddress: 256
})
const HEARTBEAT_MS = 15_000
/**
 * Event frames an event-stream client has not read yet. Past this it is not reading (a stalled
 * tab, a stopped process): it is dropped, and reloads what it missed when it reconnects.
 */
export const MAX_STREAM_BACKLOG_BYTES = 1024 * 1024
/** Event streams at once (a window or two and some scripts): with the backlog bound, at most 32 MB. */
export const MAX_STREAMS = 32
const HEALTH_PATH = `${API_PREFIX}/health`
/** exportBootPcap's file itself (not JSON), for a download or `curl -o`: behind the token like every API route. */
export const BOOT_PCAP_FILE_PATH = `${API_PREFIX}/boot-pcap.pcap`

/** Sent with every response: the page may load only its own scripts and talk only to this server. */
export const CONTENT_SECURITY_POLICY =
  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"

export class HttpTransport {
  private server: Server | undefined
  private readonly streams = new Set<ServerResponse>()
  private unsubscribe: (() => void) | undefined
  private heartbeat: NodeJS.Timeout | undefined
  private boundPort = 0

  constructor(private readonly options: HttpTransportOptions) {}

  get port(): number {
    return this.boundPort
  }

  /** Event-stream clients connected now. */
  get streamCount(): number {
    return this.streams.size
  }

  get url(): string {
    return `http://${this.options.host ?? '127.0.0.1'}:${this.boundPort}`
  }

  async start(): Promise<void> {
    if (this.server) return
    const server = createBoundedServer(LIMITS, (_status, message) => JSON.stringify({ error: { kind: 'invalid', message } }), (req, res) => {
      this.handle(req, res).catch((err: unknown) => {
        this.options.onInternalError(err, `${req.method} ${req.url}`)
        if (!res.headersSent) send(res, failure('internal', 'the request failed unexpectedly'))
        else res.destroy()
      })
    })
    this.server = server
    await listenTcp(server, { port: this.options.port, host: this.options.host ?? '127.0.0.1' })
    this.boundPort = (server.address() as AddressInfo).port
    this.unsubscribe = this.options.feed.subscribe((event) => this.broadcast(`event: change\ndata: ${JSON.stringify(event)}\n\n`))
    this.heartbeat = setInterval(() => this.broadcast(': keep-alive\n\n'), HEARTBEAT_MS)
    this.heartbeat.unref()
  }

  async stop(): Promise<void> {
    const server = this.server
    if (!server) return
    this.server = undefined
    this.unsubscribe?.()
    clearInterval(this.heartbeat)
    for (const res of this.streams) res.end()
    this.streams.clear()
    server.closeAllConnections()
    await new Promise<void>((resolve) => server.close(() => resolve()))
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    res.setHeader('X-Content-Type-Options', 'nosniff')
    res.setHeader('Content-Security-Policy', CONTENT_SECURITY_POLICY)
    // A page from another site may not drive this API through the browser (DNS rebinding).
    const host = req.headers.host ?? ''
    if (!/^(127\.0\.0\.1|localhost|\[::1\])(:\d+)?$/.test(host)) {
      send(res, failure('invalid', `requests must be addressed to 127.0.0.1 or localhost, not ${host || 'no host'}`), 421)
      return
    }
    const url = new URL(req.url ?? '/', 'http://127.0.0.1')
    const isApi = url.pathname === API_PREFIX || url.pathname.startsWith(`${API_PREFIX}/`)
    // Another local user reaches 127.0.0.1 as easily as we do: only the token's holder drives the
    // API. The health check stays open (it says nothing but the version and store kind).
    if (isApi && !(url.pathname === HEALTH_PATH && req.method === 'GET') && !bearerMatches(req.headers.authorization, this.options.apiToken)) {
      res.setHeader('WWW-Authenticate', 'Bearer realm="crowbar"')
      send(
        res,
        failure(
          'unauthorized',
          req.headers.authorization === undefined
            ? 'this API needs its token: send Authorization: Bearer <the token in the data directory\'s api-token file>; in a browser, open the URL `crowbar serve` printed (it carries the token)'
            : 'the API token does not match the one in the data directory\'s api-token file'
        )
      )
      return
    }
    if (url.pathname === EVENTS_PATH && req.method === 'GET') {
      this.openStream(res)
      return
    }
    if (url.pathname === BOOT_PCAP_FILE_PATH && req.method === 'GET') {
      await this.sendBootPcap(res, url)
      return
    }
    if (isApi) {
      await this.handleApi(req, res, url)
      return
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      send(res, failure('not_found', `${req.method} ${url.pathname} is not an API route`))
      return
    }
    await serveStatic(res, this.options.rendererDir, url.pathname, req.method === 'HEAD')
  }

  private async handleApi(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    let matched: ReturnType<typeof matchRoute>
    try {
      matched = matchRoute(req.method ?? 'GET', url.pathname)
    } catch {
      // decodeURIComponent on a path parameter such as %E0%A4%A.
      send(res, failure('invalid', 'the path is not valid percent-encoding (UTF-8 bytes as %XX)'))
      return
    }
    if (!matched) {
      send(res, failure('not_found', `no API route ${url.pathname}`))
      return
    }
    if ('allowed' in matched) {
      res.setHeader('Allow', matched.allowed.join(', '))
      send(res, failure('invalid', `${req.method} is not allowed on ${url.pathname}; use ${matched.allowed.join(' or ')}`), 405)
      return
    }
    const { route, params } = matched
    const input: Record<string, unknown> = {}
    if (bodyless(route.method)) {
      for (const [k, v] of url.searchParams) input[k] = coerceScalar(v)
    } else {
      // JSON only (or RFC 7396's merge-patch JSON): a cross-site form cannot send either without a
      // CORS preflight, which we never grant.
      if (!/^application\/(json|merge-patch\+json)\b/i.test(req.headers['content-type'] ?? '')) {
        send(res, failure('invalid', 'send the body as JSON with Content-Type: application/json'), 415)
        return
      }
      const body = await readJson(req)
      if (!body.ok) {
        send(res, failure('invalid', body.message), body.status)
        return
      }
      if (typeof body.value !== 'object' || body.value === null || Array.isArray(body.value)) {
        send(res, failure('invalid', 'the body must be a JSON object'))
        return
      }
      Object.assign(input, body.value)
    }
    for (const [k, v] of Object.entries(params)) input[k] = coerceScalar(v)
    send(res, await invokeOperation(this.options.handlers, route.name, input, this.options.onInternalError))
  }

  /** exportBootPcap's answer as the file: its input and errors as the JSON route's. */
  private async sendBootPcap(res: ServerResponse, url: URL): Promise<void> {
    const input: Record<string, unknown> = {}
    for (const [k, v] of url.searchParams) input[k] = coerceScalar(v)
    const result = await invokeOperation(this.options.handlers, 'exportBootPcap', input, this.options.onInternalError)
    if (!result.ok) {
      send(res, result)
      return
    }
    const { filename, pcap_base64: base64 } = result.value as { filename: string; pcap_base64: string }
    const file = Buffer.from(base64, 'base64')
    res.writeHead(200, {
      'Content-Type': 'application/vnd.tcpdump.pcap',
      'Content-Disposition': `attachment; filename="${filename.replace(/[^A-Za-z0-9._-]/g, '_')}"`,
      'Content-Length': file.length,
      'Cache-Control': 'no-store'
    })
    res.end(file)
  }

  private openStream(res: ServerResponse): void {
    if (this.streams.size >= MAX_STREAMS) {
      send(res, failure('rate_limited', `${MAX_STREAMS} event streams are open already; close one (another window or script) and retry`))
      return
    }
    res.writeHead(200, {
      'Content-Type': 'text/event-stream',
      'Cache-Control': 'no-cache',
      Connection: 'keep-alive'
    })
    res.write(': connected\n\n')
    this.streams.add(res)
    res.on('close', () => this.streams.delete(res))
  }

  /** One frame to every stream; a stream whose unread backlog passed the bound is dropped. */
  private broadcast(frame: string): void {
    for (const res of this.streams) {
      if (res.writableLength > MAX_STREAM_BACKLOG_BYTES) {
        this.streams.delete(res)
        res.destroy()
        continue
      }
      res.write(frame)
    }
  }
}

function send(res: ServerResponse, result: OperationResult, status?: number): void {
  const body = JSON.stringify(result.ok ? result.value : result.body)
  res.writeHead(status ?? (result.ok ? 200 : result.status), {
    'Content-Type': 'application/json; charset=utf-8',
    'Cache-Control': 'no-store'
  })
  res.end(body)
}

async function readJson(
  req: IncomingMessage
): Promise<{ ok: true; value: unknown } | { ok: false; status: number; message: string }> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req) {
    const buf = chunk as Buffer
    size += buf.length
    if (size > MAX_BODY_BYTES) return { ok: false, status: 413, message: `the body is larger than ${MAX_BODY_BYTES} bytes` }
    chunks.push(buf)
  }
  const text = Buffer.concat(chunks).toString('utf8')
  if (text.trim() === '') return { ok: true, value: {} }
  const parsed = parseBoundedJson(text, LIMITS.maxJsonDepth)
  return parsed.ok ? parsed : { ok: false, status: 400, message: parsed.message }
}
