// For tests: a real OpenSSH server in its own network namespace, reached from the host over a veth
// pair with a random /30 from 198.18.0.0/15 (the benchmarking range), so it behaves like a node.
// Needs root (ip netns); the namespace shares the host's filesystem and process table.
import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { randomBytes, randomInt } from 'node:crypto'
import { mkdir, mkdtemp, readFile, rm, unlink, writeFile } from 'node:fs/promises'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fingerprintOf } from '../jigs/ssh/host-key-pins'

export interface SshdTestHost {
  /** Where sshd listens: the namespace's end of the veth pair. */
  readonly address: string
  readonly namespace: string
  /** The host's end of the veth pair (the address sshd sees connections from). */
  readonly nodeAddressOnHost: string
  /** The current host key's SHA256 fingerprint as OpenSSH prints it (without `SHA256:`). */
  hostKeyFingerprint(): Promise<string>
  /** Kills sshd (the listener; established sessions end with their clients). */
  stopSshd(): Promise<void>
  /** Starts sshd again with the same host key and waits until it accepts TCP connections. */
  startSshd(): Promise<void>
  /** Makes a new host key and restarts sshd: the node as seen after a reinstall. */
  regenerateHostKey(): Promise<void>
  /** Kills every process in the namespace, deletes the veth pair, the namespace and the temp files. Idempotent. */
  stop(): Promise<void>
}

export interface SshdTestHostOptions {
  /** An authorized_keys line for root. */
  readonly authorizedKey: string
}

/** Thrown when this machine cannot create network namespaces (not root, no `ip`). */
export class NetnsUnavailableError extends Error {
  override readonly name = 'NetnsUnavailableError'
}

const SSHD = '/usr/sbin/sshd'
const COMMAND_TIMEOUT_MS = 10_000
const SSHD_READY_TIMEOUT_MS = 10_000
const SSHD_EXIT_TIMEOUT_MS = 5_000
/** 198.18.0.0/15 holds 2^17 addresses: 32768 blocks of four. */
const BLOCKS_IN_RANGE = 32_768

export async function startSshdTestHost(options: SshdTestHostOptions): Promise<SshdTestHost> {
  const id = randomBytes(4).toString('hex')
  const namespace = `cbssh-${id}`
  // Interface names are limited to 15 characters.
  const hostIf = `cbh${id}`
  const nodeIf = `cbn${id}`
  const dir = await mkdtemp(join(tmpdir(), 'cbssh-'))
  const keyPath = join(dir, 'ssh_host_ed25519_key')
  const pidPath = join(dir, 'sshd.pid')
  let sshd: ChildProcess | undefined
  let sshdLog = ''
  let nsCreated = false
  let stopped = false

  const stopSshd = async (): Promise<void> => {
    const child = sshd
    sshd = undefined
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
      child.kill('SIGTERM')
      if (!(await within(exited, SSHD_EXIT_TIMEOUT_MS))) {
        child.kill('SIGKILL')
        await within(exited, SSHD_EXIT_TIMEOUT_MS)
      }
    }
    await unlink(pidPath).catch(() => undefined)
  }

  const host = {
    namespace,
    address: '',
    nodeAddressOnHost: '',
    hostKeyFingerprint: async () => fingerprintOfPublicKeyLine(await readFile(`${keyPath}.pub`, 'utf8')),
    stopSshd,
    async startSshd(): Promise<void> {
      if (sshd) return
      // sshd's privilege separation directory; the namespace shares the host's filesystem.
      await mkdir('/run/sshd', { recursive: true, mode: 0o755 })
      sshdLog = ''
      const child = spawn('ip', ['netns', 'exec', namespace, SSHD, '-D', '-e', '-f', join(dir, 'sshd_config')], {
        stdio: ['ignore', 'ignore', 'pipe']
      })
      sshd = child
      child.stderr?.on('data', (chunk: Buffer) => {
        // Kept short: only for the message when sshd fails to start.
        if (sshdLog.length < 8192) sshdLog += chunk.toString('utf8')
      })
      child.on('error', (err) => {
        sshdLog += `\n${err.message}`
      })
      const ready = await waitForTcp(host.address, 22, SSHD_READY_TIMEOUT_MS, () => child.exitCode !== null || child.signalCode !== null)
      if (!ready) {
        await stopSshd()
        throw new Error(`sshd in ${namespace} did not accept connections on ${host.address}:22 within ${SSHD_READY_TIMEOUT_MS} ms:\n${sshdLog.trim()}`)
      }
    },
    async regenerateHostKey(): Promise<void> {
      const wasRunning = sshd !== undefined
      await stopSshd()
      await makeHostKey(keyPath)
      if (wasRunning) await host.startSshd()
    },
    async stop(): Promise<void> {
      if (stopped) return
      stopped = true
      await stopSshd()
      if (nsCreated) {
        await killNamespaceProcesses(namespace)
        // Deleting one end deletes the pair; the namespace's end also goes with the namespace.
        await run('ip', ['link', 'del', hostIf]).catch(() => undefined)
        await run('ip', ['netns', 'del', namespace]).catch(() => undefined)
      }
      await rm(dir, { recursive: true, force: true })
    }
  }

  try {
    try {
      await run('ip', ['netns', 'add', namespace])
    } catch (err) {
      throw new NetnsUnavailableError(
        `cannot create a network namespace (${err instanceof Error ? err.message : String(err)}): the SSH tests need root and iproute2`
      )
    }
    nsCreated = true
    const block = await freeBlock()
    host.nodeAddressOnHost = block.hostAddress
    host.address = block.nodeAddress
    await run('ip', ['link', 'add', hostIf, 'type', 'veth', 'peer', 'name', nodeIf, 'netns', namespace])
    await run('ip', ['addr', 'add', `${block.hostAddress}/30`, 'dev', hostIf])
    await run('ip', ['link', 'set', hostIf, 'up'])
    await run('ip', ['-n', namespace, 'link', 'set', 'lo', 'up'])
    await run('ip', ['-n', namespace, 'addr', 'add', `${block.nodeAddress}/30`, 'dev', nodeIf])
    await run('ip', ['-n', namespace, 'link', 'set', nodeIf, 'up'])

    await makeHostKey(keyPath)
    await writeFile(join(dir, 'authorized_keys'), `${options.authorizedKey.trim()}\n`, { mode: 0o600 })
    await writeFile(
      join(dir, 'sshd_config'),
      [
        `ListenAddress ${block.nodeAddress}:22`,
        `HostKey ${keyPath}`,
        `PidFile ${pidPath}`,
        `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
        'PermitRootLogin prohibit-password',
        'PasswordAuthentication no',
        'KbdInteractiveAuthentication no',
        'UsePAM no',
        'StrictModes no',
        'PrintMotd no',
        'LogLevel ERROR',
        ''
      ].join('\n')
    )
    await host.startSshd()
    return host
  } catch (err) {
    await host.stop()
    throw err
  }
}

async function makeHostKey(keyPath: string): Promise<void> {
  await rm(keyPath, { force: true })
  await rm(`${keyPath}.pub`, { force: true })
  await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'cbssh-test-host', '-f', keyPath])
}

function fingerprintOfPublicKeyLine(line: string): string {
  return fingerprintOf(Buffer.from(line.trim().split(/\s+/)[1] ?? '', 'base64'))
}

/** A /30 in 198.18.0.0/15 that no interface here uses yet (parallel test files pick at random). */
async function freeBlock(): Promise<{ hostAddress: string; nodeAddress: string }> {
  const used = new Set<number>()
  const { stdout } = await run('ip', ['-o', '-4', 'addr', 'show'])
  for (const match of stdout.matchAll(/inet (\d+\.\d+\.\d+\.\d+)/g)) {
    const n = ipv4ToNumber(match[1] ?? '')
    if (n !== undefined) used.add(n >>> 2)
  }
  const base = ipv4ToNumber('198.18.0.0') ?? 0
  for (let attempt = 0; attempt < 100; attempt++) {
    const start = base + randomInt(BLOCKS_IN_RANGE) * 4
    if (used.has(start >>> 2)) continue
    return { hostAddress: numberToIpv4(start + 1), nodeAddress: numberToIpv4(start + 2) }
  }
  throw new Error('no free /30 in 198.18.0.0/15 after 100 tries: are old test namespaces left over? (ip netns list)')
}

function ipv4ToNumber(text: string): number | undefined {
  const parts = text.split('.').map(Number)
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) return undefined
  return parts.reduce((acc, p) => acc * 256 + p, 0)
}

function numberToIpv4(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.')
}

/** Kills what still runs inside the namespace (sessions, scripts), found by namespace, not by name. */
async function killNamespaceProcesses(namespace: string): Promise<void> {
  for (let round = 0; round < 5; round++) {
    const { stdout } = await run('ip', ['netns', 'pids', namespace]).catch(() => ({ stdout: '' }))
    const pids = stdout.split(/\s+/).filter((p) => /^\d+$/.test(p)).map(Number)
    if (pids.length === 0) return
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL')
      } catch {
        // Already gone.
      }
    }
    await sleep(100)
  }
}

function run(file: string, args: readonly string[]): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(file, [...args], { timeout: COMMAND_TIMEOUT_MS, killSignal: 'SIGKILL', maxBuffer: 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${file} ${args.join(' ')} failed: ${stderr.trim() || err.message}`))
      else resolve({ stdout, stderr })
    })
  })
}

/** Polls until a TCP connect succeeds; false on timeout or when `gaveUp()` says stop. */
async function waitForTcp(address: string, port: number, timeoutMs: number, gaveUp: () => boolean): Promise<boolean> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (gaveUp()) return false
    if (await tcpAccepts(address, port, 500)) return true
    await sleep(50)
  }
  return false
}

function tcpAccepts(address: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: address, port })
    const done = (ok: boolean): void => {
      clearTimeout(timer)
      socket.destroy()
      resolve(ok)
    }
    const timer = setTimeout(() => done(false), timeoutMs)
    socket.once('connect', () => done(true))
    socket.once('error', () => done(false))
  })
}

async function within(promise: Promise<void>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined
  const result = await Promise.race([
    promise.then(() => true),
    new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), ms)
    })
  ])
  clearTimeout(timer)
  return result
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}
