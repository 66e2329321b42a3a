// Runs `crowbar serve` (headless mode) as a child process on a fresh data directory for e2e tests,
// plus a small fetch helper for setting up state through the real API.
import { spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { test as base } from '@playwright/test'
import type { HttpMethod } from '../src-main/api/contract'
import { API_PREFIX, bodyless } from '../src-main/api/http-routes'

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..')
const CLI = join(ROOT, 'bin', 'crowbar.js')
const READY_TIMEOUT_MS = 20_000
const TERM_GRACE_MS = 5_000
/** How much of stderr (JSON logs) to keep for error messages; the rest is drained and dropped. */
const STDERR_TAIL_CHARS = 4_000

export interface HeadlessServer {
  /** Base URL, e.g. http://127.0.0.1:40123 (no trailing slash). */
  readonly url: string
  readonly pid: number
  readonly dataDir: string
  /** SIGTERM, SIGKILL after 5 s if still running, wait for exit, remove the data dir. Idempotent. */
  stop(): Promise<void>
}

export async function startHeadlessServer(): Promise<HeadlessServer> {
  const dataDir = await mkdtemp(join(tmpdir(), 'crowbar-e2e-'))
  const child = spawn(process.execPath, [CLI, 'serve', '--port', '0', '--data-dir', dataDir], {
    cwd: ROOT,
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
      await rm(dataDir, { recursive: true, force: true })
    })()
    return stopping
  }

  try {
    const url = await waitForListening(child, () => stderrTail)
    if (child.pid === undefined) throw new Error('crowbar serve started without a PID')
    return { url, pid: child.pid, dataDir, stop }
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
        resolve(match[1].replace(/\/$/, ''))
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

/**
 * Calls the headless API: `path` is relative to /api/v2 (e.g. '/deployments'); GET and DELETE take
 * their input in its query string, so `body` is for the other methods. Returns the parsed
 * JSON body as `unknown`, to be checked against the contract's schemas by the caller; throws with
 * the response body on a non-2xx status.
 */
export async function api(url: string, method: HttpMethod, path: string, body?: unknown): Promise<unknown> {
  if (bodyless(method) && body !== undefined) throw new Error(`${method} takes its input in the query string, not a body`)
  // Mutations always carry a JSON body (the server refuses any other), `{}` when there is no input.
  const json = bodyless(method) ? undefined : JSON.stringify(body ?? {})
  const res = await fetch(`${url}${API_PREFIX}${path}`, {
    method,
    headers: json === undefined ? {} : { 'Content-Type': 'application/json' },
    body: json
  })
  const text = await res.text()
  if (!res.ok) throw new Error(`${method} ${API_PREFIX}${path} answered HTTP ${res.status}: ${text}`)
  return text === '' ? null : (JSON.parse(text) as unknown)
}

/** Playwright `test` with one headless server per worker, stopped when the worker ends. */
export const test = base.extend<object, { server: HeadlessServer }>({
  server: [
    // Playwright reads fixture dependencies from the destructuring pattern; this one has none.
    // eslint-disable-next-line no-empty-pattern
    async ({}, use) => {
      const server = await startHeadlessServer()
      try {
        await use(server)
      } finally {
        await server.stop()
      }
    },
    { scope: 'worker' }
  ]
})

export { expect } from '@playwright/test'
