// Start-up in one place: store -> domain -> handlers. Transports (HTTP, IPC) are attached by the
// entry points (cli/, electron/). Nothing here runs at import time.
import { crowbarBarclamp } from './barclamps/crowbar-barclamp'
import { testBarclamp } from './barclamps/test-barclamp'
import { OS_INSTALL_ROLE, OsInstall, provisionerBarclamp } from './barclamps/provisioner/provisioner-barclamp'
import { BarclampDefinitionSchema } from './model'
import { createHandlers } from './api/handlers'
import type { Handlers } from './api/operations'
import { importBarclamp } from './domain/barclamps'
import { ChangeFeed } from './domain/change-feed'
import type { Clock, DomainContext } from './domain/context'
import { ensureSystemDeployment } from './domain/deployments'
import { Annealer } from './annealer/annealer'
import { RoleHookRunner } from './annealer/role-hooks'
import type { Jig } from './jigs/jig'
import { NoopJig } from './jigs/noop-jig'
import { TestJig } from './jigs/test-jig'
import { bootstrapAdmin, type AdminBootstrap } from './barclamps/network/admin-bootstrap'
import { adminAddressesOf } from './barclamps/network/allocations'
import { networkBindHook } from './barclamps/network/network-barclamp'
import { ScriptJig, type ScriptJigOptions } from './jigs/script-jig'
import { ensureAdminKeyPair, type AdminKeyPair } from './jigs/ssh/admin-keys'
import { HostKeyPins } from './jigs/ssh/host-key-pins'
import type { Logger } from './base/log'
import { BootServices, interfaceAddress, type BootServicesOptions } from './services/boot-services'
import { clusterDomain } from './barclamps/network/admin-bootstrap'
import { chosenInterface, SetupWizard, type BootControl } from './setup/setup-wizard'
import { messageOf } from './base/error-message'
import { openStore, type Store } from './store/store'

export const VERSION = '0.1.0'

export interface AppOptions {
  readonly dataDir: string
  readonly databaseUrl?: string | undefined
  readonly clock?: Clock
  readonly logger: Logger
  /** Run the annealer in this process (default true). */
  readonly anneal?: boolean
  /** The jigs to run with (default: noop, test and script). */
  readonly jigs?: readonly Jig[]
  readonly scriptJig?: ScriptJigOptions
  /** This process's own cap on running jobs (several workers sharing PostgreSQL). */
  readonly localLimit?: number
  /** First start: create the admin network and node (default: yes, with defaults); false skips it. */
  readonly bootstrap?: AdminBootstrap | false
  /**
   * Wait for the install wizard (DESIGN.md §8): nothing is created and no boot services run until
   * the operator completes it; then they run on the interface chosen there (on later starts too).
   */
  readonly wizard?: boolean
  /** Serve DHCP/TFTP/HTTP boot/DNS on `interface` (none: no boot services); in wizard mode, on the chosen one. */
  readonly boot?: {
    /** Not with `wizard`: the wizard chooses it. */
    readonly interface?: string | undefined
    readonly assetsDir?: string | undefined
    readonly proxyDhcp: boolean
    /** Where DNS sends names outside the cluster domain (none: REFUSED). */
    readonly dnsForwarders?: readonly string[] | undefined
    readonly ports?: BootServicesOptions['ports']
  }
}

export interface CrowbarApp {
  readonly ctx: DomainContext
  readonly store: Store
  readonly handlers: Handlers
  readonly feed: ChangeFeed
  readonly logger: Logger
  readonly annealer: Annealer | undefined
  readonly hooks: RoleHookRunner
  /** The admin SSH key pair (created on first start, private key 0600 in the data directory). */
  readonly adminKeys: AdminKeyPair
  readonly hostKeys: HostKeyPins
  /** The boot services while they run (they may start later, when the install wizard is completed). */
  readonly boot: BootServices | undefined
  readonly setup: SetupWizard
  stop(): Promise<void>
}

export const BUILT_IN_BARCLAMPS = [crowbarBarclamp, provisionerBarclamp, testBarclamp]

export async function startApp(options: AppOptions): Promise<CrowbarApp> {
  if (options.wizard && options.boot?.interface !== undefined) throw new Error('in wizard mode the operator chooses the interface: pass no boot.interface')
  const store = await openStore({ dataDir: options.dataDir, databaseUrl: options.databaseUrl })
  const feed = new ChangeFeed()
  const osInstall = new OsInstall()
  const ctx: DomainContext = {
    db: store.db,
    kind: store.kind,
    clock: options.clock ?? (() => new Date()),
    feed,
    bindHooks: [networkBindHook, osInstall.bindHook]
  }
  try {
    await ensureSystemDeployment(ctx)
    for (const def of BUILT_IN_BARCLAMPS) await importBarclamp(ctx, BarclampDefinitionSchema.parse(def))
    // With an interface, the admin network is that interface's subnet and the admin node holds its address.
    const served = options.boot?.interface ? interfaceAddress(options.boot.interface) : undefined
    const given = options.bootstrap === false ? undefined : options.bootstrap
    const first = served ? { v4Subnet: served.subnet, adminAddress: served.address, ...given } : (given ?? {})
    if (!options.wizard && options.bootstrap !== false && (await bootstrapAdmin(ctx, first))) {
      options.logger.info('first start: created the admin network and the admin node')
    }
  } catch (err) {
    await store.close()
    throw err
  }
  let adminKeys: AdminKeyPair
  try {
    adminKeys = await ensureAdminKeyPair(options.dataDir)
  } catch (err) {
    await store.close()
    throw err
  }
  const hostKeys = new HostKeyPins(store.db, ctx.clock)
  const hooks = new RoleHookRunner(ctx, feed, options.logger.child({ subsystem: 'hooks' }))
  hooks.start()
  osInstall.attach({
    keyPair: adminKeys,
    pins: hostKeys,
    addressesOf: (nodeId) => adminAddressesOf(store.db, nodeId),
    logger: options.logger.child({ subsystem: 'provisioner' })
  })
  hooks.register(OS_INSTALL_ROLE, osInstall.roleHooks())
  const jigs = options.jigs ?? [
    new NoopJig(),
    new TestJig(),
    new ScriptJig(adminKeys, hostKeys, { logger: options.logger.child({ subsystem: 'script-jig' }), ...options.scriptJig })
  ]
  const annealer =
    options.anneal === false
      ? undefined
      : new Annealer({
          ctx,
          jigs,
          logger: options.logger.child({ subsystem: 'annealer' }),
          addressesOf: (nodeId) => adminAddressesOf(store.db, nodeId),
          peers: store.peers,
          ...(options.localLimit ? { localLimit: options.localLimit } : {})
        })
  try {
    await annealer?.start()
  } catch (err) {
    await hooks.stop()
    await store.close()
    throw err
  }
  let stopped = false
  // The one way the boot services start: at start-up on the given (or earlier chosen) interface, or
  // when the install wizard is completed on the interface chosen there.
  const booting: { services: BootServices | undefined; interface: string | null; error: string | null } = { services: undefined, interface: null, error: null }
  // A start in progress (wizard completion), so stop() waits for it rather than close the store under it.
  let bootStarting: Promise<void> = Promise.resolve()
  const startBoot = async (iface: string): Promise<void> => {
    booting.interface = iface
    booting.error = null
    const services = new BootServices({
      ctx,
      hooks,
      interface: iface,
      domain: await clusterDomain(ctx),
      assetsDir: options.boot?.assetsDir,
      proxyDhcp: options.boot?.proxyDhcp ?? false,
      ...(options.boot?.dnsForwarders ? { dnsForwarders: options.boot.dnsForwarders } : {}),
      adminPublicKey: adminKeys.publicKey,
      logger: options.logger.child({ subsystem: 'boot' }),
      ...(options.boot?.ports ? { ports: options.boot.ports } : {})
    })
    try {
      await services.start()
    } catch (err) {
      booting.error = messageOf(err)
      throw err
    }
    // A wizard completion that raced stop(): nothing may keep running after it.
    if (stopped) {
      await services.stop()
      return
    }
    booting.services = services
    osInstall.setApiUrl(services.httpUrl)
  }
  const bootControl: BootControl = {
    start(iface) {
      const started = startBoot(iface)
      bootStarting = started.catch(() => undefined)
      return started
    },
    status: () => ({ interface: booting.interface, url: booting.services?.httpUrl ?? null, error: booting.error })
  }
  const setup = new SetupWizard({ ctx, boot: bootControl, logger: options.logger.child({ subsystem: 'setup' }) })
  try {
    if (options.wizard) {
      // The interface chosen in an earlier wizard: if the services cannot start there now, the app
      // still starts and the window says why (a fatal start would lock the operator out).
      const chosen = await chosenInterface(ctx)
      if (chosen) await bootControl.start(chosen).catch((err: unknown) => options.logger.error({ err, interface: chosen }, 'boot services did not start on the interface chosen in the install wizard'))
    } else if (options.boot?.interface) {
      await bootControl.start(options.boot.interface)
    }
  } catch (err) {
    await annealer?.stop()
    await hooks.stop()
    await store.close()
    throw err
  }
  const handlers = createHandlers(ctx, { version: VERSION, location: store.location, annealer, hostKeys, setup })
  options.logger.info({ store: store.kind, location: store.location }, 'store ready')
  return {
    ctx,
    store,
    handlers,
    feed,
    logger: options.logger,
    annealer,
    hooks,
    adminKeys,
    hostKeys,
    get boot() {
      return booting.services
    },
    setup,
    async stop() {
      if (stopped) return
      stopped = true
      await bootStarting
      await booting.services?.stop()
      await annealer?.stop()
      await hooks.stop()
      await store.close()
    }
  }
}
