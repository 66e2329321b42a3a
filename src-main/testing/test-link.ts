// For tests: a network namespace joined to this one by a veth pair, a /24 from 198.19.0.0/16 (the
// benchmarking range) on the host end, nothing on the other. Clients run inside the namespace; our
// servers bind the host end. Never bridged to a real interface. Needs root.
import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'

export interface TestLink {
  readonly namespace: string
  /** The veth end in this (the host's) namespace, with `hostAddress`. */
  readonly hostIf: string
  /** The veth end inside the namespace (no address until a client configures one). */
  readonly peerIf: string
  readonly hostAddress: string
  /** e.g. 198.19.7.0/24 */
  readonly subnet: string
  /** `a.b.c.` — the /24's first three octets, for building addresses in tests. */
  readonly prefix: string
  /** Runs a command inside the namespace to completion (bounded). */
  exec(file: string, args: readonly string[], timeoutMs?: number): Promise<{ stdout: string; stderr: string; code: number }>
  /** Starts a long-running command inside the namespace; stop() kills it by PID. */
  spawn(file: string, args: readonly string[]): ChildProcess
  setPeerMac(mac: string): Promise<void>
  stop(): Promise<void>
}

const COMMAND_TIMEOUT_MS = 15_000

export function run(file: string, args: readonly string[], timeoutMs = COMMAND_TIMEOUT_MS): Promise<{ stdout: string; stderr: string; code: number }> {
  return new Promise((resolve) => {
    execFile(file, [...args], { timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 4 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as NodeJS.ErrnoException & { code?: unknown }).code === 'number' ? Number((err as { code: number }).code) : 1) : 0
      resolve({ stdout: String(stdout), stderr: String(stderr), code })
    })
  })
}

async function must(file: string, args: readonly string[]): Promise<string> {
  const r = await run(file, args)
  if (r.code !== 0) throw new Error(`${file} ${args.join(' ')} failed (${r.code}): ${r.stderr.trim()}`)
  return r.stdout
}

async function freeSubnet(): Promise<number> {
  const used = await must('ip', ['-o', '-4', 'addr', 'show'])
  for (let i = 0; i < 100; i++) {
    const third = 1 + (randomBytes(1)[0] as number) % 250
    if (!used.includes(`198.19.${third}.`)) return third
  }
  throw new Error('no free /24 in 198.19.0.0/16 after 100 tries: are old test namespaces left over? (ip netns list)')
}

export async function createTestLink(): Promise<TestLink> {
  const tag = randomBytes(3).toString('hex')
  const namespace = `cbl-${tag}`
  const hostIf = `cblh${tag}`
  const peerIf = `cblp${tag}`
  const third = await freeSubnet()
  const prefix = `198.19.${third}.`
  const hostAddress = `${prefix}1`
  const children = new Set<ChildProcess>()
  let stopped = false
  const stop = async (): Promise<void> => {
    if (stopped) return
    stopped = true
    // Our children, then anything else still running in the namespace (a daemonised client), by PID.
    const pids = await run('ip', ['netns', 'pids', namespace])
    const all = [...[...children].map((c) => c.pid), ...pids.stdout.split(/\s+/).filter(Boolean).map(Number)]
    for (const pid of all) {
      if (!pid) continue
      try {
        process.kill(pid, 'SIGKILL')
      } catch {
        // already gone
      }
    }
    await run('ip', ['link', 'del', hostIf])
    await run('ip', ['netns', 'del', namespace])
  }
  try {
    await must('ip', ['netns', 'add', namespace])
    await must('ip', ['link', 'add', hostIf, 'type', 'veth', 'peer', 'name', peerIf, 'netns', namespace])
    await must('ip', ['addr', 'add', `${hostAddress}/24`, 'dev', hostIf])
    await must('ip', ['link', 'set', hostIf, 'up'])
    await must('ip', ['-n', namespace, 'link', 'set', 'lo', 'up'])
    await must('ip', ['-n', namespace, 'link', 'set', peerIf, 'up'])
  } catch (err) {
    await stop()
    throw err
  }
  return {
    namespace,
    hostIf,
    peerIf,
    hostAddress,
    subnet: `${prefix}0/24`,
    prefix,
    exec: (file, args, timeoutMs) => run('ip', ['netns', 'exec', namespace, file, ...args], timeoutMs),
    spawn(file, args) {
      const child = spawn('ip', ['netns', 'exec', namespace, file, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
      children.add(child)
      child.stdout?.resume()
      child.stderr?.resume()
      return child
    },
    async setPeerMac(mac) {
      await must('ip', ['-n', namespace, 'link', 'set', peerIf, 'down'])
      await must('ip', ['-n', namespace, 'link', 'set', peerIf, 'address', mac])
      await must('ip', ['-n', namespace, 'link', 'set', peerIf, 'up'])
    },
    stop
  }
}
