// One SSH connection to a node as root with the admin key and its pinned host key, running
// commands with bounded time and output. Every failure is an SshError saying what failed.
import ssh2 from 'ssh2'
import type { ClientChannel, ClientErrorExtensions } from 'ssh2'
import { messageOf } from '../../base/error-message'
import type { AdminKeyPair } from './admin-keys'
import { HostKeyChangedError, type HostKeyPins, type PinTarget } from './host-key-pins'

/**
 * What went wrong. `refused`, `timeout`, `unreachable` and `auth` mean the node fails the
 * aliveness test; `host-key` means something answers but is not the node we pinned.
 */
export type SshFailure =
  | 'refused'
  | 'timeout'
  | 'unreachable'
  | 'auth'
  | 'host-key'
  | 'protocol'
  | 'closed'
  | 'exec-timeout'
  | 'aborted'

export class SshError extends Error {
  override readonly name = 'SshError'
  constructor(
    readonly kind: SshFailure,
    readonly address: string,
    message: string,
    /** What the command printed before it was stopped (exec-timeout, aborted, closed). */
    readonly partial?: { readonly stdout: string; readonly stderr: string }
  ) {
    super(message)
  }
}

/** The failures that say "no SSH login here", as opposed to "something else answered". */
export const UNREACHABLE_FAILURES: ReadonlySet<SshFailure> = new Set(['refused', 'timeout', 'unreachable', 'auth'])

export interface SshConnectOptions {
  readonly target: PinTarget
  readonly address: string
  readonly port?: number
  readonly keyPair: AdminKeyPair
  readonly pins: HostKeyPins
  /** Bound on TCP connect + handshake + authentication. Default 10 s. */
  readonly readyTimeoutMs?: number
  readonly signal?: AbortSignal
}

export interface ExecOptions {
  /** Default 60 s. On expiry the channel is closed and exec rejects with `exec-timeout`. */
  readonly timeoutMs?: number
  readonly signal?: AbortSignal
}

export interface ExecResult {
  /** Exit status; null when the command was killed by a signal. */
  readonly code: number | null
  readonly signal: string | null
  readonly stdout: string
  readonly stderr: string
  readonly stdoutTruncated: boolean
  readonly stderrTruncated: boolean
}

/** Each of stdout and stderr is kept up to this size; the rest is dropped with a note. */
export const MAX_OUTPUT_BYTES = 4 * 1024 * 1024
const DEFAULT_READY_TIMEOUT_MS = 10_000
const DEFAULT_EXEC_TIMEOUT_MS = 60_000
/** How long close() waits for the server to hang up before dropping the socket. */
const CLOSE_GRACE_MS = 2_000

export class SshConnection {
  private closed: Promise<void>
  private isClosed = false
  /** The error that ended the connection after it was ready (keepalive, reset), for exec messages. */
  private lastError: Error | undefined

  private constructor(
    private readonly client: ssh2.Client,
    readonly address: string
  ) {
    this.closed = new Promise((resolve) => client.once('close', () => resolve()))
    client.once('close', () => {
      this.isClosed = true
    })
    // ssh2 emits 'error' for late failures; without a listener that would kill the process.
    client.on('error', (err) => {
      this.lastError = err
    })
  }

  static connect(options: SshConnectOptions): Promise<SshConnection> {
    const { address, target } = options
    const port = options.port ?? 22
    const where = `root@${address}${port === 22 ? '' : `:${port}`} (${target.name})`
    const readyTimeoutMs = options.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS
    return new Promise<SshConnection>((resolve, reject) => {
      if (options.signal?.aborted) {
        reject(new SshError('aborted', address, `connecting to ${where} was cancelled`))
        return
      }
      const client = new ssh2.Client()
      let refusal: Error | undefined
      let settled = false
      const finish = (err: SshError | undefined): void => {
        if (settled) return
        settled = true
        options.signal?.removeEventListener('abort', onAbort)
        client.removeListener('ready', onReady)
        client.removeListener('error', onError)
        client.removeListener('close', onClose)
        if (err) {
          // Swallow what a dying client may still emit; destroy() frees the socket at once.
          client.on('error', () => undefined)
          client.destroy()
          reject(err)
        } else {
          resolve(new SshConnection(client, address))
        }
      }
      const onReady = (): void => finish(undefined)
      const onError = (err: Error & ClientErrorExtensions): void => finish(connectError(err, refusal, address, where, readyTimeoutMs))
      const onClose = (): void => finish(new SshError('closed', address, `${where} closed the connection during the SSH handshake`))
      const onAbort = (): void => finish(new SshError('aborted', address, `connecting to ${where} was cancelled`))
      client.on('ready', onReady)
      client.on('error', onError)
      client.on('close', onClose)
      options.signal?.addEventListener('abort', onAbort, { once: true })

      options.pins.preferredHostKeyAlgorithms(target.nodeId).then(
        (serverHostKey) => {
          if (settled) return
          client.connect({
            host: address,
            port,
            username: 'root',
            privateKey: options.keyPair.privateKey,
            // Only the admin key: no agent, no password, no keyboard prompts.
            authHandler: ['publickey'],
            readyTimeout: readyTimeoutMs,
            keepaliveInterval: 15_000,
            keepaliveCountMax: 4,
            algorithms: { serverHostKey },
            hostVerifier: options.pins.hostVerifier(target, (err) => {
              refusal = err
            })
          })
        },
        (err: unknown) => finish(new SshError('protocol', address, `cannot read the pinned host keys of ${target.name}: ${messageOf(err)}`))
      )
    })
  }

  /** Runs a command; stdin (if given) is written and closed, so the command sees EOF. */
  exec(command: string, stdin?: string, options: ExecOptions = {}): Promise<ExecResult> {
    const timeoutMs = options.timeoutMs ?? DEFAULT_EXEC_TIMEOUT_MS
    return new Promise<ExecResult>((resolve, reject) => {
      if (this.isClosed) {
        reject(new SshError('closed', this.address, `the SSH connection to ${this.address} is closed${this.causeText()}`))
        return
      }
      if (options.signal?.aborted) {
        reject(new SshError('aborted', this.address, `command on ${this.address} was cancelled before it started`))
        return
      }
      const stdout = new CappedBuffer(MAX_OUTPUT_BYTES)
      const stderr = new CappedBuffer(MAX_OUTPUT_BYTES)
      let channel: ClientChannel | undefined
      let exit: { code: number | null; signal: string | null } | undefined
      let stopped: SshError | undefined
      let settled = false

      const partial = (): { stdout: string; stderr: string } => ({ stdout: stdout.text(), stderr: stderr.text() })
      const settle = (): void => {
        if (settled) return
        settled = true
        clearTimeout(timer)
        options.signal?.removeEventListener('abort', onAbort)
        this.client.removeListener('close', onClientClose)
        if (stopped) {
          reject(new SshError(stopped.kind, stopped.address, stopped.message, partial()))
        } else if (!exit) {
          reject(new SshError('closed', this.address, `the connection to ${this.address} closed before the command finished${this.causeText()}`, partial()))
        } else {
          resolve({ ...exit, stdout: stdout.text(), stderr: stderr.text(), stdoutTruncated: stdout.truncated, stderrTruncated: stderr.truncated })
        }
      }
      const stop = (err: SshError): void => {
        if (stopped || settled) return
        stopped = err
        // ssh2 sends a channel signal only before EOF, and stdin is always closed, so the remote
        // process cannot be signalled here: sshd keeps it running until it exits by itself.
        // Callers that must not leave it running kill it by other means (ScriptJig kills its
        // process group). Closing the channel makes sshd drop its output.
        channel?.close()
        settle()
      }
      const timer = setTimeout(
        () => stop(new SshError('exec-timeout', this.address, `command on ${this.address} did not finish within ${formatMs(timeoutMs)}`)),
        timeoutMs
      )
      const onAbort = (): void => stop(new SshError('aborted', this.address, `command on ${this.address} was cancelled`))
      const onClientClose = (): void => settle()
      options.signal?.addEventListener('abort', onAbort, { once: true })
      this.client.once('close', onClientClose)

      try {
        this.client.exec(command, (err, ch) => {
          if (err) {
            stopped ??= new SshError('protocol', this.address, `${this.address} refused to run a command: ${err.message}`)
            settle()
            return
          }
          channel = ch
          if (stopped) {
            ch.close()
            settle()
            return
          }
          ch.on('data', (chunk: Buffer) => stdout.push(chunk))
          ch.stderr.on('data', (chunk: Buffer) => stderr.push(chunk))
          ch.on('exit', (code: number | null, signal?: string) => {
            exit = { code: typeof code === 'number' ? code : null, signal: signal ?? null }
          })
          ch.on('close', settle)
          ch.on('error', (e: Error) => {
            stopped ??= new SshError('protocol', this.address, `channel to ${this.address} failed: ${e.message}`)
          })
          ch.end(stdin ?? undefined)
        })
      } catch (err) {
        stopped ??= new SshError('closed', this.address, `cannot run a command on ${this.address}: ${messageOf(err)}`)
        settle()
      }
    })
  }

  /** Ends the connection; resolves once the socket is closed (bounded). Idempotent. */
  async close(): Promise<void> {
    if (!this.isClosed) this.client.end()
    let timer: NodeJS.Timeout | undefined
    await Promise.race([
      this.closed,
      new Promise<void>((resolve) => {
        timer = setTimeout(() => {
          this.client.destroy()
          resolve()
        }, CLOSE_GRACE_MS)
      })
    ])
    clearTimeout(timer)
  }

  private causeText(): string {
    return this.lastError ? ` (${this.lastError.message})` : ''
  }
}

/** Maps ssh2's connect errors (distinguished by `level` and socket `code`) to what failed. */
function connectError(
  err: Error & ClientErrorExtensions,
  refusal: Error | undefined,
  address: string,
  where: string,
  readyTimeoutMs: number
): SshError {
  if (refusal) return new SshError(refusal instanceof HostKeyChangedError ? 'host-key' : 'protocol', address, refusal.message)
  const code = (err as NodeJS.ErrnoException).code
  if (err.level === 'client-socket') {
    if (code === 'ECONNREFUSED') return new SshError('refused', address, `connection to ${where} refused: is sshd running on the node?`)
    if (code === 'ETIMEDOUT') return new SshError('timeout', address, `connection to ${where} timed out`)
    if (code === 'EHOSTUNREACH' || code === 'ENETUNREACH' || code === 'EADDRNOTAVAIL') {
      return new SshError('unreachable', address, `${where} is unreachable (${code}): check the node's admin address and the cabling`)
    }
    if (code === 'ECONNRESET' || code === 'EPIPE') return new SshError('closed', address, `${where} reset the connection during the SSH handshake`)
    return new SshError('unreachable', address, `cannot connect to ${where}: ${err.message}`)
  }
  if (err.level === 'client-timeout') {
    return new SshError('timeout', address, `no SSH login to ${where} within ${formatMs(readyTimeoutMs)} (connect and handshake timed out)`)
  }
  if (err.level === 'client-authentication') {
    return new SshError(
      'auth',
      address,
      `${where} rejected the admin SSH key: add the admin public key to /root/.ssh/authorized_keys on the node`
    )
  }
  return new SshError('protocol', address, `SSH handshake with ${where} failed: ${err.message}`)
}

/** Keeps the first `limit` bytes of a stream and remembers whether anything was dropped. */
class CappedBuffer {
  private readonly chunks: Buffer[] = []
  private size = 0
  truncated = false

  constructor(private readonly limit: number) {}

  push(chunk: Buffer): void {
    const room = this.limit - this.size
    if (room <= 0) {
      this.truncated ||= chunk.length > 0
      return
    }
    const kept = chunk.length > room ? chunk.subarray(0, room) : chunk
    if (kept.length < chunk.length) this.truncated = true
    this.chunks.push(kept)
    this.size += kept.length
  }

  text(): string {
    const body = Buffer.concat(this.chunks).toString('utf8')
    return this.truncated ? `${body}\n[output truncated: only the first ${formatBytes(this.limit)} kept]` : body
  }
}

function formatMs(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`
}

function formatBytes(bytes: number): string {
  return bytes % (1024 * 1024) === 0 ? `${bytes / (1024 * 1024)} MiB` : `${bytes} bytes`
}

export type NodeConnectOutcome =
  | { readonly connection: SshConnection }
  /** No address gave a login; `failures` holds one error per address tried, in order. */
  | { readonly connection?: undefined; readonly failures: readonly SshError[] }

/**
 * Logs in to the first of the node's addresses that accepts. Stops at a host key refusal: the
 * pin is per node, so another address of the same node would have to show the same key.
 */
export async function connectToNode(
  target: PinTarget & { readonly addresses: readonly string[] },
  options: Omit<SshConnectOptions, 'target' | 'address'>
): Promise<NodeConnectOutcome> {
  const failures: SshError[] = []
  for (const address of target.addresses) {
    try {
      return { connection: await SshConnection.connect({ ...options, target, address }) }
    } catch (err) {
      const failure = err instanceof SshError ? err : new SshError('protocol', address, messageOf(err))
      failures.push(failure)
      if (failure.kind === 'host-key' || failure.kind === 'aborted') break
    }
  }
  return { failures }
}

/** Quotes a string for a POSIX shell command line. */
export function shellQuote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`
}
