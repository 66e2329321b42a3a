// HTTP boot, facing the rack: per-node iPXE scripts, kernels and initrds from the boot assets
// directory (confined to it), and the node-facing API booting machines use (register, report
// alive/dead, set their own bootenv). Separate from the operator API, which stays on loopback.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { z } from 'zod'
import { resolveInside, streamFile } from '../../api/static-files'
import { describeIssues } from '../../api/operations'
import { ipxeScript } from '../../barclamps/provisioner/bootenvs'
import { registerNode, RegistrationSchema } from '../../barclamps/provisioner/node-registration'
import type { DomainContext } from '../../domain/context'
import { CrowbarError } from '../../domain/errors'
import { updateNode } from '../../domain/nodes'
import type { Logger } from '../../log'

export interface BootHttpOptions {
  readonly ctx: DomainContext
  readonly address: string
  readonly port: number
  /** Kernels, initrds and images; absent means scripts and API only. */
  readonly assetsDir?: string | undefined
  readonly domain: string
  readonly adminPublicKey: string
  readonly logger: Logger
}

const MAX_BODY = 256 * 1024
const AliveSchema = z.object({ alive: z.boolean() }).strict()
const BootenvSchema = z.object({ bootenv: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,63}$/) }).strict()

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
        if (!res.headersSent) json(res, 500, { error: 'the request failed; the server log has the details' })
        else res.destroy()
      })
    })
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(this.options.port, this.options.address, () => {
        server.off('error', reject)
        resolve()
      })
    }).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'EACCES') {
        throw new Error(`port ${this.options.port} needs root or CAP_NET_BIND_SERVICE: \`sudo setcap cap_net_bind_service=+ep ${process.execPath}\``)
      }
      throw err
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
      json(res, 400, { error: 'the path is not valid percent-encoding' })
      return
    }
    const { ctx } = this.options
    const script = /^\/boot\/([0-9a-fA-F:-]{17})\.ipxe$/.exec(path)
    if (req.method === 'GET' && script?.[1]) {
      const mac = script[1].toLowerCase().replaceAll('-', ':')
      const known = await ctx.db
        .selectFrom('node_macs')
        .innerJoin('nodes', 'nodes.id', 'node_macs.node_id')
        .select('nodes.bootenv')
        .where('node_macs.mac', '=', mac)
        .executeTakeFirst()
      res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store' })
      res.end(ipxeScript(known?.bootenv ?? 'discovery', { baseUrl: this.baseUrl, mac }))
      return
    }
    if (req.method === 'GET' && path.startsWith('/files/')) {
      // resolveInside decodes the raw path itself (once), and checks containment on the real path.
      const file = this.options.assetsDir ? await resolveInside(this.options.assetsDir, url.pathname.slice('/files'.length)) : null
      if (!file) {
        json(res, 404, { error: `no boot file ${path.slice('/files/'.length)}` })
        return
      }
      res.writeHead(200, { 'Content-Type': 'application/octet-stream' })
      await streamFile(res, file)
      return
    }
    if (req.method === 'GET' && path === '/api/node/admin-key') {
      res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8' })
      res.end(`${this.options.adminPublicKey.trim()}\n`)
      return
    }
    if (req.method === 'POST' && path === '/api/node/register') {
      const input = RegistrationSchema.safeParse(await readJson(req))
      if (!input.success) return json(res, 400, { error: `invalid registration: ${describeIssues(input.error)}` })
      const registered = await registerNode(ctx, input.data, this.options.domain)
      json(res, 200, { ...registered, admin_public_key: this.options.adminPublicKey.trim() })
      return
    }
    const nodeOp = /^\/api\/node\/(\d{1,9})\/(alive|bootenv)$/.exec(path)
    if (req.method === 'POST' && nodeOp?.[1] && nodeOp[2]) {
      const id = Number(nodeOp[1])
      const body = await readJson(req)
      try {
        if (nodeOp[2] === 'alive') {
          const input = AliveSchema.safeParse(body)
          if (!input.success) return json(res, 400, { error: describeIssues(input.error) })
          const node = await updateNode(ctx, id, { alive: input.data.alive })
          return json(res, 200, { id: node.id, alive: node.alive })
        }
        const input = BootenvSchema.safeParse(body)
        if (!input.success) return json(res, 400, { error: describeIssues(input.error) })
        const node = await updateNode(ctx, id, { bootenv: input.data.bootenv })
        return json(res, 200, { id: node.id, bootenv: node.bootenv })
      } catch (err) {
        if (err instanceof CrowbarError) return json(res, err.kind === 'not_found' ? 404 : 409, { error: err.message })
        throw err
      }
    }
    json(res, 404, { error: `nothing at ${req.method} ${path}` })
  }
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
