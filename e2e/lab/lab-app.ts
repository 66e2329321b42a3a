// Crowbar in headless mode inside the lab namespace, serving DHCP/TFTP/HTTP boot/DNS on the
// bridge. Its operator API listens on 127.0.0.1 in the namespace, so requests go through curl
// run there. Stopped by PID; its log is kept as an artifact.
import { spawn } from 'node:child_process'
import { createWriteStream } from 'node:fs'
import { join } from 'node:path'
import type { LabNetwork } from './lab-network'

export interface LabApp {
  /** The operator API, e.g. http://127.0.0.1:40123 (reachable inside the namespace only). */
  readonly url: string
  readonly pid: number
  readonly dataDir: string
  /** GET an operator API path (e.g. /api/v2/nodes) and parse the JSON; throws on a non-2xx answer. */
  get<T>(path: string): Promise<T>
  /** POST a JSON body to an operator API path and parse the JSON answer; throws on a non-2xx answer. */
  post<T>(path: string, body: unknown): Promise<T>
  put<T>(path: string, body: unknown): Promise<T>
  /** SIGTERM, SIGKILL after 5 s, wait for exit. Idempotent. */
  stop(): Promise<void>
}

export interface LabAppOptions {
  readonly network: LabNetwork
  /** The checkout whose bin/crowbar.js runs (built). */
  readonly root: string
  readonly dataDir: string
  readonly bootAssets: string
  readonly logPath: string
}

const READY_TIMEOUT_MS = 30_000

export async function startLabApp(o: LabAppOptions): Promise<LabApp> {
  const args = ['netns', 'exec', o.network.namespace, process.execPath, join(o.root, 'bin', 'crowbar.js'), 'serve']
  // No DNS forwarding: the lab's traffic stays in its namespace.
  args.push('--port', '0', '--data-dir', o.dataDir, '--interface', o.network.bridge, '--boot-assets', o.bootAssets, '--dns-forwarder', 'none')
  const child = spawn('ip', args, { cwd: o.root, stdio: ['ignore', 'pipe', 'pipe'] })
  if (child.pid === undefined) throw new Error('could not start crowbar serve')
  const pid = child.pid
  const log = createWriteStream(o.logPath)
  child.stderr?.pipe(log)
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))

  let stopping: Promise<void> | undefined
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      if (child.exitCode === null && child.signalCode === null) {
        signal(pid, 'SIGTERM')
        const timer = setTimeout(() => signal(pid, 'SIGKILL'), 5_000)
        await exited
        clearTimeout(timer)
      }
    })()
    return stopping
  }

  const printed = await new Promise<string>((resolve, reject) => {
    let out = ''
    const timer = setTimeout(() => reject(new Error(`crowbar serve printed no "listening on" within ${READY_TIMEOUT_MS / 1000} s (log: ${o.logPath})`)), READY_TIMEOUT_MS)
    child.stdout?.setEncoding('utf8')
    child.stdout?.on('data', (chunk: string) => {
      out = (out + chunk).slice(-4_000)
      const match = /listening on (http:\/\/\S+)/.exec(out)
      if (match?.[1]) {
        clearTimeout(timer)
        resolve(match[1])
      }
    })
    child.once('exit', (code, sig) => {
      clearTimeout(timer)
      reject(new Error(`crowbar serve exited (${sig ?? code}) before listening; see ${o.logPath}`))
    })
  }).catch(async (err: unknown) => {
    await stop()
    throw err
  })

  // The printed URL carries the API token in its fragment: every call sends it as a bearer token.
  const parsed = /^(http:\/\/[^/#]+)\/?#token=([0-9a-f]+)$/.exec(printed)
  if (!parsed?.[1] || !parsed[2]) {
    await stop()
    throw new Error(`crowbar serve printed "${printed}", not a URL with #token=`)
  }
  const [, url, token] = parsed
  const request = async <T>(method: 'GET' | 'POST' | 'PUT', path: string, payload?: unknown): Promise<T> => {
    const args = ['-sS', '--max-time', '10', '-w', '\n%{http_code}', '-H', `Authorization: Bearer ${token}`]
    if (method !== 'GET') args.push('-X', method, '-H', 'Content-Type: application/json', '--data-binary', JSON.stringify(payload ?? {}))
    const r = await o.network.exec('curl', [...args, `${url}${path}`], 15_000)
    const body = r.stdout.replace(/\n(\d{3})$/, '')
    const status = Number(/\n(\d{3})$/.exec(r.stdout)?.[1] ?? 0)
    if (r.code !== 0 || status < 200 || status > 299) throw new Error(`${method} ${path}: ${status || r.stderr.trim()} ${body.slice(0, 300)}`)
    return JSON.parse(body) as T
  }
  const get = <T>(path: string): Promise<T> => request<T>('GET', path)
  const post = <T>(path: string, payload: unknown): Promise<T> => request<T>('POST', path, payload)
  const put = <T>(path: string, payload: unknown): Promise<T> => request<T>('PUT', path, payload)
  return { url, pid, dataDir: o.dataDir, get, post, put, stop }
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name)
  } catch {
    // already gone
  }
}
