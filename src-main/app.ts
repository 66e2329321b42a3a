// Start-up in one place: store -> domain -> barclamps -> annealer -> boot services -> handlers,
// each acquired into one DisposableStore that unwinds in reverse on failure and on stop.
// Transports (HTTP, IPC) are attached by the entry points (cli/, electron/). Nothing here runs at
// import time.
import { join } from 'node:path'
import { DisposableStore, toDisposable } from './base/lifecycle'
import { createPrivateFile, makePrivateTree } from './base/private-files'
import { messageOf } from './base/error-message'
import type { Logger } from './base/log'
import { Annealer } from './annealer/annealer'
import { RoleHookRunner } from './annealer/role-hooks'
import { readOrCreateApiToken } from './api/api-token'
import { createHandlers } from './api/handlers'
import type { Handlers } from './api/operations'
import { startBarclamps, type BarclampModule } from './barclamps/barclamp-module'
import { crowbarBarclamp } from './barclamps/crowbar/crowbar-barclamp'
import { dhcpDatabaseBarclamp } from './barclamps/dhcp-database/dhcp-database'
import { dnsDatabaseBarclamp } from './barclamps/dns-database/dns-database'
import { bootstrapAdmin, clusterDomain, type AdminBootstrap } from './barclamps/network/admin-bootstrap'
import { adminAddressesOf } from './barclamps/network/allocations'
import { networkBarclamp } from './barclamps/network/network-barclamp'
import { provisionerBarclamp } from './barclamps/provisioner/provisioner-barclamp'
import { testBarclamp } from './barclamps/test/test-barclamp'
import { bmcBarclamp } from './barclamps/bmc/bmc-barclamp'
import { PowerManager, type PowerManagerOptions } from './barclamps/bmc/power-manager'
import { SecretBox } from './base/secret-box'
import { CommitListeners } from './domain/commit-listeners'
import { SecretInputs } from './jigs/secret-inputs'
import { BootRecorder } from './barclamps/provisioner/boot-recorder'
import { BootServices, type BootServicesOptions } from './boot/boot-services'
import { BindHookRegistry } from './domain/bind-hooks'
import { ChangeFeed } from './domain/change-feed'
import type { Clock, DomainContext } from './domain/context'
import { ensureSystemDeployment } from './domain/deployments'
import type { Jig } from './jigs/jig'
import { NoopJig } from './jigs/noop-jig'
import { ScriptJig, type ScriptJigOptions } from './jigs/script-jig'
import { ensureAdminKeyPair, type AdminKeyPair } from './jigs/ssh/admin-keys'
import { HostKeyPins } from './jigs/ssh/host-key-pins'
import { TestJig } from './jigs/test-jig'
import { BootRouter } from './services/http/boot-router'
import { interfaceAddress } from './services/net/interface-address'
import { chosenInterface, chosenInterfaceConfirmed, chosenProxyDhcp, SetupWizard, type BootControl } from './setup/setup-wizard'
import { openStore, openWriterConnection, SQLITE_FILE_NAME, type Store } from './store/store'

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
  /** BMC power: the poll interval, each call's bound, the ipmitool binary (tests shorten them). */
  readonly power?: Pick<PowerManagerOptions, 'pollMs' | 'timeoutMs' | 'concurrency' | 'ipmitoolPath'>
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
    /** Serve an interface holding this machine's default route: the operator confirmed it faces the office network. */
    readonly confirmDefaultRoute?: boolean | undefined
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
  /** What HTTP boot routes to besides the boot assets (the barclamps' registrations). */
  readonly bootRoutes: BootRouter
  /** The admin SSH key pair (created on first start, private key 0600 in the data directory). */
  readonly adminKeys: AdminKeyPair
  /** What the HTTP transport requires as `Authorization: Bearer` (`<data-dir>/api-token`, 0600). */
  readonly apiToken: string
  readonly hostKeys: HostKeyPins
  /** The boot services while they run (they may start later, when the install wizard is completed). */
  readonly boot: BootServices | undefined
  readonly setup: SetupWizard
  /** Power through the nodes' BMCs. */
  readonly power: PowerManager
  stop(): Promise<void>
}

/** Every built-in barclamp, in the order they start (definitions install in this order). */
export const BUILT_IN_BARCLAMPS: readonly BarclampModule[] = [crowbarBarclamp, networkBarclamp, dhcpDatabaseBarclamp, dnsDatabaseBarclamp, provisionerBarclamp, bmcBarclamp, testBarclamp]

export async function startApp(options: AppOptions): Promise<CrowbarApp> {
  if (options.wizard && options.boot?.interface !== undefined) throw new Error('in wizard mode the operator chooses the interface: pass no boot.interface')
  const owned = new DisposableStore()
  try {
    return await compose(options, owned)
  } catch (err) {
    await owned.dispose().catch((e: unknown) => options.logger.error({ err: e }, 'releasing what had started failed'))
    throw err
  }
}

async function compose(options: AppOptions, owned: DisposableStore): Promise<CrowbarApp> {
  const { logger } = options
  // The data directory is its user's alone: 0700, every file 0600, the SQLite file created 0600
  // before SQLite opens it (its -wal and -shm files take the database file's mode).
  await makePrivateTree(options.dataDir)
  if (!options.databaseUrl) await createPrivateFile(join(options.dataDir, SQLITE_FILE_NAME))
  const apiToken = await readOrCreateApiToken(options.dataDir)
  const store = await openStore({ dataDir: options.dataDir, databaseUrl: options.databaseUrl })
  owned.add(toDisposable(() => store.close()))
  const feed = new ChangeFeed()
  const bindHooks = new BindHookRegistry()
  const clock = options.clock ?? (() => new Date())
  const adminKeys = await ensureAdminKeyPair(options.dataDir)
  const hostKeys = new HostKeyPins(store.db, clock)
  // Secrets a role's scripts need for one run (bmc-configure's password), never stored.
  const secrets = options.scriptJig?.secrets ?? new SecretInputs()
  const jigs = options.jigs ?? [
    new NoopJig(),
    new TestJig(),
    new ScriptJig(adminKeys, hostKeys, { logger: logger.child({ subsystem: 'script-jig' }), ...options.scriptJig, secrets })
  ]
  // The jigs the annealer runs are the active ones: binding refuses a role whose jig is not here.
  const activeJigs = new Set(jigs.map((j) => j.name))
  const commits = new CommitListeners()
  const ctx: DomainContext = { db: store.db, kind: store.kind, clock, feed, bindHooks, activeJigs, commits }
  // BMC passwords are sealed with a key of the data directory's own (like the admin key).
  const credentialBox = await SecretBox.ofDataDir(options.dataDir)
  const power = new PowerManager({ ctx, box: credentialBox, logger: logger.child({ subsystem: 'power' }), ...options.power })
  await ensureSystemDeployment(ctx)
  const hooks = new RoleHookRunner(ctx, feed, logger.child({ subsystem: 'hooks' }))
  const bootRoutes = new BootRouter()
  // Flushed before the store closes (the store is released after it, newest first).
  // Its own connection: its batches must not queue in front of the boot services' leases.
  const recorderConnection = await openWriterConnection(store)
  owned.add({ dispose: () => recorderConnection.close() })
  const bootRecorder = owned.add(new BootRecorder({ ctx, logger: logger.child({ subsystem: 'boot-recorder' }), writeDb: recorderConnection.db }))
  // The boot services while they run (they may start later, when the install wizard is completed).
  const booting: { services: BootServices | undefined; interface: string | null; error: string | null } = { services: undefined, interface: null, error: null }
  owned.add(
    await startBarclamps(BUILT_IN_BARCLAMPS, {
      domain: ctx,
      hooks,
      bindHooks,
      bootRoutes,
      adminKeys,
      hostKeys,
      bootUrl: () => booting.services?.httpUrl,
      bootRecorder,
      power,
      secrets,
      credentialBox,
      logger
    })
  )
  // With an interface, the admin network is that interface's subnet and the admin node holds its address.
  const served = options.boot?.interface ? interfaceAddress(options.boot.interface) : undefined
  const given = options.bootstrap === false ? undefined : options.bootstrap
  const first = served ? { v4Subnet: served.subnet, adminAddress: served.address, ...given } : (given ?? {})
  if (!options.wizard && options.bootstrap !== false && (await bootstrapAdmin(ctx, first))) {
    logger.info('first start: created the admin network and the admin node')
  }
  hooks.start()
  owned.add(toDisposable(() => hooks.stop()))
  let annealer: Annealer | undefined
  if (options.anneal !== false) {
    const started = new Annealer({
      ctx,
      jigs,
      logger: logger.child({ subsystem: 'annealer' }),
      addressesOf: (nodeId) => adminAddressesOf(store.db, nodeId),
      peers: store.peers,
      ...(options.localLimit ? { localLimit: options.localLimit } : {})
    })
    await started.start()
    owned.add(toDisposable(() => started.stop()))
    annealer = started
  }
  // A start in progress (wizard completion), so stop waits for it rather than close the store under it.
  let bootStarting: Promise<void> = Promise.resolve()
  owned.add(
    toDisposable(async () => {
      await bootStarting
      const services = booting.services
      booting.services = undefined
      await services?.dispose()
    })
  )
  // The one way the boot services start: at start-up on the given (or earlier chosen) interface, or
  // when the install wizard is completed on the interface chosen there.
  const startBoot = async (iface: string, confirmDefaultRoute: boolean, proxyDhcp: boolean | undefined): Promise<void> => {
    booting.interface = iface
    booting.error = null
    const services = new BootServices({
      ctx,
      hooks,
      router: bootRoutes,
      interface: iface,
      domain: await clusterDomain(ctx),
      assetsDir: options.boot?.assetsDir,
      // The wizard's choice, else the command line's.
      proxyDhcp: proxyDhcp ?? options.boot?.proxyDhcp ?? false,
      ...(options.boot?.dnsForwarders ? { dnsForwarders: options.boot.dnsForwarders } : {}),
      logger: logger.child({ subsystem: 'boot' }),
      recorder: bootRecorder,
      ...(options.boot?.ports ? { ports: options.boot.ports } : {}),
      confirmDefaultRoute: confirmDefaultRoute || options.boot?.confirmDefaultRoute === true
    })
    try {
      await services.start()
    } catch (err) {
      booting.error = messageOf(err)
      throw err
    }
    // A wizard completion that raced stop(): nothing may keep running after it.
    if (owned.isDisposed) {
      await services.dispose()
      return
    }
    booting.services = services
  }
  const bootControl: BootControl = {
    start(iface, startOptions) {
      const starting = startBoot(iface, startOptions?.confirmDefaultRoute === true, startOptions?.proxyDhcp)
      bootStarting = starting.catch(() => undefined)
      return starting
    },
    status: () => ({ interface: booting.interface, url: booting.services?.httpUrl ?? null, error: booting.error })
  }
  const setup = new SetupWizard({ ctx, boot: bootControl, logger: logger.child({ subsystem: 'setup' }) })
  if (options.wizard) {
    // The interface chosen in an earlier wizard: if the services cannot start there now, the app
    // still starts and the window says why (a fatal start would lock the operator out).
    const chosen = await chosenInterface(ctx)
    if (chosen) await bootControl.start(chosen, { confirmDefaultRoute: await chosenInterfaceConfirmed(ctx), ...((await chosenProxyDhcp(ctx)) ? { proxyDhcp: true } : {}) }).catch((err: unknown) => logger.error({ err, interface: chosen }, 'boot services did not start on the interface chosen in the install wizard'))
  } else if (options.boot?.interface) {
    await bootControl.start(options.boot.interface)
  }
  const handlers = createHandlers(ctx, {
    version: VERSION,
    location: store.location,
    annealer,
    hostKeys,
    setup,
    bootDiagnosis: { recorder: bootRecorder, sshPort: options.scriptJig?.port },
    power: { manager: power, box: credentialBox }
  })
  logger.info({ store: store.kind, location: store.location }, 'store ready')
  return {
    ctx,
    store,
    handlers,
    feed,
    logger,
    annealer,
    hooks,
    bootRoutes,
    adminKeys,
    apiToken,
    hostKeys,
    get boot() {
      return booting.services
    },
    setup,
    power,
    stop: () => owned.dispose()
  }
}
