// The script jig: runs a role's scripts on the node over SSH as root with the admin key. Each script
// gets the merged attributes as JSON on stdin and prints a JSON object (its part of the wall).
import { deepMerge, isJsonObject, type JsonObject } from '../domain/attributes'
import type { Logger } from '../base/log'
import { messageOf } from '../base/error-message'
import type { Jig, JigOutcome, JigRun } from './jig'
import type { AdminKeyPair } from './ssh/admin-keys'
import type { HostKeyPins } from './ssh/host-key-pins'
import type { SecretInputs } from './secret-inputs'
import { connectToNode, shellQuote, SshError, UNREACHABLE_FAILURES, type SshConnection } from './ssh/ssh-exec'

export interface ScriptJigOptions {
  /** Bound on one script's run. Default 10 minutes. */
  readonly scriptTimeoutMs?: number
  /** Bound on connect + handshake + login per address. Default 10 s. */
  readonly connectTimeoutMs?: number
  /** Where scripts are uploaded on the node. Default /var/lib/crowbar/jig. */
  readonly remoteDir?: string
  /** SSH port on the node; default 22. */
  readonly port?: number
  readonly logger?: Logger
  /** Secrets a role's scripts get on stdin for one run (never stored): secret-inputs.ts. */
  readonly secrets?: SecretInputs
}

export const DEFAULT_SCRIPT_TIMEOUT_MS = 10 * 60_000
const DEFAULT_CONNECT_TIMEOUT_MS = 10_000
/** Bound on the small housekeeping commands (upload, kill, clean-up). */
const CHORE_TIMEOUT_MS = 30_000

export class ScriptJig implements Jig {
  readonly name = 'script'
  private readonly scriptTimeoutMs: number
  private readonly connectTimeoutMs: number
  private readonly remoteDir: string

  constructor(
    private readonly keyPair: AdminKeyPair,
    private readonly pins: HostKeyPins,
    private readonly options: ScriptJigOptions = {}
  ) {
    this.scriptTimeoutMs = options.scriptTimeoutMs ?? DEFAULT_SCRIPT_TIMEOUT_MS
    this.connectTimeoutMs = options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS
    this.remoteDir = (options.remoteDir ?? '/var/lib/crowbar/jig').replace(/\/+$/, '')
  }

  async run(run: JigRun): Promise<JigOutcome> {
    const log: string[] = []
    const { node } = run
    if (node.addresses.length === 0) {
      return { ok: false, nodeUnreachable: true, log: `${node.name} has no admin address to reach it by SSH` }
    }
    const connected = await this.connect(run)
    if (!connected.connection) {
      const failures = connected.failures
      const hostKey = failures.find((f) => f.kind === 'host-key')
      if (hostKey) return { ok: false, log: hostKey.message }
      if (failures.some((f) => f.kind === 'aborted')) return { ok: false, log: 'run cancelled before it reached the node' }
      const lines = failures.map((f) => `${f.address}: ${f.message}`)
      return { ok: false, nodeUnreachable: true, log: [`no SSH login to ${node.name} at any admin address:`, ...lines].join('\n') }
    }
    const connection = connected.connection
    let stdin: string
    try {
      const secrets = await this.options.secrets?.for({ noderoleId: run.noderoleId, nodeId: node.nodeId, role: run.role.name })
      stdin = JSON.stringify(secrets ? { ...run.attributes, crowbar_secrets: secrets } : run.attributes)
    } catch (err) {
      await connection.close()
      return { ok: false, log: `the secrets role ${run.role.name} needs could not be made: ${messageOf(err)}` }
    }
    log.push(`connected to root@${connection.address} (${node.name})`)
    this.options.logger?.info({ noderole: run.noderoleId, node: node.name, address: connection.address }, 'script jig run')
    try {
      let wall: JsonObject = {}
      const total = run.role.scripts.length
      for (const [index, script] of run.role.scripts.entries()) {
        const label = `script ${index + 1} of ${total}`
        const outcome = await this.runScript(connection, run, stdin, index, script, label, log)
        if (!outcome.ok) return outcome.unreachable ? await this.afterConnectionLoss(run, log) : { ok: false, log: log.join('\n') }
        wall = deepMerge(wall, outcome.wall)
      }
      log.push(total === 0 ? `role ${run.role.name} has no scripts: nothing to run` : `all ${total} script(s) succeeded`)
      return { ok: true, wall, log: log.join('\n') }
    } finally {
      await connection
        .exec(`rm -f ${shellQuote(this.remoteDir)}/${run.noderoleId}-*.pid`, undefined, { timeoutMs: CHORE_TIMEOUT_MS })
        .catch(() => undefined)
      await connection.close()
    }
  }

  private connect(run: JigRun): ReturnType<typeof connectToNode> {
    return connectToNode(
      { nodeId: run.node.nodeId, name: run.node.name, addresses: run.node.addresses },
      { keyPair: this.keyPair, pins: this.pins, port: this.options.port, readyTimeoutMs: this.connectTimeoutMs, signal: run.signal }
    )
  }

  private async runScript(
    connection: SshConnection,
    run: JigRun,
    stdin: string,
    index: number,
    script: string,
    label: string,
    log: string[]
  ): Promise<{ ok: true; wall: JsonObject } | { ok: false; unreachable?: boolean }> {
    const base = `${shellQuote(this.remoteDir)}/${run.noderoleId}-${index}`
    const scriptPath = `${base}.sh`
    const pidPath = `${base}.pid`
    try {
      // Uploaded through stdin (no SFTP needed); umask so the script is never readable by others.
      const upload = await connection.exec(
        `umask 077 && mkdir -p ${shellQuote(this.remoteDir)} && cat > ${scriptPath} && chmod 700 ${scriptPath}`,
        script,
        { timeoutMs: CHORE_TIMEOUT_MS, signal: run.signal }
      )
      if (upload.code !== 0) {
        log.push(`${label}: could not upload it to ${scriptPath} (exit ${upload.code ?? upload.signal}): ${upload.stderr.trim()}`)
        return { ok: false }
      }
    } catch (err) {
      return this.execFailed(err, label, 'uploading', log)
    }

    // sshd makes the session's shell a process group leader; `exec` keeps its PID, so the PID file
    // names the group to kill if the script outlives its timeout.
    const interpreter = script.startsWith('#!') ? '' : '/bin/sh '
    const command = [
      `echo $$ > ${pidPath}`,
      `export CROWBAR_NODEROLE_ID=${run.noderoleId}`,
      `export CROWBAR_ROLE=${shellQuote(run.role.name)}`,
      `exec ${interpreter}${scriptPath}`
    ].join(' && ')
    let result
    try {
      result = await connection.exec(command, stdin, { timeoutMs: this.scriptTimeoutMs, signal: run.signal })
    } catch (err) {
      if (err instanceof SshError && (err.kind === 'exec-timeout' || err.kind === 'aborted')) {
        const killed = await this.killScript(connection, pidPath)
        log.push(
          err.kind === 'exec-timeout'
            ? `${label} did not finish within ${formatDuration(this.scriptTimeoutMs)}: ${killed}`
            : `${label} was cancelled: ${killed}`
        )
        if (err.partial?.stderr.trim()) log.push(`${label} stderr:\n${err.partial.stderr.trimEnd()}`)
        return { ok: false }
      }
      return this.execFailed(err, label, 'running', log)
    }

    if (result.stderr.trim()) log.push(`${label} stderr:\n${result.stderr.trimEnd()}`)
    if (result.code !== 0) {
      log.push(
        result.code === null
          ? `${label} was killed by signal ${result.signal ?? 'unknown'}`
          : `${label} failed with exit code ${result.code}`
      )
      return { ok: false }
    }
    if (result.stdoutTruncated) {
      log.push(`${label} printed more than 4 MiB on stdout: a wall must be a JSON object smaller than that`)
      return { ok: false }
    }
    const wall = parseWall(result.stdout)
    if (typeof wall === 'string') {
      log.push(`${label}: ${wall}`)
      return { ok: false }
    }
    log.push(`${label} succeeded`)
    return { ok: true, wall }
  }

  /** Kills the script's process group by the PID it wrote; what happened, for the log. */
  private async killScript(connection: SshConnection, pidPath: string): Promise<string> {
    const command = `pid=$(cat ${pidPath} 2>/dev/null) && [ -n "$pid" ] && kill -KILL -- "-$pid" 2>/dev/null; rm -f ${pidPath}`
    try {
      await connection.exec(command, undefined, { timeoutMs: CHORE_TIMEOUT_MS })
      return 'stopped it (killed its process group)'
    } catch (err) {
      return `could not stop it, it may still be running on the node (${messageOf(err)})`
    }
  }

  private execFailed(err: unknown, label: string, doing: string, log: string[]): { ok: false; unreachable?: boolean } {
    if (err instanceof SshError) {
      log.push(`${label}: failed while ${doing}: ${err.message}`)
      if (err.partial?.stderr.trim()) log.push(`${label} stderr:\n${err.partial.stderr.trimEnd()}`)
      return { ok: false, unreachable: err.kind === 'closed' }
    }
    log.push(`${label}: failed while ${doing}: ${String(err)}`)
    return { ok: false }
  }

  /** The connection dropped mid-run: the node is dead unless it still accepts a login. */
  private async afterConnectionLoss(run: JigRun, log: string[]): Promise<JigOutcome> {
    const again = await this.connect(run)
    if (again.connection) {
      await again.connection.close()
      log.push(`${run.node.name} still accepts SSH logins: the run failed, the node is alive`)
      return { ok: false, log: log.join('\n') }
    }
    const unreachable = again.failures.every((f) => UNREACHABLE_FAILURES.has(f.kind) || f.kind === 'closed' || f.kind === 'protocol')
    for (const f of again.failures) log.push(`reconnect to ${f.address}: ${f.message}`)
    return unreachable ? { ok: false, nodeUnreachable: true, log: log.join('\n') } : { ok: false, log: log.join('\n') }
  }
}

/** A script's stdout as its wall: empty means {}; otherwise it must be one JSON object. */
export function parseWall(stdout: string): JsonObject | string {
  const text = stdout.trim()
  if (text === '') return {}
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (err) {
    return `stdout is not JSON (${messageOf(err)}); a script must print one JSON object or nothing. stdout began: ${excerpt(text)}`
  }
  if (!isJsonObject(value)) {
    const kind = Array.isArray(value) ? 'an array' : value === null ? 'null' : `a ${typeof value}`
    return `stdout is JSON but ${kind}, not an object; a script must print one JSON object or nothing. stdout began: ${excerpt(text)}`
  }
  return value
}

function excerpt(text: string): string {
  return JSON.stringify(text.length > 200 ? `${text.slice(0, 200)}...` : text)
}

function formatDuration(ms: number): string {
  if (ms % 60_000 === 0) return `${ms / 60_000} min`
  if (ms % 1000 === 0) return `${ms / 1000} s`
  return `${ms} ms`
}
