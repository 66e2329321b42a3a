// The lab's wire: a network namespace holding a bridge (the rack's switch, with the admin node's
// address) and one tap device per VM. Nothing in it touches a real interface. Needs root.
import { execFile, execFileSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'

export interface CommandResult {
  readonly stdout: string
  readonly stderr: string
  /** Exit code; -1 when killed by the time limit or a signal. */
  readonly code: number
}

export function run(file: string, args: readonly string[], timeoutMs = 15_000): Promise<CommandResult> {
  return new Promise((resolve) => {
    execFile(file, [...args], { timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0
      resolve({ stdout: String(stdout), stderr: String(stderr), code })
    })
  })
}

async function must(file: string, args: readonly string[]): Promise<string> {
  const r = await run(file, args)
  if (r.code !== 0) throw new Error(`${file} ${args.join(' ')} failed (${r.code}): ${r.stderr.trim()}`)
  return r.stdout
}

export interface LabNetwork {
  readonly namespace: string
  /** The bridge inside the namespace: the interface the app serves on. */
  readonly bridge: string
  /** The admin node's address on the bridge, e.g. 198.18.50.1 */
  readonly address: string
  readonly prefixLength: number
  /** Tap devices enslaved to the bridge, one per VM. */
  readonly taps: readonly string[]
  /** Runs a command inside the namespace to completion, SIGKILLed after `timeoutMs`. */
  exec(file: string, args: readonly string[], timeoutMs?: number): Promise<CommandResult>
  /** Kills every process left in the namespace and deletes it (with its bridge and taps). Idempotent. */
  stop(): Promise<void>
  /** The same, synchronously: for a signal handler that has no time for promises. */
  stopNow(): void
}

const ADDRESS = '198.18.50.1'
const PREFIX_LENGTH = 24

/** Namespaces of earlier runs that died before cleaning up; only those with no process left in them. */
export async function removeStaleLabNamespaces(): Promise<string[]> {
  const list = await run('ip', ['netns', 'list'])
  const removed: string[] = []
  for (const line of list.stdout.split('\n')) {
    const name = line.split(/\s+/)[0] ?? ''
    if (!/^cblab-[0-9a-f]{6}$/.test(name)) continue
    const pids = await run('ip', ['netns', 'pids', name])
    if (pids.stdout.trim() !== '') continue
    await run('ip', ['netns', 'del', name])
    removed.push(name)
  }
  return removed
}

export async function createLabNetwork(tapCount: number): Promise<LabNetwork> {
  const namespace = `cblab-${randomBytes(3).toString('hex')}`
  const bridge = 'br0'
  const taps = Array.from({ length: tapCount }, (_, i) => `tap${i}`)
  let stopped = false

  const killAll = (pids: string): void => {
    for (const pid of pids.split(/\s+/).filter(Boolean).map(Number)) {
      try {
        process.kill(pid, 'SIGKILL')
      } catch {
        // already gone
      }
    }
  }
  const stop = async (): Promise<void> => {
    if (stopped) return
    stopped = true
    killAll((await run('ip', ['netns', 'pids', namespace])).stdout)
    await run('ip', ['netns', 'del', namespace])
  }
  const stopNow = (): void => {
    if (stopped) return
    stopped = true
    try {
      killAll(execFileSync('ip', ['netns', 'pids', namespace], { timeout: 5_000 }).toString())
    } catch {
      // no namespace, or no processes
    }
    try {
      execFileSync('ip', ['netns', 'del', namespace], { timeout: 5_000, stdio: 'ignore' })
    } catch {
      // already gone
    }
  }

  try {
    await must('ip', ['netns', 'add', namespace])
    const ipn = (...args: string[]) => must('ip', ['-n', namespace, ...args])
    await ipn('link', 'set', 'lo', 'up')
    await ipn('link', 'add', bridge, 'type', 'bridge', 'forward_delay', '0')
    await ipn('addr', 'add', `${ADDRESS}/${PREFIX_LENGTH}`, 'dev', bridge)
    // A veth pair keeps one bridge port with a carrier: a bridge whose taps have no VM yet is not
    // RUNNING, and then Node's networkInterfaces() (libuv) leaves it out and the app cannot find it.
    await ipn('link', 'add', 'brkeep0', 'type', 'veth', 'peer', 'name', 'brkeep1')
    await ipn('link', 'set', 'brkeep0', 'master', bridge)
    await ipn('link', 'set', 'brkeep0', 'up')
    await ipn('link', 'set', 'brkeep1', 'up')
    for (const tap of taps) {
      await must('ip', ['netns', 'exec', namespace, 'ip', 'tuntap', 'add', 'dev', tap, 'mode', 'tap'])
      await ipn('link', 'set', tap, 'master', bridge)
      await ipn('link', 'set', tap, 'up')
    }
    await ipn('link', 'set', bridge, 'up')
    // The bridge is RUNNING once its port's carrier has propagated (a few ms, bounded here).
    const deadline = Date.now() + 10_000
    while (!/state UP/.test(await ipn('-o', 'link', 'show', bridge))) {
      if (Date.now() > deadline) throw new Error(`${bridge} in ${namespace} did not come up within 10 s`)
      await new Promise((r) => setTimeout(r, 50))
    }
  } catch (err) {
    await stop()
    throw err
  }
  return {
    namespace,
    bridge,
    address: ADDRESS,
    prefixLength: PREFIX_LENGTH,
    taps,
    exec: (file, args, timeoutMs) => run('ip', ['netns', 'exec', namespace, file, ...args], timeoutMs),
    stop,
    stopNow
  }
}
