// The boot services on the interface that faces the rack: DHCP (or proxyDHCP), TFTP, HTTP boot,
// DNS and IPv6 router advertisements, composed from the admin network and fed by the barclamps
// (the DHCP and DNS database roles' sources, the provisioner's routes). Each server owns the
// interface it reads through; this file only wires them. Started only when an interface is named.
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { DisposableStore, toDisposable, type Disposable } from '../base/lifecycle'
import type { Logger } from '../base/log'
import type { RoleHookRegistry } from '../annealer/role-hooks'
import { storeBackedLeases } from '../barclamps/dhcp-database/dhcp-backend'
import { DnsDatabase } from '../barclamps/dns-database/dns-database'
import { adminNetworkLayout } from '../barclamps/network/admin-network'
import type { BootRecorder } from '../barclamps/provisioner/boot-recorder'
import { UEFI_LOCAL_LOADER } from '../barclamps/provisioner/local-boot'
import type { DomainContext } from '../domain/context'
import { DhcpServer } from '../services/dhcp/dhcp-server'
import { parseUpstream } from '../services/dns/dns-forwarder'
import { DnsServer } from '../services/dns/dns-server'
import { BootHttpServer } from '../services/http/boot-http-server'
import type { BootRouter } from '../services/http/boot-router'
import { BootServicesError, interfaceAddress } from '../services/net/interface-address'
import { RouterAdvertiser } from '../services/net/router-advertiser'
import { defaultRouteInterfaces, runPreflight } from '../services/preflight/preflight'
import { officeNetworkRefusal } from '../services/preflight/preflight-policy'
import { ServiceStartError } from '../services/net/service-error'
import type { PreflightReport } from '../model/preflight'
import { TftpServer } from '../services/tftp/tftp-server'

export interface BootServicesOptions {
  readonly ctx: DomainContext
  readonly hooks: RoleHookRegistry
  /** What HTTP boot routes besides the boot assets (the barclamps registered it). */
  readonly router: BootRouter
  readonly interface: string
  readonly domain: string
  readonly assetsDir?: string | undefined
  readonly proxyDhcp: boolean
  readonly logger: Logger
  readonly ports?: { readonly dhcp?: number; readonly dns?: number; readonly tftp?: number; readonly http?: number }
  /** How long the network preflight listens before the start (default 2 s); 0 skips it and the DHCP probe. */
  readonly dhcpProbeMs?: number
  readonly dnsForwarders?: readonly string[]
  /** The operator confirmed "this interface faces your office network": serve it though it holds the default route. */
  readonly confirmDefaultRoute?: boolean
  /** The boot flight recorder: every DHCP packet, TFTP request and HTTP boot answer goes to it. */
  readonly recorder?: BootRecorder | undefined
}

const LEASE_SECONDS = 3600
/** How long the preflight before a start listens on the link (DESIGN.md §6.2: 2 s). */
const PREFLIGHT_LISTEN_MS = 2000

/** The interface's Ethernet address (sysfs), or 00:00:00:00:00:00 when it has none that reads. */
function interfaceMac(name: string): string {
  try {
    const mac = readFileSync(`/sys/class/net/${name.replace(/[/\\]/g, '')}/address`, 'utf8').trim().toLowerCase()
    return /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/.test(mac) ? mac : '00:00:00:00:00:00'
  } catch {
    return '00:00:00:00:00:00'
  }
}

/** A server with start/stop, as a Disposable once started. */
async function started(server: { start(): Promise<void> | void; stop(): Promise<void> | void }): Promise<Disposable> {
  await server.start()
  return toDisposable(() => server.stop())
}

export class BootServices implements Disposable {
  private running: DisposableStore | undefined
  private http: BootHttpServer | undefined
  private dnsServer: DnsServer | undefined
  private lastPreflight: PreflightReport | null = null
  /** The missing local-boot loader is said once until it appears. */
  private missingLoaderSaid = false

  constructor(private readonly options: BootServicesOptions) {}

  /** The network preflight of the last start (null: not run, e.g. dhcpProbeMs 0). */
  get preflightReport(): PreflightReport | null {
    return this.lastPreflight
  }

  /**
   * The full network preflight (DESIGN.md §6.2) before anything serves the link: its findings are
   * logged, and another DHCP server handing out addresses refuses the start unless in proxyDHCP
   * mode. Returns whether it checked for other DHCP servers (then the DHCP server need not probe).
   */
  private async preflight(): Promise<boolean> {
    const listenMs = this.options.dhcpProbeMs ?? PREFLIGHT_LISTEN_MS
    this.lastPreflight = null
    if (listenMs <= 0) return false
    const iface = this.options.interface
    const report = await runPreflight(iface, { listenMs })
    this.lastPreflight = report
    const log = this.options.logger
    log.info(
      {
        interface: iface,
        mtu: report.link.mtu,
        carrier: report.link.carrier,
        dhcp_servers: report.dhcp_servers.map((d) => d.server),
        ipv6_routers: report.ipv6_routers.map((r) => r.address),
        lldp: report.lldp ? `${report.lldp.chassis} port ${report.lldp.port}${report.lldp.vlan !== null ? ` vlan ${report.lldp.vlan}` : ''}` : null,
        unchecked: report.unchecked
      },
      'network preflight'
    )
    if (report.link.exists && !report.link.carrier) log.warn({ interface: iface }, `${iface} has no carrier: is the cable in and the switch port up?`)
    for (const r of report.ipv6_routers) log.warn({ interface: iface, router: r.address, prefixes: r.prefixes }, 'another IPv6 router advertises on the link: nodes may take its prefixes and default route')
    const handingOut = report.dhcp_servers.filter((d) => d.offered !== null)
    if (!this.options.proxyDhcp && handingOut.length > 0) {
      const described = handingOut.map((d) => `${d.server}${d.subnet ? ` offering ${d.subnet}` : ''}${d.boot_file ? `, PXE boot file ${d.boot_file}` : ''}`)
      throw new ServiceStartError(
        'DHCP',
        'another_server',
        `another DHCP server already answers on ${iface} (${described.join('; ')}): stop it, or start with --proxy-dhcp to add only PXE boot information to its answers`
      )
    }
    for (const d of report.dhcp_servers.filter((x) => x.boot_file !== null)) {
      log.warn({ interface: iface, server: d.server, boot_file: d.boot_file }, `${d.server} already hands out a PXE boot file (${d.boot_file ?? ''}): machines may boot from it instead`)
    }
    return !report.unchecked.some((u) => u.startsWith('other DHCP servers') || u.startsWith('everything on the link'))
  }

  get httpUrl(): string | undefined {
    return this.http?.baseUrl
  }

  get dnsPort(): number | undefined {
    return this.dnsServer?.port
  }

  async start(): Promise<void> {
    if (this.running) return
    const store = new DisposableStore()
    this.running = store
    try {
      await this.startAll(store)
    } catch (err) {
      await this.stop()
      throw err
    }
  }

  async stop(): Promise<void> {
    const store = this.running
    this.running = undefined
    await store?.dispose()
  }

  dispose(): Promise<void> {
    return this.stop()
  }

  private async startAll(store: DisposableStore): Promise<void> {
    const { ctx, logger } = this.options
    if (!this.options.confirmDefaultRoute && defaultRouteInterfaces().includes(this.options.interface)) {
      throw new BootServicesError(officeNetworkRefusal(this.options.interface, '--confirm-default-route, or confirm_default_route: true in the install wizard'))
    }
    const dhcpChecked = await this.preflight()
    const network = await adminNetworkLayout(ctx.db)
    if (!network) throw new BootServicesError('there is no admin network: create one (category admin) before starting the boot services')
    const iface = interfaceAddress(this.options.interface, network.v4Subnet ?? undefined)
    if (network.v4Subnet && iface.subnet !== network.v4Subnet) {
      // DHCP would hand out the admin network's addresses with this interface's mask and server address.
      throw new BootServicesError(
        `interface ${this.options.interface} has no address in the admin network ${network.v4Subnet} (it has ${iface.address}/${iface.prefixLength}); give it one, or serve another interface`
      )
    }
    if (!network.dhcpRange && !this.options.proxyDhcp) {
      throw new BootServicesError(`the ${network.name} network has no dhcp range for unknown machines; add one, or use --proxy-dhcp`)
    }

    // The database roles: node events keep the DNS zone and the DHCP reservations current.
    const domain = this.options.domain
    const zone = store.add(new DnsDatabase(ctx, domain, { fqdn: network.adminNode ?? `admin.${domain}`, addresses: [iface.address] }).watch(this.options.hooks))
    await zone.refresh()
    const { leases, reservations } = storeBackedLeases(ctx, this.options.hooks, {
      networkId: network.id,
      first: network.dhcpRange?.first ?? '0.0.0.1',
      last: network.dhcpRange?.last ?? '0.0.0.0',
      leaseSeconds: LEASE_SECONDS
    })
    store.add(reservations)
    await leases.load()

    const ports = this.options.ports ?? {}
    // The packets' sinks, with this interface's own Ethernet address for the frames' server side.
    const capture = this.options.recorder?.packets.sinks(interfaceMac(this.options.interface))
    const http = new BootHttpServer({
      address: iface.address,
      port: ports.http ?? 8702,
      assetsDir: this.options.assetsDir,
      router: this.options.router,
      logger: logger.child({ service: 'http-boot' }),
      onRequest: this.options.recorder?.http,
      onCapture: capture?.http
    })
    store.add(await started(http))
    this.http = http
    store.add(toDisposable(() => void (this.http = undefined)))

    const dns = new DnsServer({
      address: iface.address,
      port: ports.dns ?? 53,
      zone: zone.current,
      // Never to ourselves: a query would go round until it timed out.
      forwarders: (this.options.dnsForwarders ?? []).filter((f) => parseUpstream(f)?.host !== iface.address),
      // Recursion for the rack this serves only: its IPv4 subnet, its IPv6 prefix and link-local.
      forwardFor: [iface.subnet, 'fe80::/10', ...(network.v6prefix && network.v6prefix !== 'auto' ? [network.v6prefix] : [])],
      logger: logger.child({ service: 'dns' })
    })
    store.add(await started(dns))
    this.dnsServer = dns
    store.add(toDisposable(() => void (this.dnsServer = undefined)))

    if (this.options.assetsDir) {
      const onEvent = this.options.recorder?.tftp
      store.add(
        await started(
          new TftpServer({ root: this.options.assetsDir, address: iface.address, port: ports.tftp ?? 69, logger: logger.child({ service: 'tftp' }), ...(onEvent ? { onEvent } : {}), ...(capture ? { onCapture: capture.tftp } : {}) })
        )
      )
    }

    const localBootLoader = (): string | null => this.localBootLoader()
    const dhcp = new DhcpServer({
      interface: this.options.interface,
      leases,
      logger: logger.child({ service: 'dhcp' }),
      ...(this.options.recorder ? { onPacket: this.options.recorder.dhcpSink } : {}),
      ...(capture ? { onCapture: capture.dhcp } : {}),
      ...(ports.dhcp !== undefined ? { port: ports.dhcp } : {}),
      // The preflight listened for other servers already; its own probe only when it could not.
      ...(dhcpChecked ? { probeMs: 0 } : this.options.dhcpProbeMs !== undefined ? { probeMs: this.options.dhcpProbeMs } : {}),
      config: {
        serverAddress: iface.address,
        subnetMask: iface.netmask,
        router: network.router,
        dnsServers: [iface.address],
        domain,
        leaseSeconds: LEASE_SECONDS,
        // Looked up at each reply: images built while we run are used without a restart.
        bootFiles: { bios: 'undionly.kpxe', uefi: 'ipxe.efi', get uefiLocal() { return localBootLoader() } },
        // Dashes, not colons: iPXE percent-escapes colons in the path it requests.
        ipxeScriptUrl: (mac) => `${http.baseUrl}/boot/${mac.replaceAll(':', '-')}.ipxe`,
        proxy: this.options.proxyDhcp
      }
    })
    store.add(await started(dhcp))
    if (network.v6prefix) {
      store.add(await started(new RouterAdvertiser(this.options.interface, network.v6prefix, logger.child({ service: 'ra' }))))
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
}
