// The `crowbar` command. `serve` runs the main-side code without Electron: the API and the
// renderer over HTTP on loopback (headless mode).
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { HttpTransport } from '../api/http-transport'
import { startApp, VERSION } from '../app'
import { defaultDataDir } from '../data-dir'
import { createRootLogger } from '../log'
import { messageOf } from '../store/store'

const USAGE = `usage: crowbar serve [--data-dir DIR] [--port N]

  serve          run Crowbar headless: API and UI over HTTP on 127.0.0.1
  --data-dir DIR where the embedded SQLite store lives (default: ${defaultDataDir()})
  --port N       TCP port on 127.0.0.1; 0 picks a free one (default: 8700)

Set CROWBAR_DATABASE_URL=postgres://user@host/db to use PostgreSQL instead of SQLite.`

export class UsageError extends Error {}

export interface ServeArgs {
  readonly dataDir: string
  readonly port: number
}

export function parseServeArgs(argv: readonly string[]): ServeArgs {
  let parsed
  try {
    parsed = parseArgs({
      args: [...argv],
      options: { 'data-dir': { type: 'string' }, port: { type: 'string' } },
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
  return { dataDir, port: Number(portText) }
}

function rendererDir(): string | undefined {
  // Built layout: out/main/cli.js next to out/renderer/.
  const dir = fileURLToPath(new URL('../renderer', import.meta.url))
  return existsSync(`${dir}/index.html`) ? dir : undefined
}

async function serve(args: ServeArgs): Promise<void> {
  const logger = createRootLogger()
  const app = await startApp({ dataDir: args.dataDir, databaseUrl: process.env.CROWBAR_DATABASE_URL, logger })
  const http = new HttpTransport({
    handlers: app.handlers,
    feed: app.feed,
    rendererDir: rendererDir(),
    port: args.port,
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
  process.stdout.write(`listening on ${http.url}\n`)
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
