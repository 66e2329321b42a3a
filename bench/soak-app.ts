// bench:soak's handle on the headless app: `crowbar serve` as a child process on one data dir,
// started, SIGKILLed by PID and started again; and its typed API client on loopback, which sends
// `Authorization: Bearer <token>` whenever the data dir holds an api-token file.
import { spawn, type ChildProcess } from 'node:child_process'
import { createWriteStream, existsSync, readFileSync, statSync, type WriteStream } from 'node:fs'
import { readdir, stat } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { contract, type OperationInput, type OperationName, type OperationOutput } from '../src-main/api/contract'
import { requestFor } from '../src-main/api/http-routes'

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..')
const CLI = join(ROOT, 'bin', 'crowbar.js')
const SOURCE_ENTRY = join(ROOT, 'src-main', 'cli', 'cli-main.ts')
const BUILT_ENTRY = join(ROOT, 'out', 'main', 'cli.js')
const READY_TIMEOUT_MS = 60_000
const TERM_GRACE_MS = 8_000
const REQUEST_TIMEOUT_MS = 15_000
const STDERR_TAIL_CHARS = 6_000

export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number
  ) {
    super(message)
  }
}

export interface SoakAppOptions {
  readonly dataDir: string
  readonly interface: string
  /** Run src-main through tsx instead of bin/crowbar.js (the built out/). */
  readonly fromSource: boolean
  /** Every life's stderr (JSON logs) is appended here, each life headed by a line of its own. */
  readonly logFile: string
  readonly logLevel: string
}

/** The newest .ts under src-main (tests aside) is newer than the built CLI: out/ is stale (said, not fixed). */
export async function builtIsStale(): Promise<boolean> {
  if (!existsSync(BUILT_ENTRY)) return true
  const built = statSync(BUILT_ENTRY).mtimeMs
  const dirs = [join(ROOT, 'src-main')]
  // Bounded walk: the tree has a few hundred files.
  for (let i = 0; i < dirs.length && i < 500; i++) {
    const dir = dirs[i] as string
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name)
      if (entry.isDirectory()) dirs.push(path)
      else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts') && (await stat(path)).mtimeMs > built) return true
    }
  }
  return false
}

/** One data dir, one process at a time; `lives` counts the starts. */
export class SoakApp {
  private child: ChildProcess | undefined
  private exited: Promise<void> = Promise.resolve()
  private listening: Promise<string> | undefined
  private base = ''
  private token: string | undefined
  private stderrTail = ''
  private log: WriteStream
  lives = 0
  /** performance.now() of the current life's spawn. */
  spawnedAt = 0

  constructor(private readonly options: SoakAppOptions) {
    this.log = createWriteStream(options.logFile, { flags: 'a' })
  }

  get pid(): number | undefined {
    return this.child?.pid
  }

  get url(): string {
    return this.base
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null
  }

  /** Starts a life and returns at once (it may not listen yet): for kills during start-up. */
  spawn(): void {
    if (this.running) throw new Error('the app is already running')
    const entry = this.options.fromSource ? ['--import', 'tsx', SOURCE_ENTRY] : [CLI]
    const args = [...entry, 'serve', '--port', '0', '--data-dir', this.options.dataDir, '--interface', this.options.interface, '--dns-forwarder', 'none']
    // Never CROWBAR_REBUILD: out/ is shared with whoever else works in this tree.
    const env: NodeJS.ProcessEnv = { ...process.env, CROWBAR_LOG_LEVEL: this.options.logLevel }
    delete env.CROWBAR_REBUILD
    this.lives++
    this.spawnedAt = performance.now()
    const life = this.lives
    this.base = ''
    this.token = undefined
    this.stderrTail = ''
    this.log.write(`\n==== life ${life}: ${new Date().toISOString()} node ${args.join(' ')}\n`)
    const child = spawn(process.execPath, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] })
    this.child = child
    this.exited = new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) resolve()
      else child.once('exit', () => resolve())
    })
    child.once('exit', (code, sig) => this.log.write(`\n==== life ${life} ended: ${sig ?? `code ${code}`}\n`))
    child.stderr?.setEncoding('utf8')
    child.stderr?.on('data', (chunk: string) => {
      this.stderrTail = (this.stderrTail + chunk).slice(-STDERR_TAIL_CHARS)
      this.log.write(chunk)
    })
    const listening = new Promise<string>((resolve, reject) => {
      let buffered = ''
      let found = false
      const onExit = (code: number | null, sig: NodeJS.Signals | null): void => {
        clearTimeout(timer)
        if (!found) reject(new Error(`crowbar serve exited (${sig ?? `code ${code}`}) before listening; stderr tail:\n${this.stderrTail || '(empty)'}`))
      }
      const timer = setTimeout(() => {
        child.off('exit', onExit)
        reject(new Error(`crowbar serve printed no "listening on" line within ${READY_TIMEOUT_MS / 1000} s; stderr tail:\n${this.stderrTail}`))
      }, READY_TIMEOUT_MS)
      child.stdout?.setEncoding('utf8')
      // Stays attached: the child must never block on a full stdout pipe.
      child.stdout?.on('data', (chunk: string) => {
        if (found) return
        buffered = (buffered + chunk).slice(-64_000)
        const m = /^listening on (http:\/\/\S+)\s*$/m.exec(buffered)
        if (m?.[1]) {
          found = true
          clearTimeout(timer)
          // Only the origin: the line may carry more (the browser UI's token in a #fragment).
          resolve(URL.canParse(m[1]) ? new URL(m[1]).origin : m[1])
        }
      })
      child.once('exit', onExit)
    })
    this.listening = listening
    // A life killed before it listens never has its wait awaited.
    listening.then(
      (url) => {
        if (this.child === child) this.base = url
      },
      () => undefined
    )
  }

  /** Whether this life has printed its "listening on" line. */
  get listened(): boolean {
    return this.base !== ''
  }

  /** Waits (bounded) for the "listening on" line, then reads the API token if there is one. */
  async ready(): Promise<void> {
    if (!this.listening) throw new Error('the app was not spawned')
    this.base = await this.listening
    this.readToken()
  }

  async start(): Promise<void> {
    this.spawn()
    await this.ready()
  }

  /**
   * SIGKILL by PID (a crash) and wait for the process to be gone. Returns how it had ended if it
   * was already gone (it died on its own), else undefined.
   */
  async kill(): Promise<string | undefined> {
    const child = this.child
    const pid = child?.pid
    const before = child && !this.running ? (child.signalCode ?? `code ${child.exitCode}`) : undefined
    if (this.running && pid !== undefined) signal(pid, 'SIGKILL')
    await this.exited
    this.child = undefined
    return before
  }

  /** SIGTERM, SIGKILL after a grace period; idempotent. */
  async stop(): Promise<void> {
    const pid = this.child?.pid
    if (this.running && pid !== undefined) {
      signal(pid, 'SIGTERM')
      let timer: NodeJS.Timeout | undefined
      const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), TERM_GRACE_MS)))
      const outcome = await Promise.race([this.exited.then(() => 'gone' as const), late])
      clearTimeout(timer)
      if (outcome === 'late') {
        signal(pid, 'SIGKILL')
        await this.exited
      }
    }
    this.child = undefined
  }

  async close(): Promise<void> {
    await this.stop()
    await new Promise<void>((resolve) => this.log.end(() => resolve()))
  }

  tail(): string {
    return this.stderrTail
  }

  private readToken(): void {
    const file = join(this.options.dataDir, 'api-token')
    this.token = existsSync(file) ? readFileSync(file, 'utf8').trim() || undefined : undefined
  }

  /** Calls one contract operation; its output is checked against the contract's schema. */
  async call<K extends OperationName>(name: K, input: OperationInput<K>): Promise<OperationOutput<K>> {
    if (!this.base) throw new Error(`${name}: the app is not listening`)
    const req = requestFor(name, input as Record<string, unknown>)
    const send = async (): Promise<Response> => {
      const headers: Record<string, string> = {}
      if (req.body !== undefined) headers['Content-Type'] = 'application/json'
      if (this.token) headers.Authorization = `Bearer ${this.token}`
      return fetch(`${this.base}${req.url}`, { method: req.method, headers, body: req.body, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) })
    }
    let res = await send()
    if (res.status === 401) {
      // The token file may have appeared (or changed) since this life started.
      await res.arrayBuffer()
      this.readToken()
      res = await send()
    }
    const text = await res.text()
    if (!res.ok) throw new ApiError(`${req.method} ${req.url} answered HTTP ${res.status}: ${text.slice(0, 500)}`, res.status)
    const parsed = contract[name].output.safeParse(text === '' ? null : JSON.parse(text))
    if (!parsed.success) throw new Error(`${name}: the answer does not match the contract: ${parsed.error.message.slice(0, 500)}`)
    return parsed.data as OperationOutput<K>
  }
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err
  }
}
