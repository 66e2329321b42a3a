// The boot services on the interface that faces the rack: DHCP (or proxyDHCP), TFTP, HTTP boot
// and DNS, composed from the admin network in the store, kept current by the DHCP and DNS
// database roles. Started only when the operator names an interface.
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { networkInterfaces } from 'node:os'
import { join } from 'node:path'
import type { RoleHookRunner } from '../annealer/role-hooks'
import { DHCP_DATABASE_ROLE, syncNodeMacs } from '../barclamps/boot/dhcp-database'
import { DNS_DATABASE_ROLE, DnsDatabase } from '../barclamps/boot/dns-database'
import { UEFI_LOCAL_LOADER } from '../barclamps/provisioner/local-boot'
import type { DomainContext } from '../domain/context'
import type { Logger } from '../base/log'
import { DhcpLeases } from './dhcp/dhcp-leases'
import { DhcpServer } from './dhcp/dhcp-server'
import { parseUpstream } from './dns/dns-forwarder'
import { DnsServer } from './dns/dns-server'
import { BootHttpServer } from './http/boot-http-server'
import { RouterAdvertiser } from './net/router-advertiser'
import { TftpServer } from './tftp/tftp-server'

export interface BootServicesOptions {
  readonly ctx: DomainContext
  readonly hooks: RoleHookRunner
  readonly interface: string
  readonly domain: string
  readonly assetsDir?: string | undefined
  readonly proxyDhcp: boolean
  readonly adminPublicKey: string
  readonly logger: Logger
  readonly ports?: { readonly dhcp?: number; readonly dns?: number; readonly tftp?: number; readonly http?: number }
  readonly dhcpProbeMs?: number
  readonly dnsForwarders?: readonly string[]
}

export class BootServicesError extends Error {
  override readonly name = 'BootServicesError'
}

export interface InterfaceAddress {
  readonly address: string
  readonly netmask: string
  readonly prefixLength: number
  readonly subnet: string
}

/**
 * Node lists only interfaces that are running; a bridge with no port up yet, or a laptop whose
 * rack cable is not plugged in, is missing there. iproute2 sees them all.
 */
function addressesFromIproute(name: string): Array<{ address: string; prefixLength: number }> {
  const out = spawnSync('ip', ['-j', '-4', 'addr', 'show', 'dev', name], { encoding: 'utf8', timeout: 5000 })
  if (out.status !== 0) return []
  try {
    const parsed = JSON.parse(out.stdout) as Array<{ addr_info?: Array<{ local?: string; prefixlen?: number }> }>
    return (parsed[0]?.addr_info ?? []).flatMap((a) => (a.local && a.prefixlen !== undefined ? [{ address: a.local, prefixLength: a.prefixlen }] : []))
  } catch {
    return []
  }
}

const toNumber = (dotted: string): number => dotted.split('.').reduce((a, p) => (a << 8) + Number(p), 0) >>> 0
const toDotted = (n: number): string => [24, 16, 8, 0].map((s) => (n >>> s) & 255).join('.')

function describeAddress(address: string, prefixLength: number): InterfaceAddress {
  const mask = prefixLength === 0 ? 0 : (~0 << (32 - prefixLength)) >>> 0
  const net = (toNumber(address) & mask) >>> 0
  return { address, netmask: toDotted(mask), prefixLength, subnet: `${toDotted(net)}/${prefixLength}` }
}

/**
 * The interface's IPv4 address the boot services answer from: with `within` (the admin network's
 * subnet), the one inside it, so an interface with several addresses serves from the right one.
 */
export function interfaceAddress(name: string, within?: string): InterfaceAddress {
  const all = networkInterfaces()
  const entries = all[name]
  const fromNode = (entries ?? []).filter((e) => e.family === 'IPv4' && e.cidr).map((e) => ({ address: e.address, prefixLength: Number(e.cidr?.split('/')[1]) }))
  const found = fromNode.length > 0 ? fromNode : addressesFromIproute(name)
  if (found.length === 0) {
    if (!entries && spawnSync('ip', ['link', 'show', 'dev', name], { timeout: 5000 }).status !== 0) {
      throw new BootServicesError(`there is no network interface named ${name}; choose one of: ${Object.keys(all).join(', ')} (see \`ip link\`)`)
    }
    throw new BootServicesError(`interface ${name} has no IPv4 address; give it the admin network's address first`)
  }
  const described = found.map((f) => describeAddress(f.address, f.prefixLength))
  const [base, bits] = (within ?? '').split('/')
  const inside =
    within === undefined
      ? undefined
      : described.find((d) => {
          const prefix = Number(bits)
          const mask = prefix === 0 ? 0 : (~0 << (32 - prefix)) >>> 0
          return ((toNumber(d.address) & mask) >>> 0) === ((toNumber(base ?? '') & mask) >>> 0)
        })
  return inside ?? (described[0] as InterfaceAddress)
}

export class BootServices {
  private readonly stack: Array<{ stop(): Promise<void> | void }> = []
  private unsubscribe: (() => void) | undefined
  private http: BootHttpServer | undefined
  private dnsServer: DnsServer | undefined
  /** The missing local-boot loader is said once until it appears. */
  private missingLoaderSaid = false

  constructor(private readonly options: BootServicesOptions) {}

  get httpUrl(): string | undefined {
    return this.http?.baseUrl
  }

  get dnsPort(): number | undefined {
    return this.dnsServer?.port
  }

  async start(): Promise<void> {
    if (this.stack.length > 0) return
    try {
      await this.startAll()
    } catch (err) {
      await this.stop()
      throw err
    }
  }

  private async startAll(): Promise<void> {
    const { ctx, logger } = this.options
    const network = await ctx.db.selectFrom('networks').selectAll().where('category', '=', 'admin').orderBy('id').executeTakeFirst()
    if (!network) throw new BootServicesError('there is no admin network: create one (category admin) before starting the boot services')
    const iface = interfaceAddress(this.options.interface, network.v4_subnet ?? undefined)
    if (network.v4_subnet && iface.subnet !== network.v4_subnet) {
      // DHCP would hand out the admin network's addresses with this interface's mask and server address.
      throw new BootServicesError(
        `interface ${this.options.interface} has no address in the admin network ${network.v4_subnet} (it has ${iface.address}/${iface.prefixLength}); give it one, or serve another interface`
      )
    }
    const dhcpRange = await ctx.db
      .selectFrom('network_ranges')
      .selectAll()
      .where('network_id', '=', network.id)
      .where('family', '=', 4)
      .where('name', '=', 'dhcp')
      .executeTakeFirst()
    if (!dhcpRange && !this.options.proxyDhcp) {
      throw new BootServicesError(`the ${network.name} network has no dhcp range for unknown machines; add one, or use --proxy-dhcp`)
    }
    const router = await ctx.db.selectFrom('network_routers').select('address').where('network_id', '=', network.id).where('family', '=', 4).orderBy('pref').executeTakeFirst()
    const adminNode = await ctx.db.selectFrom('nodes').select('name').where('admin', '=', 1).orderBy('id').executeTakeFirst()

    // The database roles: node events keep the DHCP reservations and the DNS zone current.
    const dns = new DnsDatabase(ctx, this.options.domain, { fqdn: adminNode?.name ?? `admin.${this.options.domain}`, addresses: [iface.address] })
    await dns.refresh()
    this.stack.push(dns)
    const leaseSeconds = 3600
    const leases = new DhcpLeases(ctx.db, ctx.clock, { networkId: network.id, first: dhcpRange?.first ?? '0.0.0.1', last: dhcpRange?.last ?? '0.0.0.0' }, leaseSeconds)
    await leases.load()
    // The MAC table changes after the node event that fired the hook: drop cached reservations again then.
    const syncMacs = async (id: number): Promise<void> => {
      await syncNodeMacs(ctx, id)
      leases.invalidateReservations()
    }
    this.options.hooks.register(DHCP_DATABASE_ROLE, { on_node_create: syncMacs, on_node_change: syncMacs })
    this.options.hooks.register(DNS_DATABASE_ROLE, {
      on_node_create: () => dns.refreshSoon(),
      on_node_change: () => dns.refreshSoon(),
      on_node_delete: () => dns.refreshSoon()
    })
    // Binding a network role allocates addresses without a node event: watch those too.
    this.unsubscribe = ctx.feed.subscribe((e) => {
      if (e.kind === 'noderole' && e.action !== 'updated') dns.refreshSoon()
      // MACs, bootenvs and allocations feed the DHCP reservations: read them afresh.
      if (e.kind === 'node' || (e.kind === 'noderole' && e.action !== 'updated')) leases.invalidateReservations()
    })

    const ports = this.options.ports ?? {}
    this.http = new BootHttpServer({
      ctx,
      address: iface.address,
      port: ports.http ?? 8702,
      assetsDir: this.options.assetsDir,
      domain: this.options.domain,
      adminPublicKey: this.options.adminPublicKey,
      logger: logger.child({ service: 'http-boot' })
    })
    await this.http.start()
    this.stack.push(this.http)

    this.dnsServer = new DnsServer({
      address: iface.address,
      port: ports.dns ?? 53,
      zone: dns.current,
      // Never to ourselves: a query would go round until it timed out.
      forwarders: (this.options.dnsForwarders ?? []).filter((f) => parseUpstream(f)?.host !== iface.address),
      logger: logger.child({ service: 'dns' })
    })
    await this.dnsServer.start()
    this.stack.push(this.dnsServer)

    if (this.options.assetsDir) {
      const tftp = new TftpServer({ root: this.options.assetsDir, address: iface.address, port: ports.tftp ?? 69, logger: logger.child({ service: 'tftp' }) })
      await tftp.start()
      this.stack.push(tftp)
    }

    const http = this.http
    const localBootLoader = (): string | null => this.localBootLoader()
    const dhcp = new DhcpServer({
      interface: this.options.interface,
      leases,
      logger: logger.child({ service: 'dhcp' }),
      ...(ports.dhcp !== undefined ? { port: ports.dhcp } : {}),
      ...(this.options.dhcpProbeMs !== undefined ? { probeMs: this.options.dhcpProbeMs } : {}),
      config: {
        serverAddress: iface.address,
        subnetMask: iface.netmask,
        router: router?.address ?? null,
        dnsServers: [iface.address],
        domain: this.options.domain,
        leaseSeconds,
        // Looked up at each reply: images built while we run are used without a restart.
        bootFiles: { bios: 'undionly.kpxe', uefi: 'ipxe.efi', get uefiLocal() { return localBootLoader() } },
        // Dashes, not colons: iPXE percent-escapes colons in the path it requests.
        ipxeScriptUrl: (mac) => `${http.baseUrl}/boot/${mac.replaceAll(':', '-')}.ipxe`,
        proxy: this.options.proxyDhcp
      }
    })
    await dhcp.start()
    this.stack.push(dhcp)
    if (network.v6prefix) {
      const ra = new RouterAdvertiser(this.options.interface, network.v6prefix, logger.child({ service: 'ra' }))
      ra.start()
      this.stack.push(ra)
    }
    logger.info({ interface: this.options.interface, address: iface.address, http: http.baseUrl, proxyDhcp: this.options.proxyDhcp }, 'boot services ready')
  }

  /** The UEFI local-boot loader when the boot assets have it (build-images makes it), else null. */
  private localBootLoader(): string | null {
    const dir = this.options.assetsDir
    if (dir && existsSync(join(dir, UEFI_LOCAL_LOADER))) {
      this.missingLoaderSaid = false
      return UEFI_LOCAL_LOADER
    }
    if (!this.missingLoaderSaid) {
      this.options.logger.warn(
        { assetsDir: dir ?? null },
        `no ${UEFI_LOCAL_LOADER} in the boot assets: UEFI nodes in bootenv local wait for their firmware's PXE and HTTP boot to time out (~3 min) before the disk; run npm run build:images`
      )
      this.missingLoaderSaid = true
    }
    return null
  }

  async stop(): Promise<void> {
    this.unsubscribe?.()
    this.unsubscribe = undefined
    while (this.stack.length > 0) {
      const s = this.stack.pop()
      await s?.stop()
    }
  }
}
