// HTTP boot, facing the rack: kernels, initrds and images from the boot assets directory (confined
// to it) under /files/, and whatever the barclamps route here (iPXE scripts, answer files, the
// node-facing API). It only serves bytes and routes; what is answered is the routes' business.
// Separate from the operator API, which stays on loopback.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { openInside } from '../../base/confined-path'
import { bindError } from '../net/service-error'
import type { Logger } from '../../base/log'
import { CrowbarError, ERROR_STATUS, type ApiError, type ErrorKind } from '../../model/errors'
import type { BootRequest, BootResponse, BootRouter } from './boot-router'
import { streamHandle } from './stream-file'
import { listenTcp } from '../../base/socket-ready'

export interface BootHttpOptions {
  readonly address: string
  readonly port: number
  /** Kernels, initrds and images; absent means routes only. */
  readonly assetsDir?: string | undefined
  readonly router: BootRouter
  readonly logger: Logger
}

const MAX_BODY = 256 * 1024

export class BootHttpServer {
  private server: Server | undefined
  private boundPort = 0

  constructor(private readonly options: BootHttpOptions) {}

  get port(): number {
    return this.boundPort
  }

  get baseUrl(): string {
    return `http://${this.options.address}:${this.boundPort}`
  }

  async start(): Promise<void> {
    if (this.server) return
    const server = createServer((req, res) => {
      this.handle(req, res).catch((err: unknown) => {
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

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://boot')
    // Clients escape what they like (iPXE escapes ':'): match on the decoded path.
    let path: string
    try {
      path = decodeURIComponent(url.pathname)
    } catch {
      return fail(res, 'invalid', 'the path is not valid percent-encoding')
    }
    const method = req.method ?? 'GET'
    if (method === 'GET' && path.startsWith('/files/')) return this.sendFile(res, url.pathname.slice('/files'.length), path.slice('/files/'.length))
    const matched = this.options.router.match(method, path)
    if (!matched) return fail(res, 'not_found', `nothing at ${method} ${path}`)
    const request: BootRequest = { method, path, params: matched.params, baseUrl: this.baseUrl, serverAddress: this.options.address, json: () => readJson(req) }
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
  private async sendFile(res: ServerResponse, rawRelative: string, shown: string): Promise<void> {
    const opened = this.options.assetsDir ? await openInside(this.options.assetsDir, rawRelative) : null
    if (!opened?.ok) {
      // A miss is ordinary (iPXE probes names); a refusal is worth a look.
      if (opened && opened.refusal !== 'not-found') this.options.logger.warn({ file: shown.slice(0, 200), reason: opened.reason }, 'boot file refused')
      if (opened?.refusal === 'io') return fail(res, 'internal', 'the boot file could not be read; the server log has the details')
      return fail(res, 'not_found', `no boot file ${shown}`)
    }
    res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': opened.size })
    await streamHandle(res, opened.handle, opened.size)
  }
}

/** The operator API's error body and status for the kind: one error shape on every HTTP face. */
function fail(res: ServerResponse, kind: ErrorKind, message: string): void {
  const body: ApiError = { error: { kind, message } }
  json(res, ERROR_STATUS[kind], body)
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store' })
  res.end(JSON.stringify(body))
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req) {
    size += (chunk as Buffer).length
    if (size > MAX_BODY) return null
    chunks.push(chunk as Buffer)
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown
  } catch {
    return null
  }
}
