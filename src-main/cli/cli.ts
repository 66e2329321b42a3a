// The `crowbar` command. `serve` runs the main-side code without Electron: the API and the
// renderer over HTTP on loopback (headless mode).
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { HttpTransport } from '../api/http-transport'
import { startApp, VERSION } from '../app'
import { defaultDataDir } from '../data-dir'
import { parseUpstream } from '../services/dns/dns-forwarder'
import { systemNameservers } from '../services/dns/resolv-conf'
import { createRootLogger } from '../base/log'
import { messageOf } from '../store/store'

const USAGE = `usage: crowbar serve [--data-dir DIR] [--port N] [--interface IFACE | --wizard] [--boot-assets DIR] [--proxy-dhcp]
                    [--dns-forwarder ADDR]... [--confirm-default-route]

  serve              run Crowbar headless: API and UI over HTTP on 127.0.0.1
  --data-dir DIR     where the embedded SQLite store lives (default: ${defaultDataDir()})
  --port N           TCP port on 127.0.0.1; 0 picks a free one (default: 8700)
  --interface IFACE  serve DHCP, TFTP, HTTP boot (port 8702) and DNS on this interface only
                     (none: no boot services); a first start takes the admin network from it
  --wizard           a first start waits for the install wizard in the UI: nothing is created
                     until the operator has chosen the interface, the admin network, the
                     cluster domain and the admin node's name; the boot services then run
                     on the chosen interface (on later --wizard starts too)
  --boot-assets DIR  boot files (iPXE binaries, kernels, initrds) for TFTP and HTTP boot
  --proxy-dhcp       answer PXE boot information only, beside the DHCP server already there
  --dns-forwarder ADDR  where the boot services' DNS sends names outside the cluster domain
                     (ip, ip:port or [ipv6]:port; repeatable; default: this machine's resolvers
                     from /etc/resolv.conf; "none": answer REFUSED for them)
  --confirm-default-route  this interface faces your office network: serve it although it
                     holds this machine's default route (refused without this)

Set CROWBAR_DATABASE_URL=postgres://user@host/db to use PostgreSQL instead of SQLite.`

export class UsageError extends Error {}

export interface ServeArgs {
  readonly dataDir: string
  readonly port: number
  readonly interface?: string | undefined
  readonly bootAssets?: string | undefined
  readonly proxyDhcp: boolean
  readonly wizard: boolean
  /** undefined: this machine's resolvers. */
  readonly dnsForwarders?: readonly string[] | undefined
  /** Set only when given: serve an interface holding the default route. */
  readonly confirmDefaultRoute?: true
}

export function parseServeArgs(argv: readonly string[]): ServeArgs {
  let parsed
  try {
    parsed = parseArgs({
      args: [...argv],
      options: {
        'data-dir': { type: 'string' },
        port: { type: 'string' },
        interface: { type: 'string' },
        'boot-assets': { type: 'string' },
        'proxy-dhcp': { type: 'boolean' },
        wizard: { type: 'boolean' },
        'dns-forwarder': { type: 'string', multiple: true },
        'confirm-default-route': { type: 'boolean' }
      },
      strict: true,
      allowPositionals: false
    })
  } catch (err) {
    throw new UsageError(messageOf(err))
  }
  const portText = parsed.values.port ?? '8700'
  if (!/^\d{1,5}$/.test(portText) || Number(portText) > 65535) {
    throw new UsageError(`--port must be a number from 0 to 65535, not "${portText}"`)
  }
  const dataDir = parsed.values['data-dir'] ?? defaultDataDir()
  if (dataDir.trim() === '') throw new UsageError('--data-dir must not be empty')
  const iface = parsed.values.interface
  if (iface !== undefined && !/^[A-Za-z0-9_.:@-]{1,15}$/.test(iface)) throw new UsageError(`--interface "${iface}" is not an interface name (see \`ip link\`)`)
  const bootAssets = parsed.values['boot-assets']
  const proxyDhcp = parsed.values['proxy-dhcp'] ?? false
  const wizard = parsed.values.wizard ?? false
  if (wizard && iface !== undefined) throw new UsageError('--wizard and --interface do not go together: with --wizard the interface is chosen in the wizard')
  if (!wizard && iface === undefined && (bootAssets !== undefined || proxyDhcp)) {
    throw new UsageError('--boot-assets and --proxy-dhcp need --interface or --wizard: the boot services run only on a chosen interface')
  }
  const forwarderArgs = parsed.values['dns-forwarder']
  let dnsForwarders: string[] | undefined
  if (forwarderArgs !== undefined) {
    if (!wizard && iface === undefined) throw new UsageError('--dns-forwarder needs --interface or --wizard: DNS runs with the boot services')
    dnsForwarders = forwarderArgs.includes('none') ? [] : forwarderArgs
    for (const text of dnsForwarders) {
      if (!parseUpstream(text)) throw new UsageError(`--dns-forwarder "${text}" is not an IP address, ip:port or [ipv6]:port (or none)`)
    }
  }
  const confirm = parsed.values['confirm-default-route'] === true ? { confirmDefaultRoute: true as const } : {}
  return { dataDir, port: Number(portText), interface: iface, bootAssets, proxyDhcp, wizard, dnsForwarders, ...confirm }
}

function rendererDir(): string | undefined {
  // Built layout: out/main/cli.js next to out/renderer/.
  const dir = fileURLToPath(new URL('../renderer', import.meta.url))
  return existsSync(`${dir}/index.html`) ? dir : undefined
}

async function serve(args: ServeArgs): Promise<void> {
  // Whatever this process creates (the store's journal files, keys, tokens) is its user's alone.
  process.umask(0o077)
  const logger = createRootLogger()
  const app = await startApp({
    dataDir: args.dataDir,
    databaseUrl: process.env.CROWBAR_DATABASE_URL,
    logger,
    wizard: args.wizard,
    ...(args.interface || args.wizard
      ? { boot: { interface: args.interface, assetsDir: args.bootAssets, proxyDhcp: args.proxyDhcp, dnsForwarders: args.dnsForwarders ?? systemNameservers(), confirmDefaultRoute: args.confirmDefaultRoute === true } }
      : {})
  })
  const http = new HttpTransport({
    handlers: app.handlers,
    feed: app.feed,
    rendererDir: rendererDir(),
    port: args.port,
    apiToken: app.apiToken,
    onInternalError: (err, operation) => logger.error({ err, operation }, 'operation failed')
  })
  try {
    await http.start()
  } catch (err) {
    await app.stop()
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'EADDRINUSE') throw new UsageError(`port ${args.port} is in use on 127.0.0.1; choose another with --port (0 picks a free one)`)
    throw err
  }
  // The browser UI gets the token once, in the URL's fragment (never sent to the server, never in
  // its logs); it keeps it for the tab's session.
  process.stdout.write(`listening on ${http.url}/#token=${app.apiToken}\n`)
  let stopping = false
  const shutdown = (signal: string): void => {
    if (stopping) return
    stopping = true
    logger.info({ signal }, 'stopping')
    void http
      .stop()
      .then(() => app.stop())
      .then(() => process.exit(0))
  }
  process.on('SIGINT', () => shutdown('SIGINT'))
  process.on('SIGTERM', () => shutdown('SIGTERM'))
}

export async function main(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv
  if (command === undefined || command === 'help' || command === '--help' || command === '-h') {
    process.stdout.write(`${USAGE}\n`)
    return command === undefined ? 2 : 0
  }
  if (command === '--version') {
    process.stdout.write(`${VERSION}\n`)
    return 0
  }
  if (command !== 'serve') {
    process.stderr.write(`crowbar: unknown command "${command}"\n${USAGE}\n`)
    return 2
  }
  try {
    await serve(parseServeArgs(rest))
    return -1 // keeps running until a signal
  } catch (err) {
    process.stderr.write(`crowbar: ${messageOf(err)}\n`)
    return err instanceof UsageError ? 2 : 1
  }
}
