// HTTP boot, facing the rack: per-node iPXE scripts and installer answer files, kernels and
// initrds from the boot assets directory (confined to it), and the node-facing API booting machines
// use (register, report alive/dead, set their own bootenv to local once installed). Separate from
// the operator API, which stays on loopback.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { z } from 'zod'
import { resolveInside, streamFile } from '../../api/static-files'
import { describeIssues } from '../../api/operations'
import { clusterDomain } from '../../barclamps/network/admin-bootstrap'
import { parseCidr } from '../../base/ip-address'
import { AnswerFileError, defaultInstallDisk, renderAutoinstall, renderPreseed, type AnswerInputs } from '../../barclamps/provisioner/answer-files'
import { ipxeScript } from '../../barclamps/provisioner/bootenvs'
import { registerNode, RegistrationSchema } from '../../barclamps/provisioner/node-registration'
import { OS_INSTALL_ROLE } from '../../barclamps/provisioner/provisioner-barclamp'
import { isJsonObject, mergeLayers, parseJsonObject } from '../../domain/attributes'
import type { DomainContext } from '../../domain/context'
import { CrowbarError } from '../../domain/errors'
import { runInputs } from '../../domain/noderoles'
import { updateNode } from '../../domain/nodes'
import type { Logger } from '../../base/log'

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
/**
 * The node-facing API is unauthenticated and reachable from the whole rack network: it only ever
 * lets a node leave an installer for `local` (the installers' last step). Any other bootenv, an
 * installer above all (it wipes the disk on the next boot), is the operator API's to set.
 */
const BootenvSchema = z.object({ bootenv: z.literal('local') }).strict()
function bootenvRefused(body: unknown): string {
  const asked = isJsonObject(body) && typeof body.bootenv === 'string' ? `bootenv ${JSON.stringify(body.bootenv.slice(0, 64))} refused: ` : ''
  return `${asked}the node-facing API sets bootenv "local" only (body {"bootenv":"local"}); any other bootenv is set through the operator API: PATCH /api/v2/nodes/ID`
}
/** The site's mirror for the installer bootenvs, unless the node's provisioner-os-install attributes name one. */
export const MIRROR_SETTING = 'provisioner.mirror'

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
      const known = await this.nodeByMac(mac)
      const names = known ? await this.hostAndDomain(known.name) : undefined
      text(res, 200, ipxeScript(known?.bootenv ?? 'discovery', { baseUrl: this.baseUrl, mac, ...names }))
      return
    }
    const answer = /^\/answers\/([0-9a-fA-F:-]{17})\/(preseed\.cfg|user-data|meta-data)$/.exec(path)
    if (req.method === 'GET' && answer?.[1] && answer[2]) {
      const mac = answer[1].toLowerCase().replaceAll('-', ':')
      const inputs = await this.answerInputs(mac)
      if ('status' in inputs) return text(res, inputs.status, `${inputs.message}\n`)
      try {
        const file = answer[2]
        if (file === 'preseed.cfg') return text(res, 200, renderPreseed(inputs))
        const rendered = renderAutoinstall(inputs)
        return text(res, 200, file === 'user-data' ? rendered.userData : rendered.metaData)
      } catch (err) {
        if (err instanceof AnswerFileError) return text(res, 409, `cannot render ${answer[2]} for the node with MAC ${mac}: ${err.message}\n`)
        throw err
      }
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
        if (!input.success) return json(res, 400, { error: bootenvRefused(body) })
        const node = await updateNode(ctx, id, { bootenv: input.data.bootenv })
        return json(res, 200, { id: node.id, bootenv: node.bootenv })
      } catch (err) {
        if (err instanceof CrowbarError) return json(res, err.kind === 'not_found' ? 404 : 409, { error: err.message })
        throw err
      }
    }
    json(res, 404, { error: `nothing at ${req.method} ${path}` })
  }

  private async nodeByMac(mac: string) {
    return this.options.ctx.db
      .selectFrom('node_macs')
      .innerJoin('nodes', 'nodes.id', 'node_macs.node_id')
      .select(['nodes.id', 'nodes.name', 'nodes.bootenv', 'nodes.discovery'])
      .where('node_macs.mac', '=', mac)
      .executeTakeFirst()
  }

  /** A node named by its FQDN splits there; a bare name is in the cluster domain. */
  private async hostAndDomain(name: string): Promise<{ hostname: string; domain: string }> {
    const dot = name.indexOf('.')
    if (dot > 0) return { hostname: name.slice(0, dot), domain: name.slice(dot + 1) }
    return { hostname: name, domain: await clusterDomain(this.options.ctx) }
  }

  /** What a node's answer files are rendered from: the store, read at each request. */
  private async answerInputs(mac: string): Promise<AnswerInputs | { status: number; message: string }> {
    const { db } = this.options.ctx
    const node = await this.nodeByMac(mac)
    if (!node) return { status: 404, message: `no node has MAC ${mac}: a machine gets answer files once it has registered (booted discovery)` }
    const allocations = await db
      .selectFrom('network_allocations')
      .innerJoin('networks', 'networks.id', 'network_allocations.network_id')
      .select(['networks.id as network_id', 'networks.v4_subnet', 'networks.v6prefix', 'network_allocations.family', 'network_allocations.address'])
      .where('network_allocations.node_id', '=', node.id)
      .where('networks.category', '=', 'admin')
      .orderBy('networks.id')
      .execute()
    const v4 = allocations.find((a) => a.family === 4)
    const v4net = v4?.v4_subnet ? parseCidr(v4.v4_subnet) : undefined
    if (!v4 || !v4net || typeof v4net === 'string') {
      return { status: 409, message: `node ${node.name} has no IPv4 address on an admin network: bind it to the admin network's role, then boot the installer` }
    }
    const v6 = allocations.find((a) => a.family === 6 && a.network_id === v4.network_id)
    const v6net = v6?.v6prefix ? parseCidr(v6.v6prefix) : undefined
    const router = await db
      .selectFrom('network_routers')
      .select('address')
      .where('network_id', '=', v4.network_id)
      .where('family', '=', 4)
      .orderBy('pref')
      .executeTakeFirst()
    const setting = await db.selectFrom('settings').select('value').where('key', '=', MIRROR_SETTING).executeTakeFirst()
    const attributes = await this.installAttributes(node.id)
    return {
      ...(await this.hostAndDomain(node.name)),
      mac,
      // The boot services' DNS server listens where HTTP boot does.
      ipv4: { address: v4.address, prefixLength: v4net.prefixLength, router: router?.address ?? null, nameservers: [this.options.address] },
      ipv6: v6 && v6net && typeof v6net !== 'string' ? { address: v6.address, prefixLength: v6net.prefixLength } : null,
      adminPublicKey: this.options.adminPublicKey,
      mirror: attributes.mirror ?? setting?.value ?? null,
      disk: attributes.disk ?? defaultInstallDisk(parseJsonObject(node.discovery).disks),
      bootenvUrl: `${this.baseUrl}/api/node/${node.id}/bootenv`
    }
  }

  /** `provisioner.mirror` and `provisioner.install_disk` as the node's provisioner-os-install noderole merges them. */
  private async installAttributes(nodeId: number): Promise<{ mirror?: string; disk?: string }> {
    const { db } = this.options.ctx
    const nr = await db
      .selectFrom('noderoles')
      .innerJoin('roles', 'roles.id', 'noderoles.role_id')
      .select('noderoles.id')
      .where('noderoles.node_id', '=', nodeId)
      .where('roles.name', '=', OS_INSTALL_ROLE)
      .orderBy('noderoles.id', 'desc')
      .executeTakeFirst()
    const input = nr ? (await runInputs(db, [nr.id])).get(nr.id) : undefined
    const provisioner = input ? mergeLayers(input.layers).provisioner : undefined
    if (!isJsonObject(provisioner)) return {}
    const { mirror, install_disk: disk } = provisioner
    return { ...(typeof mirror === 'string' && mirror ? { mirror } : {}), ...(typeof disk === 'string' && disk ? { disk } : {}) }
  }
}

function text(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store' })
  res.end(body)
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
