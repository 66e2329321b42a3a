// HTTP boot, facing the rack: kernels, initrds and images from the boot assets directory (confined
// to it) under /files/, and whatever the barclamps route here (iPXE scripts, answer files, the
// node-facing API). It only serves bytes and routes; what is answered is the routes' business.
// Separate from the operator API, which stays on loopback. Every host on the rack network can reach
// it, so its connections, timeouts, heads and bodies are bounded (base/http-limits.ts).
import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { openInside } from '../../base/confined-path'
import { createBoundedServer, limitsWith, parseBoundedJson, sourceAddress, untrustedNetworkLimits, type HttpLimits } from '../../base/http-limits'
import { bindError } from '../net/service-error'
import type { Logger } from '../../base/log'
import { CrowbarError, ERROR_STATUS, type ApiError, type ErrorKind } from '../../model/errors'
import type { BootRequest, BootResponse, BootRouter } from './boot-router'
import { streamHandle } from './stream-file'
import { listenTcp } from '../../base/socket-ready'
import { microsNow, type HttpExchangeSink } from '../pcap/captured-packet'
import { asIpv4 } from '../pcap/frames'

export interface BootHttpOptions {
  readonly address: string
  readonly port: number
  /** Kernels, initrds and images; absent means routes only. */
  readonly assetsDir?: string | undefined
  readonly router: BootRouter
  readonly logger: Logger
  /** Overrides of untrustedNetworkLimits() (tests shorten the timeouts). */
  readonly limits?: Partial<HttpLimits> | undefined
  /** Told of each answered request (the boot flight recorder); a throw is logged. */
  readonly onRequest?: ((event: HttpBootEvent) => void) | undefined
  /** Told of each exchange's bytes (the recorder's pcap draws it as TCP); IPv4 only; a throw is logged. */
  readonly onCapture?: HttpExchangeSink | undefined
}

/** One request HTTP boot answered, for the event sink. */
export interface HttpBootEvent {
  readonly clientAddress: string
  readonly method: string
  /** The request path as sent (percent-encoded, no query), at most 256 characters. */
  readonly path: string
  readonly status: number
  /** Bytes written to the connection for this answer, head included. */
  readonly bytes: number
  readonly ms: number
  /** A boot file not found (404): the boot assets directory searched for it. */
  readonly searched?: string
}

const MAX_BODY = 256 * 1024
/** Response body bytes kept for the capture: one TCP segment's worth. */
const CAPTURED_BODY = 1460
/** Response bytes kept for the capture in all: a head of any allowed size and the first segment. */
const MAX_CAPTURED_RESPONSE = 32 * 1024 + CAPTURED_BODY
/** Connections whose writes a capture is watching. */
const WATCHED = new WeakSet<object>()

/** The request head as the client sent it: request line and headers as received (names' case kept). */
function rebuiltRequestHead(req: IncomingMessage): Buffer {
  const lines = [`${req.method ?? 'GET'} ${req.url ?? '/'} HTTP/${req.httpVersion}`]
  const raw = req.rawHeaders
  for (let i = 0; i + 1 < raw.length; i += 2) lines.push(`${raw[i]}: ${raw[i + 1]}`)
  return Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1')
}

/** A request body the server refuses before any route sees it. */
type BodyRefusal = { readonly status: 400 | 413; readonly message: string }

export class BootHttpServer {
  private server: Server | undefined
  private boundPort = 0
  /** Answers that were a boot file not found, with the directory searched (for the event sink). */
  private readonly missed = new WeakMap<ServerResponse, string>()

  constructor(private readonly options: BootHttpOptions) {}

  get port(): number {
    return this.boundPort
  }

  get baseUrl(): string {
    return `http://${this.options.address}:${this.boundPort}`
  }

  async start(): Promise<void> {
    if (this.server) return
    const limits = limitsWith(untrustedNetworkLimits(), this.options.limits)
    const server = createBoundedServer(limits, errorBody, (req, res) => {
      if (this.options.onRequest) this.watch(req, res, this.options.onRequest)
      if (this.options.onCapture) this.capture(req, res, this.options.onCapture)
      this.handle(req, res, limits).catch((err: unknown) => {
        this.options.logger.error({ err, url: req.url }, 'boot request failed')
        if (!res.headersSent) fail(res, 'internal', 'the request failed; the server log has the details')
        else res.destroy()
      })
    })
    await listenTcp(server, { port: this.options.port, host: this.options.address }).catch((err: unknown) => {
      throw bindError(err, { service: 'HTTP', transport: 'TCP', address: this.options.address, port: this.options.port })
    })
    this.server = server
    this.boundPort = (server.address() as AddressInfo).port
  }

  async stop(): Promise<void> {
    const server = this.server
    if (!server) return
    this.server = undefined
    server.closeAllConnections()
    await new Promise<void>((resolve) => server.close(() => resolve()))
  }

  /** Tells `onRequest` of the answer once it is sent (or the connection goes first). */
  private watch(req: IncomingMessage, res: ServerResponse, onRequest: (event: HttpBootEvent) => void): void {
    const started = performance.now()
    const socket = req.socket
    const before = socket.bytesWritten
    const done = (): void => {
      try {
        onRequest({
          clientAddress: sourceAddress(socket.remoteAddress),
          method: (req.method ?? 'GET').slice(0, 16),
          path: (requestPath(req.url ?? '/') ?? (req.url ?? '')).slice(0, 256),
          status: res.statusCode,
          bytes: Math.max(0, socket.bytesWritten - before),
          ms: Math.round(performance.now() - started),
          ...(this.missed.has(res) ? { searched: this.missed.get(res) } : {})
        })
      } catch (err) {
        this.options.logger.error({ err }, 'HTTP boot onRequest callback threw')
      }
    }
    res.once('close', done)
  }

  /**
   * Keeps the bytes the answer writes to the connection (its head and first body segment; the rest
   * only counted) and tells `sink` once the answer ends. One answer at a time per connection is
   * watched: a pipelined one that overlaps is left out.
   */
  private capture(req: IncomingMessage, res: ServerResponse, sink: HttpExchangeSink): void {
    const socket = req.socket
    const client = asIpv4(socket.remoteAddress)
    const server = asIpv4(socket.localAddress)
    if (!client || !server || WATCHED.has(socket) || Object.prototype.hasOwnProperty.call(socket, 'write')) return
    WATCHED.add(socket)
    const requestAt = microsNow()
    const requestHead = rebuiltRequestHead(req)
    const before = socket.bytesWritten
    const kept: Buffer[] = []
    let keptLen = 0
    const write = socket.write
    const tap = function (this: typeof socket, chunk: unknown, ...rest: unknown[]): boolean {
      if (keptLen < MAX_CAPTURED_RESPONSE && (typeof chunk === 'string' || chunk instanceof Uint8Array)) {
        const encoding = typeof rest[0] === 'string' ? (rest[0] as BufferEncoding) : 'utf8'
        const bytes = typeof chunk === 'string' ? Buffer.from(chunk, encoding) : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)
        const part = Buffer.from(bytes.subarray(0, MAX_CAPTURED_RESPONSE - keptLen))
        kept.push(part)
        keptLen += part.length
      }
      return (write as (...a: unknown[]) => boolean).call(this, chunk, ...rest)
    }
    socket.write = tap as typeof socket.write
    const done = (): void => {
      if (socket.write === tap) delete (socket as { write?: unknown }).write
      WATCHED.delete(socket)
      try {
        const wire = Buffer.concat(kept)
        const headEnd = wire.indexOf('\r\n\r\n')
        const headLen = headEnd < 0 ? wire.length : headEnd + 4
        const written = Math.max(0, socket.bytesWritten - before)
        sink({
          requestAt,
          answeredAt: Math.max(requestAt, microsNow()),
          client: { address: client, port: socket.remotePort ?? 0 },
          server: { address: server, port: socket.localPort ?? 0 },
          requestHead,
          requestBodyLen: Math.max(0, Number(req.headers['content-length'] ?? 0) || 0),
          responseHead: wire.subarray(0, headLen),
          responseBody: wire.subarray(headLen, headLen + CAPTURED_BODY),
          responseBodyLen: Math.max(written - headLen, wire.length - headLen, 0)
        })
      } catch (err) {
        this.options.logger.error({ err }, 'HTTP boot onCapture callback threw')
      }
    }
    res.once('close', done)
  }

  private async handle(req: IncomingMessage, res: ServerResponse, limits: HttpLimits): Promise<void> {
    const rawPath = requestPath(req.url ?? '/')
    if (rawPath === null) return fail(res, 'invalid', 'the request target is not a path (origin-form /..., or absolute-form http://host/...)')
    // Clients escape what they like (iPXE escapes ':'): match on the decoded path.
    let path: string
    try {
      path = decodeURIComponent(rawPath)
    } catch {
      return fail(res, 'invalid', 'the path is not valid percent-encoding')
    }
    const method = req.method ?? 'GET'
    if ((method === 'GET' || method === 'HEAD') && path.startsWith('/files/')) return this.sendFile(res, rawPath.slice('/files'.length), path.slice('/files/'.length), method === 'HEAD')
    const matched = this.options.router.match(method, path)
    if (!matched) return fail(res, 'not_found', `nothing at ${method} ${path}`)
    let body: unknown = null
    if (method !== 'GET' && method !== 'HEAD') {
      const read = await readJson(req, limits.maxJsonDepth)
      if ('status' in read) {
        // An over-size body may not have been read to its end: the connection goes with this answer.
        if (read.status === 413) res.shouldKeepAlive = false
        const payload: ApiError = { error: { kind: 'invalid', message: read.message } }
        return json(res, read.status, payload)
      }
      body = read.value
    }
    const request: BootRequest = { method, path, params: matched.params, baseUrl: this.baseUrl, serverAddress: this.options.address, clientAddress: sourceAddress(req.socket.remoteAddress), authorization: req.headers.authorization, json: () => Promise.resolve(body) }
    let response: BootResponse
    try {
      response = await matched.route.handle(request)
    } catch (err) {
      if (err instanceof CrowbarError) return fail(res, err.kind, err.message)
      throw err
    }
    if ('text' in response) {
      res.writeHead(response.status, { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store' })
      res.end(response.text)
    } else {
      json(res, response.status, response.json)
    }
  }

  /** A boot file: opened once, judged on the descriptor held, sent from that descriptor. */
  private async sendFile(res: ServerResponse, rawRelative: string, shown: string, headOnly = false): Promise<void> {
    const opened = this.options.assetsDir ? await openInside(this.options.assetsDir, rawRelative) : null
    if (!opened?.ok) {
      // A miss is ordinary (iPXE probes names); a refusal is worth a look.
      if (opened && opened.refusal !== 'not-found') this.options.logger.warn({ file: shown.slice(0, 200), reason: opened.reason }, 'boot file refused')
      if (opened?.refusal === 'io') return fail(res, 'internal', 'the boot file could not be read; the server log has the details')
      if (opened?.refusal === 'not-found' && this.options.assetsDir) this.missed.set(res, this.options.assetsDir)
      return fail(res, 'not_found', `no boot file ${shown}`)
    }
    res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': opened.size })
    if (headOnly) {
      // HEAD: the size only (the installer reads it to report its progress in percent).
      await opened.handle.close()
      res.end()
      return
    }
    await streamHandle(res, opened.handle, opened.size)
  }
}

/** The operator API's error body and status for the kind: one error shape on every HTTP face. */
function fail(res: ServerResponse, kind: ErrorKind, message: string): void {
  const body: ApiError = { error: { kind, message } }
  json(res, ERROR_STATUS[kind], body)
}

function json(res: ServerResponse, status: number, body: unknown): void {
  // Serialised before the head is written: should it throw, the 500 can still be sent.
  const text = JSON.stringify(body)
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store' })
  res.end(text)
}

/** The error body for an answer the parser forced (400, 408, 413, 431). */
function errorBody(_status: number, message: string): string {
  const body: ApiError = { error: { kind: 'invalid', message } }
  return JSON.stringify(body)
}

/**
 * The path of a request target, still percent-encoded: origin-form (`/a/b?q`) as it is, so `//x`
 * is a path and not a host; absolute-form (`http://host/a/b`) by its path; anything else null.
 */
function requestPath(target: string): string | null {
  if (target.startsWith('/')) return target.split(/[?#]/, 1)[0] as string
  if (!/^https?:\/\//i.test(target)) return null
  try {
    return new URL(target).pathname
  } catch {
    return null
  }
}

/** The body as JSON (null when absent or not JSON), or why it is refused: too large, too deep, cut. */
async function readJson(req: IncomingMessage, maxDepth: number): Promise<{ value: unknown } | BodyRefusal> {
  const body = await readBody(req)
  if (body === 'too-large') return { status: 413, message: `the body is larger than ${MAX_BODY} bytes` }
  if (body === 'cut') return { status: 400, message: 'the body was cut short' }
  const text = body.toString('utf8')
  if (text.trim() === '') return { value: null }
  const parsed = parseBoundedJson(text, maxDepth)
  if (parsed.ok) return { value: parsed.value }
  if (parsed.problem === 'too-deep') return { status: 400, message: parsed.message }
  return { value: null }
}

// Past the limit, up to this much more is read and dropped before the 413 (as Go's net/http does):
// closing on unread bytes makes the kernel send a reset, and the client would lose the answer.
const MAX_DRAIN = 4 * 1024 * 1024

function readBody(req: IncomingMessage): Promise<Buffer | 'too-large' | 'cut'> {
  const declared = Number(req.headers['content-length'] ?? 0)
  if (declared > MAX_BODY + MAX_DRAIN) return Promise.resolve('too-large')
  return new Promise((resolve) => {
    const chunks: Buffer[] = []
    let size = 0
    const settle = (result: Buffer | 'too-large' | 'cut'): void => {
      req.off('data', onData)
      resolve(result)
    }
    const onData = (chunk: Buffer): void => {
      size += chunk.length
      if (size <= MAX_BODY) chunks.push(chunk)
      else if (size > MAX_BODY + MAX_DRAIN) settle('too-large')
    }
    req.on('data', onData)
    req.once('end', () => settle(size > MAX_BODY ? 'too-large' : Buffer.concat(chunks)))
    req.once('error', () => settle('cut'))
  })
}

