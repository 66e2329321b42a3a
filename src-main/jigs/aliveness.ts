// The aliveness test (Crowbar's definition): a node is alive when one of its admin addresses
// answers ping and accepts an SSH login as root with the admin key.
import { execFile } from 'node:child_process'
import type { JigTarget } from './jig'
import type { AdminKeyPair } from './ssh/admin-keys'
import type { HostKeyPins } from './ssh/host-key-pins'
import { SshConnection, SshError } from './ssh/ssh-exec'

export interface AlivenessOptions {
  readonly keyPair: AdminKeyPair
  readonly pins: HostKeyPins
  /** SSH port on the node; default 22. */
  readonly port?: number
  /** Bound on one ping (`ping -W 1` waits one second for the reply). Default 3 s. */
  readonly pingTimeoutMs?: number
  /** Bound on connect + handshake + login for one address. Default 10 s. */
  readonly sshTimeoutMs?: number
  readonly signal?: AbortSignal
}

export interface AliveResult {
  readonly alive: boolean
  /** The address that passed, when alive. */
  readonly address?: string
  /** When not alive: what failed at each address, in the order tried. */
  readonly reason?: string
}

const DEFAULT_PING_TIMEOUT_MS = 3_000
const DEFAULT_SSH_TIMEOUT_MS = 10_000
const LOGIN_CHECK_TIMEOUT_MS = 10_000

export async function checkAlive(target: JigTarget, options: AlivenessOptions): Promise<AliveResult> {
  if (target.addresses.length === 0) return { alive: false, reason: `${target.name} has no admin address` }
  const reasons: string[] = []
  for (const address of target.addresses) {
    if (options.signal?.aborted) return { alive: false, reason: [...reasons, 'aliveness check cancelled'].join('; ') }
    const ping = await pingOnce(address, options.pingTimeoutMs ?? DEFAULT_PING_TIMEOUT_MS, options.signal)
    if (!ping.ok) {
      reasons.push(`${address}: ${ping.reason}`)
      continue
    }
    const login = await sshLogin(target, address, options)
    if (login === undefined) return { alive: true, address }
    reasons.push(`${address}: ${login}`)
  }
  return { alive: false, reason: reasons.join('; ') }
}

export type PingResult = { readonly ok: true } | { readonly ok: false; readonly reason: string }

/** One ICMP echo through the system's ping (raw sockets need privileges Node does not have). */
export function pingOnce(address: string, timeoutMs: number, signal?: AbortSignal): Promise<PingResult> {
  return new Promise((resolve) => {
    execFile(
      'ping',
      ['-n', '-c', '1', '-W', '1', address],
      { timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 64 * 1024, signal },
      (err, _stdout, stderr) => {
        if (!err) {
          resolve({ ok: true })
          return
        }
        // execFile's error: `code` is the exit status, or an errno string when ping could not start.
        const failure = err as Error & { code?: number | string; killed?: boolean }
        if (failure.code === 'ENOENT') {
          resolve({ ok: false, reason: 'cannot ping: the ping command is missing (apt-get install iputils-ping)' })
        } else if (failure.name === 'AbortError') {
          resolve({ ok: false, reason: 'ping cancelled' })
        } else if (failure.killed) {
          resolve({ ok: false, reason: `ping did not finish within ${timeoutMs} ms` })
        } else if (failure.code === 1) {
          resolve({ ok: false, reason: 'no answer to ping' })
        } else {
          resolve({ ok: false, reason: `ping failed: ${stderr.trim() || failure.message}` })
        }
      }
    )
  })
}

/** Logs in and runs `true`; undefined when that worked, else why not. */
async function sshLogin(target: JigTarget, address: string, options: AlivenessOptions): Promise<string | undefined> {
  let connection: SshConnection | undefined
  try {
    connection = await SshConnection.connect({
      target,
      address,
      port: options.port,
      keyPair: options.keyPair,
      pins: options.pins,
      readyTimeoutMs: options.sshTimeoutMs ?? DEFAULT_SSH_TIMEOUT_MS,
      signal: options.signal
    })
    const result = await connection.exec('true', undefined, { timeoutMs: LOGIN_CHECK_TIMEOUT_MS, signal: options.signal })
    return result.code === 0 ? undefined : `SSH login works but \`true\` exited with ${result.code ?? result.signal ?? 'nothing'}`
  } catch (err) {
    return err instanceof SshError ? err.message : `SSH check failed: ${String(err)}`
  } finally {
    await connection?.close()
  }
}
