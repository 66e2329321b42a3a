// For bench:boot: a client namespace joined by two veth pairs, one to this (the host's) namespace
// where our services run, one to a peer namespace where dnsmasq and tftpd-hpa run. Both links are
// alike, in 198.19.0.0/16 (the benchmarking range), never bridged to a real interface. Needs root.
import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'

export interface CommandResult {
  readonly stdout: string
  readonly stderr: string
  /** Exit code; -1 when killed by the time limit or a signal. */
  readonly code: number
  readonly ms: number
}

/** One side of the client namespace: where the server listens and which client interface faces it. */
export interface BenchLink {
  /** The server's address (host end or peer namespace end). */
  readonly serverAddress: string
  /** The server's interface (in the host namespace for ours, in the peer namespace for peers). */
  readonly serverIf: string
  /** The client namespace's interface on this link, and its address. */
  readonly clientIf: string
  readonly clientAddress: string
  /** `a.b.c.` of the /24. */
  readonly prefix: string
  readonly subnet: string
}

export interface BenchTopology {
  readonly clientNs: string
  readonly peerNs: string
  /** Host namespace <-> client namespace: our services. */
  readonly ours: BenchLink
  /** Peer namespace <-> client namespace: dnsmasq, tftpd-hpa. */
  readonly peer: BenchLink
  /** Runs a command in a namespace to completion, killed (SIGKILL) after `timeoutMs`. */
  exec(ns: string, file: string, args: readonly string[], timeoutMs: number): Promise<CommandResult>
  /** Starts a long-running command in a namespace; stop() kills it by PID. Output goes to `onOutput`. */
  spawn(ns: string, file: string, args: readonly string[], onOutput?: (text: string) => void): ChildProcess
  stop(): Promise<void>
}

export function run(file: string, args: readonly string[], timeoutMs: number): Promise<CommandResult> {
  const start = performance.now()
  return new Promise((resolve) => {
    execFile(file, [...args], { timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0
      resolve({ stdout: String(stdout), stderr: String(stderr), code, ms: performance.now() - start })
    })
  })
}

async function must(file: string, args: readonly string[]): Promise<string> {
  const r = await run(file, args, 15_000)
  if (r.code !== 0) throw new Error(`${file} ${args.join(' ')} failed (${r.code}): ${r.stderr.trim()}`)
  return r.stdout
}

/** Two /24s of 198.19.0.0/16 that no interface here uses. */
async function freeThirdOctets(): Promise<[number, number]> {
  const used = await must('ip', ['-o', '-4', 'addr', 'show'])
  const picked: number[] = []
  for (let i = 0; i < 200 && picked.length < 2; i++) {
    const third = 1 + ((randomBytes(1)[0] as number) % 250)
    if (!used.includes(`198.19.${third}.`) && !picked.includes(third)) picked.push(third)
  }
  if (picked.length < 2) throw new Error('no two free /24s in 198.19.0.0/16: are old bench namespaces left over? (ip netns list)')
  return [picked[0] as number, picked[1] as number]
}

function killPid(pid: number | undefined): void {
  if (!pid) return
  try {
    process.kill(pid, 'SIGKILL')
  } catch {
    // already gone
  }
}

export async function createBenchTopology(): Promise<BenchTopology> {
  const tag = randomBytes(3).toString('hex')
  const clientNs = `cbb-c-${tag}`
  const peerNs = `cbb-p-${tag}`
  const [a, b] = await freeThirdOctets()
  const ours: BenchLink = {
    serverAddress: `198.19.${a}.1`,
    serverIf: `cbbh${tag}`,
    clientIf: `cbbc${tag}`,
    clientAddress: `198.19.${a}.2`,
    prefix: `198.19.${a}.`,
    subnet: `198.19.${a}.0/24`
  }
  const peer: BenchLink = {
    serverAddress: `198.19.${b}.1`,
    serverIf: `cbbp${tag}`,
    clientIf: `cbbd${tag}`,
    clientAddress: `198.19.${b}.2`,
    prefix: `198.19.${b}.`,
    subnet: `198.19.${b}.0/24`
  }
  const children = new Set<ChildProcess>()
  let stopped = false

  const stop = async (): Promise<void> => {
    if (stopped) return
    stopped = true
    for (const child of children) killPid(child.pid)
    // Anything else still running in our namespaces (a child's child), by PID.
    for (const ns of [clientNs, peerNs]) {
      const pids = await run('ip', ['netns', 'pids', ns], 5_000)
      for (const pid of pids.stdout.split(/\s+/).filter(Boolean).map(Number)) killPid(pid)
    }
    // Deleting a namespace deletes its veth ends, and with them their peers; the host end last, in case.
    await run('ip', ['netns', 'del', clientNs], 5_000)
    await run('ip', ['netns', 'del', peerNs], 5_000)
    if ((await run('ip', ['link', 'show', ours.serverIf], 5_000)).code === 0) await run('ip', ['link', 'del', ours.serverIf], 5_000)
  }

  try {
    await must('ip', ['netns', 'add', clientNs])
    await must('ip', ['netns', 'add', peerNs])
    // Ours: host end <-> client namespace.
    await must('ip', ['link', 'add', ours.serverIf, 'type', 'veth', 'peer', 'name', ours.clientIf, 'netns', clientNs])
    await must('ip', ['addr', 'add', `${ours.serverAddress}/24`, 'dev', ours.serverIf])
    await must('ip', ['link', 'set', ours.serverIf, 'up'])
    // Peers: peer namespace <-> client namespace.
    await must('ip', ['-n', peerNs, 'link', 'add', peer.serverIf, 'type', 'veth', 'peer', 'name', peer.clientIf, 'netns', clientNs])
    await must('ip', ['-n', peerNs, 'addr', 'add', `${peer.serverAddress}/24`, 'dev', peer.serverIf])
    await must('ip', ['-n', peerNs, 'link', 'set', peer.serverIf, 'up'])
    await must('ip', ['-n', clientNs, 'addr', 'add', `${ours.clientAddress}/24`, 'dev', ours.clientIf])
    await must('ip', ['-n', clientNs, 'addr', 'add', `${peer.clientAddress}/24`, 'dev', peer.clientIf])
    for (const [ns, ifs] of [
      [clientNs, ['lo', ours.clientIf, peer.clientIf]],
      [peerNs, ['lo']]
    ] as const) {
      for (const i of ifs) await must('ip', ['-n', ns, 'link', 'set', i, 'up'])
    }
  } catch (err) {
    await stop()
    throw err
  }

  return {
    clientNs,
    peerNs,
    ours,
    peer,
    exec: (ns, file, args, timeoutMs) => run('ip', ['netns', 'exec', ns, file, ...args], timeoutMs),
    spawn(ns, file, args, onOutput) {
      if (stopped) throw new Error('the bench topology is stopped')
      // `ip netns exec` execs the command in place, so the child's PID is the command's.
      const child = spawn('ip', ['netns', 'exec', ns, file, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
      children.add(child)
      child.once('exit', () => children.delete(child))
      child.stdout?.on('data', (d: Buffer) => onOutput?.(d.toString()))
      child.stderr?.on('data', (d: Buffer) => onOutput?.(d.toString()))
      return child
    },
    stop
  }
}
