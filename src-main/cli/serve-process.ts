// Runs `crowbar serve` (headless mode) as a child process: for end-to-end and crash tests. Waits
// for its "listening on" line, and stops it by PID (SIGTERM, then SIGKILL), or kills it outright.
import { spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
const CLI = join(ROOT, 'bin', 'crowbar.js')
const SOURCE_ENTRY = join(ROOT, 'src-main', 'cli', 'cli-main.ts')
const READY_TIMEOUT_MS = 20_000
const TERM_GRACE_MS = 5_000
/** How much of stderr (JSON logs) to keep for error messages; the rest is drained and dropped. */
const STDERR_TAIL_CHARS = 4_000

export interface HeadlessServer {
  /** Base URL, e.g. http://127.0.0.1:40123 (no trailing slash). */
  readonly url: string
  /** The API token (`Authorization: Bearer`), read from the printed URL's `#token=`. */
  readonly token: string
  /** The URL as printed, token included: what a browser opens. */
  readonly openUrl: string
  readonly pid: number
  readonly dataDir: string
  /** SIGTERM, SIGKILL after 5 s if still running, wait for exit, remove an own data dir. Idempotent. */
  stop(): Promise<void>
  /** SIGKILL at once (a crash), wait for exit; the data dir stays. */
  kill(): Promise<void>
}

export interface HeadlessServerOptions {
  /** Use this data directory and keep it (default: a new temp dir, removed by stop()). */
  readonly dataDir?: string
  /** Run the TypeScript sources through tsx instead of the built out/ (default: built). */
  readonly fromSource?: boolean
  readonly env?: NodeJS.ProcessEnv
  /** More `serve` arguments, e.g. ['--wizard']. */
  readonly args?: readonly string[]
}

export async function startHeadlessServer(options: HeadlessServerOptions = {}): Promise<HeadlessServer> {
  const ownDir = options.dataDir === undefined
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), 'crowbar-serve-')))
  const entry = options.fromSource ? ['--import', 'tsx', SOURCE_ENTRY] : [CLI]
  const child = spawn(process.execPath, [...entry, 'serve', '--port', '0', '--data-dir', dataDir, ...(options.args ?? [])], {
    cwd: ROOT,
    env: options.env ?? process.env,
    stdio: ['ignore', 'pipe', 'pipe']
  })

  let stderrTail = ''
  child.stderr.setEncoding('utf8')
  child.stderr.on('data', (chunk: string) => {
    stderrTail = (stderrTail + chunk).slice(-STDERR_TAIL_CHARS)
  })
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve()
    else child.once('exit', () => resolve())
  })

  let stopping: Promise<void> | undefined
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
        signal(child.pid, 'SIGTERM')
        let timer: ReturnType<typeof setTimeout> | undefined
        const graceOver = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), TERM_GRACE_MS)))
        const outcome = await Promise.race([exited.then(() => 'exited' as const), graceOver])
        clearTimeout(timer)
        if (outcome === 'timeout' && child.exitCode === null && child.signalCode === null) {
          signal(child.pid, 'SIGKILL')
          await exited
        }
      }
      if (ownDir) await rm(dataDir, { recursive: true, force: true })
    })()
    return stopping
  }

  const kill = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) signal(child.pid, 'SIGKILL')
    await exited
  }

  try {
    const openUrl = await waitForListening(child, () => stderrTail)
    if (child.pid === undefined) throw new Error('crowbar serve started without a PID')
    const printed = /^(http:\/\/[^/#]+)\/?#token=([0-9a-f]+)$/.exec(openUrl)
    if (!printed?.[1] || !printed[2]) throw new Error(`crowbar serve printed "${openUrl}", not a URL with #token=`)
    return { url: printed[1], token: printed[2], openUrl, pid: child.pid, dataDir, stop, kill }
  } catch (err) {
    await stop()
    throw err
  }
}

/** Sends a signal, ignoring a process that has exited in the meantime (ESRCH). */
function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err
  }
}

function waitForListening(child: ReturnType<typeof spawn>, stderrTail: () => string): Promise<string> {
  const stdout = child.stdout
  if (!stdout) return Promise.reject(new Error('crowbar serve has no stdout pipe'))
  return new Promise<string>((resolve, reject) => {
    let buffered = ''
    let settled = false
    const cleanup = (): void => {
      settled = true
      clearTimeout(timer)
      child.off('exit', onExit)
      child.off('error', onError)
    }
    const onData = (chunk: string): void => {
      // Stays attached after the line: stdout keeps draining so the child never blocks on a full pipe.
      if (settled) return
      buffered += chunk
      const match = /^listening on (http:\/\/\S+)\s*$/m.exec(buffered)
      if (match?.[1]) {
        cleanup()
        resolve(match[1])
      } else if (buffered.length > 64_000) {
        buffered = buffered.slice(-1_000)
      }
    }
    const onExit = (code: number | null, signal: NodeJS.Signals | null): void => {
      cleanup()
      const how = signal ? `signal ${signal}` : `code ${code}`
      reject(new Error(`crowbar serve exited (${how}) before listening; stderr tail:\n${stderrTail() || '(empty)'}`))
    }
    const onError = (err: Error): void => {
      cleanup()
      reject(new Error(`cannot run crowbar serve: ${err.message}`))
    }
    const timer = setTimeout(() => {
      cleanup()
      reject(new Error(`crowbar serve printed no "listening on" line within ${READY_TIMEOUT_MS / 1000} s; stderr tail:\n${stderrTail() || '(empty)'}`))
    }, READY_TIMEOUT_MS)
    stdout.setEncoding('utf8')
    stdout.on('data', onData)
    child.once('exit', onExit)
    child.once('error', onError)
  })
}

