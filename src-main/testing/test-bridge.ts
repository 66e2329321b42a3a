// For tests: a shared segment, a bridge on this (the host's) namespace with a /24 from
// 198.19.0.0/16, and network namespaces each joined to it by a veth pair: a client and a second
// server on one link with ours. Never bridged to a real interface. Needs root.
import { spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { run } from './test-link'

export interface BridgeMember {
  readonly namespace: string
  /** The veth end inside the namespace. */
  readonly ifname: string
  exec(file: string, args: readonly string[], timeoutMs?: number): Promise<{ stdout: string; stderr: string; code: number }>
  /** Starts a long-running command inside the namespace; the bridge's stop() kills it by PID. */
  spawn(file: string, args: readonly string[]): ChildProcess
}

export interface TestBridge {
  /** The bridge device, with `hostAddress`: our servers bind it. */
  readonly bridge: string
  readonly hostAddress: string
  readonly prefix: string
  readonly subnet: string
  readonly members: readonly BridgeMember[]
  stop(): Promise<void>
}

async function must(file: string, args: readonly string[]): Promise<void> {
  const r = await run(file, args)
  if (r.code !== 0) throw new Error(`${file} ${args.join(' ')} failed (${r.code}): ${r.stderr.trim()}`)
}

/** A bridge and `members` namespaces on it; member i's interface gets MAC `macs[i]` when given. */
export async function createTestBridge(members: number, macs: readonly string[] = []): Promise<TestBridge> {
  const tag = randomBytes(3).toString('hex')
  const bridge = `cbb${tag}`
  const used = (await run('ip', ['-o', '-4', 'addr', 'show'])).stdout
  let third = 0
  for (let i = 0; i < 100 && third === 0; i++) {
    const candidate = 1 + ((randomBytes(1)[0] as number) % 250)
    if (!used.includes(`198.19.${candidate}.`)) third = candidate
  }
  if (third === 0) throw new Error('no free /24 in 198.19.0.0/16 after 100 tries: are old test namespaces left over? (ip netns list)')
  const prefix = `198.19.${third}.`
  const hostAddress = `${prefix}1`
  const children = new Set<ChildProcess>()
  const namespaces: string[] = []
  const hostEnds: string[] = []
  let stopped = false
  const stop = async (): Promise<void> => {
    if (stopped) return
    stopped = true
    const pids = [...children].map((c) => c.pid)
    for (const ns of namespaces) pids.push(...(await run('ip', ['netns', 'pids', ns])).stdout.split(/\s+/).filter(Boolean).map(Number))
    for (const pid of pids) {
      if (!pid) continue
      try {
        process.kill(pid, 'SIGKILL')
      } catch {
        // already gone
      }
    }
    for (const end of hostEnds) await run('ip', ['link', 'del', end])
    await run('ip', ['link', 'del', bridge])
    for (const ns of namespaces) await run('ip', ['netns', 'del', ns])
  }
  const list: BridgeMember[] = []
  try {
    // No STP, no forwarding delay: ports forward the moment they are up.
    await must('ip', ['link', 'add', 'name', bridge, 'type', 'bridge', 'stp_state', '0', 'forward_delay', '0'])
    await must('ip', ['addr', 'add', `${hostAddress}/24`, 'dev', bridge])
    await must('ip', ['link', 'set', bridge, 'up'])
    for (let i = 0; i < members; i++) {
      const namespace = `cbb-${tag}-${i}`
      const hostEnd = `cbb${tag}h${i}`
      const ifname = `cbb${tag}p${i}`
      await must('ip', ['netns', 'add', namespace])
      namespaces.push(namespace)
      await must('ip', ['link', 'add', hostEnd, 'type', 'veth', 'peer', 'name', ifname, 'netns', namespace])
      hostEnds.push(hostEnd)
      await must('ip', ['link', 'set', hostEnd, 'master', bridge])
      await must('ip', ['link', 'set', hostEnd, 'up'])
      const mac = macs[i]
      if (mac) await must('ip', ['-n', namespace, 'link', 'set', ifname, 'address', mac])
      await must('ip', ['-n', namespace, 'link', 'set', 'lo', 'up'])
      await must('ip', ['-n', namespace, 'link', 'set', ifname, 'up'])
      list.push({
        namespace,
        ifname,
        exec: (file, args, timeoutMs) => run('ip', ['netns', 'exec', namespace, file, ...args], timeoutMs),
        spawn(file, args) {
          const child = spawn('ip', ['netns', 'exec', namespace, file, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
          children.add(child)
          child.stdout?.resume()
          child.stderr?.resume()
          return child
        }
      })
    }
  } catch (err) {
    await stop()
    throw err
  }
  return { bridge, hostAddress, prefix, subnet: `${prefix}0/24`, members: list, stop }
}
