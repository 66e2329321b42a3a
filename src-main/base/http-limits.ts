// Bounds for an HTTP server that faces clients it does not trust: how many connections it holds (in
// all and per source address), how long a client may take, how large a request head and how deep a
// JSON body may be, and an answer the client can read (not a reset) when Node's parser refuses a
// request. Knows nothing of Crowbar: the caller supplies the error body.
import { readFileSync } from 'node:fs'
import { createServer, STATUS_CODES, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import type { Duplex } from 'node:stream'
import { messageOf } from './error-message'

export interface HttpLimits {
  /** Connections held at once, all clients together; the rest are closed as they are accepted. */
  readonly maxConnections: number
  /** Connections held at once from one source address. */
  readonly maxConnectionsPerAddress: number
  /** Bytes of request line and headers; a larger head is answered 431. */
  readonly maxHeaderBytes: number
  /** From the connection (or the previous request) to the end of the request head; then 408. */
  readonly headersTimeoutMs: number
  /** From the connection to the end of the request body; then 408. */
  readonly requestTimeoutMs: number
  /** An idle keep-alive connection between requests is closed after this. */
  readonly keepAliveTimeoutMs: number
  /** A connection with no traffic either way (a client that stopped reading) is closed after this. */
  readonly idleTimeoutMs: number
  /** Nesting of arrays and objects in a JSON body. */
  readonly maxJsonDepth: number
}

// What the descriptor budget allows: a quarter of the process's open-file limit, so a flood on one
// server leaves the other services (TFTP opens a file per transfer) descriptors to work with.
const CONNECTION_SHARE_OF_DESCRIPTORS = 4
const MAX_CONNECTIONS_CEILING = 512

/** The process's soft limit on open files (Linux /proc); null where the platform cannot say. */
export function openFileLimit(): number | null {
  try {
    const m = /^Max open files\s+(\d+)/m.exec(readFileSync('/proc/self/limits', 'utf8'))
    return m ? Number(m[1]) : null
  } catch {
    return null
  }
}

/** Limits for a server on a network of hosts that are not trusted (the rack). */
export function untrustedNetworkLimits(): HttpLimits {
  const descriptors = openFileLimit()
  return {
    maxConnections: Math.max(16, Math.min(MAX_CONNECTIONS_CEILING, descriptors ? Math.floor(descriptors / CONNECTION_SHARE_OF_DESCRIPTORS) : MAX_CONNECTIONS_CEILING)),
    // A booting machine holds one or two (iPXE, an installer's wget); a few more for retries.
    maxConnectionsPerAddress: 16,
    maxHeaderBytes: 16 * 1024,
    headersTimeoutMs: 20_000,
    requestTimeoutMs: 60_000,
    keepAliveTimeoutMs: 5_000,
    // Inactivity only: a slow client reading a large image keeps its connection.
    idleTimeoutMs: 60_000,
    maxJsonDepth: 64
  }
}

/** `base` with the overrides that are set (an undefined one keeps the base value). */
export function limitsWith(base: HttpLimits, overrides: Partial<HttpLimits> | undefined): HttpLimits {
  const set = Object.entries(overrides ?? {}).filter(([, v]) => v !== undefined)
  return { ...base, ...(Object.fromEntries(set) as Partial<HttpLimits>) }
}

/** The JSON text an error answer carries: `message` says what was refused and why. */
export type ErrorBody = (status: number, message: string) => string

// After answering, wait this long for the client to close before closing: reading what it still
// sends meanwhile, so the kernel does not answer it with a reset that discards the answer.
const LINGER_MS = 2_000

/**
 * An HTTP server with `limits` applied: Node's timeouts and head size, a total and per-address
 * cap on connections (over the cap a connection is closed at once, releasing its descriptor), an
 * idle timeout, and parser refusals answered 400/408/413/431 with `errorBody` and a graceful close.
 */
export function createBoundedServer(limits: HttpLimits, errorBody: ErrorBody, listener: (req: IncomingMessage, res: ServerResponse) => void): Server {
  const headersTimeout = Math.min(limits.headersTimeoutMs, limits.requestTimeoutMs)
  const server = createServer(
    {
      maxHeaderSize: limits.maxHeaderBytes,
      headersTimeout,
      requestTimeout: limits.requestTimeoutMs,
      keepAliveTimeout: limits.keepAliveTimeoutMs,
      // How often the two timeouts above are checked (Node's default, 30 s, would let them overrun).
      connectionsCheckingInterval: Math.max(50, Math.min(1_000, Math.floor(headersTimeout / 4)))
    },
    listener
  )
  server.maxConnections = limits.maxConnections
  server.timeout = limits.idleTimeoutMs

  const perAddress = new Map<string, number>()
  server.on('connection', (socket: Socket) => {
    const address = sourceAddress(socket.remoteAddress)
    const held = perAddress.get(address) ?? 0
    if (held >= limits.maxConnectionsPerAddress) {
      socket.destroy()
      return
    }
    perAddress.set(address, held + 1)
    socket.once('close', () => {
      const now = (perAddress.get(address) ?? 1) - 1
      if (now > 0) perAddress.set(address, now)
      else perAddress.delete(address)
    })
  })

  // Which response is in flight on a socket: once its head is out, a raw error answer would corrupt it.
  const inFlight = new WeakMap<Duplex, ServerResponse>()
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    inFlight.set(req.socket, res)
    res.once('finish', () => {
      if (inFlight.get(req.socket) === res) inFlight.delete(req.socket)
    })
  })
  const answered = new WeakSet<Duplex>()
  server.on('clientError', (err: Error & { code?: string }, socket: Duplex) => {
    // The parser keeps refusing what arrives after its first error: answer once.
    if (answered.has(socket)) return
    answered.add(socket)
    const refusal = refusalFor(err.code, limits)
    if (!refusal || !socket.writable || inFlight.get(socket)?.headersSent) {
      socket.destroy()
      return
    }
    const body = errorBody(refusal.status, refusal.message)
    socket.end(
      `HTTP/1.1 ${refusal.status} ${STATUS_CODES[refusal.status] ?? 'Error'}\r\n` +
        'Content-Type: application/json; charset=utf-8\r\n' +
        `Content-Length: ${Buffer.byteLength(body)}\r\n` +
        'Connection: close\r\n\r\n' +
        body
    )
    const linger = setTimeout(() => socket.destroy(), LINGER_MS)
    linger.unref()
    socket.once('close', () => clearTimeout(linger))
    socket.resume()
  })
  return server
}

/** IPv4 clients of a dual-stack socket appear as ::ffff:a.b.c.d; they are counted as a.b.c.d. */
export function sourceAddress(remote: string | undefined): string {
  if (!remote) return ''
  return remote.startsWith('::ffff:') && remote.includes('.') ? remote.slice('::ffff:'.length) : remote
}

function refusalFor(code: string | undefined, limits: HttpLimits): { status: number; message: string } | null {
  switch (code) {
    case 'ECONNRESET':
    case 'EPIPE':
    case 'ETIMEDOUT':
      // The connection itself failed: nobody is left to read an answer.
      return null
    case 'HPE_HEADER_OVERFLOW':
      return { status: 431, message: `the request head is larger than ${limits.maxHeaderBytes} bytes` }
    case 'HPE_CHUNK_EXTENSIONS_OVERFLOW':
      return { status: 413, message: 'the chunk extensions are too large' }
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return { status: 408, message: `the request did not arrive within ${Math.round(limits.headersTimeoutMs / 1000)} s (head) or ${Math.round(limits.requestTimeoutMs / 1000)} s (whole)` }
    default:
      return { status: 400, message: 'the request is not valid HTTP/1.1' }
  }
}

/**
 * How deeply arrays and objects nest in a JSON text, counted without parsing it (no recursion, so
 * no stack to blow): brackets inside strings do not count. Invalid JSON is left to JSON.parse.
 */
export function jsonNestingDepth(text: string): number {
  let depth = 0
  let deepest = 0
  let inString = false
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (inString) {
      if (c === 0x5c /* \ */) i++
      else if (c === 0x22 /* " */) inString = false
    } else if (c === 0x22) {
      inString = true
    } else if (c === 0x5b /* [ */ || c === 0x7b /* { */) {
      depth++
      if (depth > deepest) deepest = depth
    } else if (c === 0x5d /* ] */ || c === 0x7d /* } */) {
      depth--
    }
  }
  return deepest
}

export type BoundedJson =
  | { readonly ok: true; readonly value: unknown }
  | { readonly ok: false; readonly problem: 'too-deep' | 'not-json'; readonly message: string }

/**
 * Parses a JSON body whose nesting is at most `maxDepth`: a deeper one is refused before it is
 * parsed, so no later recursive walk (a schema check, JSON.stringify, a deep merge) can overflow
 * the stack on it.
 */
export function parseBoundedJson(text: string, maxDepth: number): BoundedJson {
  if (jsonNestingDepth(text) > maxDepth) return { ok: false, problem: 'too-deep', message: `the JSON body is nested deeper than ${maxDepth} levels` }
  try {
    return { ok: true, value: JSON.parse(text) as unknown }
  } catch (err) {
    return { ok: false, problem: 'not-json', message: `the body is not valid JSON: ${messageOf(err)}` }
  }
}
