// bench:boot's harness: its settings, the cleanup stack every started process and namespace joins,
// and running ours and the peer one at a time on the same link.
import type { ChildProcess } from 'node:child_process'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { messageOf } from '../src-main/base/error-message'
import { run, type BenchTopology } from './boot-topology'

export const REPEATS = 3
/**
 * The recorder's DHCP rounds: its cost is a ratio of two medians of a flood whose rate varies by
 * ±20 % from round to round on two shared cores, so it takes more rounds than a peer comparison.
 */
export const RECORDER_DHCP_REPEATS = 5
/** Offered DORA/s (DESIGN 6.1: 16k); BENCH_DHCP_RATE overrides it, to find where a server tops out. */
export const DHCP_RATE = Number(process.env.BENCH_DHCP_RATE ?? 16_000)
export const DHCP_SECONDS = 10
export const DHCP_CLIENTS = 100
export const DNS_SECONDS = 10
export const DNS_HOSTS = 1000
export const DNS_DOMAIN = 'bench.test'
/** 50 MB, MB = 10^6 bytes throughout. */
export const TFTP_BYTES = 50_000_000
export const TFTP_FILE = 'bench-50MB.bin'
export const TFTP_BLKSIZE = 1468
export const TFTP_WINDOW = 8
/** The whole bench is killed (and cleaned up) past this. */
export const DEADLINE_MS = 8 * 60_000
/** Ours over the peer; for the recorder, on over off (its cost within 10 %). */
export const GOALS = { dhcp: 1.2, tftp: 2, dns: 1, recorder: 0.9 } as const

export const HERE = dirname(fileURLToPath(import.meta.url))
export const RESULTS = join(HERE, 'results', 'boot-services.json')
export const SECTIONS = new Set((process.env.BENCH_ONLY ?? 'dhcp,tftp,dns,recorder').split(',').map((s) => s.trim()))

export const log = (line: string): void => {
  process.stderr.write(`${line}\n`)
}
export const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b)
  const m = Math.floor(s.length / 2)
  return s.length % 2 === 1 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2
}
export const round = (x: number, digits = 2): number => Number(x.toFixed(digits))
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

/** What runs now and must be stopped on any exit: servers, the topology, temp dirs. */
export const cleanups: Array<() => Promise<void>> = []
let cleaning: Promise<void> | undefined
export function cleanUp(): Promise<void> {
  cleaning ??= (async () => {
    while (cleanups.length > 0) {
      const step = cleanups.pop()
      try {
        await step?.()
      } catch (err) {
        log(`cleanup step failed: ${messageOf(err)}`)
      }
    }
  })()
  return cleaning
}
/** Drops a cleanup that already ran (a signal's cleanup may have taken it first). */
export function forget(step: () => Promise<void>): void {
  const i = cleanups.indexOf(step)
  if (i >= 0) cleanups.splice(i, 1)
}
/** Set once a signal or the deadline stops the run: failures after it are the cleanup's doing. */
export const run_state = { interrupted: false }
export function onExitSignal(signal: NodeJS.Signals): void {
  run_state.interrupted = true
  log(`\n${signal}: stopping every server and deleting the namespaces`)
  void cleanUp().finally(() => process.exit(130))
}

export async function requireTools(): Promise<void> {
  const tools: Array<[string, string]> = [
    ['perfdhcp', 'kea-admin'],
    ['dnsperf', 'dnsperf'],
    ['in.tftpd', 'tftpd-hpa'],
    ['dnsmasq', 'dnsmasq-base'],
    ['curl', 'curl'],
    ['atftp', 'atftp'],
    ['ss', 'iproute2']
  ]
  const missing: string[] = []
  for (const [tool, pkg] of tools) {
    if ((await run('sh', ['-c', `command -v ${tool}`], 5_000)).code !== 0) missing.push(`${tool} (Debian package ${pkg})`)
  }
  if (missing.length > 0) throw new Error(`missing: ${missing.join(', ')}: apt-get install -y ${tools.map(([, p]) => p).join(' ')}`)
  if (process.getuid?.() !== 0) throw new Error('bench:boot creates network namespaces and binds ports 53/67/69: run it as root')
}

export async function versions(): Promise<Record<string, string>> {
  const first = async (file: string, args: string[]): Promise<string> => {
    const r = await run(file, args, 5_000)
    return `${r.stdout}${r.stderr}`.split('\n').find((l) => l.trim() !== '')?.trim() ?? 'unknown'
  }
  return {
    dnsmasq: await first('dnsmasq', ['--version']),
    tftpd_hpa: await first('in.tftpd', ['-V']),
    perfdhcp: `perfdhcp ${await first('perfdhcp', ['-v'])}`,
    dnsperf: ((r) => `${r.stdout}${r.stderr}`)(await run('dnsperf', ['-h'], 5_000)).match(/Version [\d.]+/)?.[0] ?? 'unknown',
    curl: await first('curl', ['--version']),
    atftp: await first('atftp', ['-V']),
    node: process.version
  }
}

/** Waits (bounded) until something in `ns` listens on UDP `port`, or the process died. */
export async function waitForUdpListener(t: BenchTopology, ns: string, port: number, child: ChildProcess, what: string): Promise<void> {
  for (let i = 0; i < 50; i++) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`${what} exited before listening`)
    const r = await t.exec(ns, 'ss', ['-Hlun', `sport = :${port}`], 5_000)
    if (r.stdout.trim() !== '') return
    await sleep(100)
  }
  throw new Error(`${what} did not listen on UDP ${port} within 5 s`)
}

/** Stops a peer by PID and waits (bounded) for it to go. */
export async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  try {
    if (child.pid) process.kill(child.pid, 'SIGTERM')
  } catch {
    return
  }
  const timer = sleep(3_000).then(() => 'late' as const)
  if ((await Promise.race([gone.then(() => 'gone' as const), timer])) === 'late' && child.pid) {
    try {
      process.kill(child.pid, 'SIGKILL')
    } catch {
      // already gone
    }
    await Promise.race([gone, sleep(2_000)])
  }
}

/** Runs a peer for the length of `body`, stopped by PID afterwards (and on any exit). */
export async function withPeer<T>(t: BenchTopology, port: number, what: string, args: readonly [string, ...string[]], body: () => Promise<T>): Promise<T> {
  let output = ''
  const child = t.spawn(t.peerNs, args[0], args.slice(1), (text) => {
    if (output.length < 20_000) output += text
  })
  const stop = (): Promise<void> => stopChild(child)
  cleanups.push(stop)
  try {
    await waitForUdpListener(t, t.peerNs, port, child, what)
    return await body()
  } catch (err) {
    log(`${what} output:\n${output.slice(-2_000)}`)
    throw err
  } finally {
    await stop()
    forget(stop)
  }
}

/** Runs one of our servers for the length of `body`. */
export async function withOurs<T>(server: { start(): Promise<void>; stop(): Promise<void> }, body: () => Promise<T>): Promise<T> {
  const stop = (): Promise<void> => server.stop()
  cleanups.push(stop)
  await server.start()
  try {
    return await body()
  } finally {
    await stop()
    forget(stop)
  }
}

/** Ours and the peer, one after the other, the order swapped each round so drift hits both alike. */
export async function alternate<T>(rounds: number, ours: (round: number) => Promise<T>, peer: (round: number) => Promise<T>): Promise<{ ours: T[]; peer: T[] }> {
  const out = { ours: [] as T[], peer: [] as T[] }
  for (let i = 0; i < rounds; i++) {
    if (i % 2 === 0) {
      out.ours.push(await ours(i))
      out.peer.push(await peer(i))
    } else {
      out.peer.push(await peer(i))
      out.ours.push(await ours(i))
    }
  }
  return out
}
