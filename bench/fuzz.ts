// npm run fuzz: structured mutation fuzzing of the DHCP, DNS and TFTP decoders and policies in
// process (one child per protocol, a watchdog per child for hangs), then of the real servers over
// sockets inside a network namespace this run creates. Bounded in count and time; every process
// it starts is stopped by PID. Writes bench/results/fuzz.json; exits 1 on a crash or a dead server.
// FUZZ_SEED replays a run; FUZZ_REPLAY=dns:1234 re-runs one in-process input and prints its trace.
// Counts and bounds: FUZZ_PACKETS, FUZZ_SOCKET_PACKETS, FUZZ_DECODE_SECONDS, FUZZ_SOCKET_SECONDS,
// FUZZ_INPUT_MS, FUZZ_SLOW_MS, FUZZ_HANG_MS; FUZZ_ONLY=dns,tftp picks protocols.
import { fork, spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { fileURLToPath } from 'node:url'
import { runOne, TARGETS, type ChildMessage, type CrashKind, type CrashReport, type DecoderJob, type DecoderTotals } from './fuzz-decoders'
import { rngFor } from './fuzz-rng'
import type { SocketResult } from './fuzz-sockets'
import { PROTOCOLS, type Protocol } from './fuzz-target'

const HERE = dirname(fileURLToPath(import.meta.url))
const ROOT = dirname(HERE)
const RESULTS_DIR = join(HERE, 'results')
const RESULTS = join(RESULTS_DIR, 'fuzz.json')
const CRASH_DIR = join(RESULTS_DIR, 'fuzz-crashes')

const envNumber = (name: string, fallback: number): number => {
  const raw = process.env[name]
  if (raw === undefined || raw === '') return fallback
  const n = Number(raw)
  if (!Number.isFinite(n) || n < 0) throw new Error(`${name}=${raw} is not a non-negative number`)
  return n
}

const SETTINGS = {
  seed: process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) >>> 0 : randomBytes(4).readUInt32BE(0),
  packets: envNumber('FUZZ_PACKETS', 1_000_000),
  socketPackets: envNumber('FUZZ_SOCKET_PACKETS', 100_000),
  /** Wall-clock bound of the in-process phase (all protocols run at once). */
  decodeSeconds: envNumber('FUZZ_DECODE_SECONDS', 210),
  /** Wall-clock bound of sending, per protocol; the alive check comes after. */
  socketSeconds: envNumber('FUZZ_SOCKET_SECONDS', 35),
  /** One input running longer than this is a crash (a hang). */
  inputMs: envNumber('FUZZ_INPUT_MS', 250),
  /** One running longer than this is reported as slow: a finding, not a crash. */
  slowMs: envNumber('FUZZ_SLOW_MS', 50),
  /** A decoder child silent for this long is stuck in one input: killed, and that input is a hang. */
  hangMs: envNumber('FUZZ_HANG_MS', 10_000),
  protocols: (process.env.FUZZ_ONLY ?? PROTOCOLS.join(',')).split(',').map((s) => s.trim()).filter((p): p is Protocol => (PROTOCOLS as readonly string[]).includes(p))
}

const log = (line: string): void => {
  process.stderr.write(`${line}\n`)
}

/** Every process this run started and has not seen exit: stopped by PID on any way out. */
const children = new Set<ChildProcess>()
function killChild(child: ChildProcess): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return
  try {
    process.kill(child.pid, 'SIGKILL')
  } catch {
    // already gone
  }
}
/** Other things to undo on any way out (the namespace), newest first. */
const cleanups: Array<() => Promise<void>> = []
const track = (child: ChildProcess): ChildProcess => {
  children.add(child)
  child.once('exit', () => children.delete(child))
  return child
}

// ---------------------------------------------------------------- in-process phase

interface CrashRecord extends CrashReport {
  readonly protocol: Protocol
  readonly phase: 'decode' | 'socket'
  readonly replay: string
}

interface DecodeOutcome {
  readonly packets: number
  readonly decoded: number
  readonly crashes: number
  readonly invariantFailures: number
  readonly slowInputs: number
  readonly slowestMs: number
  readonly seconds: number
  readonly restarts: number
  readonly details: CrashRecord[]
}

const replayCommand = (protocol: Protocol, index: number): string => `FUZZ_SEED=${SETTINGS.seed} FUZZ_REPLAY=${protocol}:${index} npm run fuzz`

function inputOf(protocol: Protocol, index: number): Buffer {
  return TARGETS[protocol].generate(rngFor(SETTINGS.seed, protocol, index))
}

interface ChildRun {
  readonly last: DecoderTotals | null
  readonly done: boolean
  readonly crashes: CrashReport[]
  /** Why it ended without `done`: killed as hung, or died. */
  readonly failure: 'hang' | 'died' | null
  readonly exit: string
}

function runDecoderChild(job: DecoderJob): Promise<ChildRun> {
  return new Promise((resolve) => {
    const child = track(
      fork(join(HERE, 'fuzz-decoders.ts'), ['--child'], { cwd: ROOT, execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
    )
    const crashes: CrashReport[] = []
    let last: DecoderTotals | null = null
    let done = false
    let failure: 'hang' | 'died' | null = null
    let heard = performance.now()
    const watchdog = setInterval(() => {
      const silent = performance.now() - heard
      // The child stops itself at the deadline; past it by a minute something is wrong.
      if (silent > SETTINGS.hangMs || Date.now() > job.deadline + 60_000) {
        failure = 'hang'
        killChild(child)
      }
    }, 250)
    child.on('message', (m: ChildMessage) => {
      heard = performance.now()
      if (m.type === 'crash') crashes.push(m.crash)
      else last = m.totals
      if (m.type === 'done') done = true
    })
    child.once('spawn', () => child.send(job))
    child.once('exit', (code, signal) => {
      clearInterval(watchdog)
      if (!done && failure === null) failure = 'died'
      resolve({ last, done, crashes, failure, exit: signal ? `signal ${signal}` : `code ${code}` })
    })
  })
}

async function decodePhase(protocol: Protocol, deadline: number): Promise<DecodeOutcome> {
  const started = performance.now()
  const work = await mkdtemp(join(tmpdir(), 'crowbar-fuzz-'))
  const markerPath = join(work, `${protocol}.at`)
  const details: CrashRecord[] = []
  const seen = new Set<string>()
  const skip: number[] = []
  let packets = 0
  let decoded = 0
  let crashes = 0
  let invariantFailures = 0
  let slowInputs = 0
  let slowestMs = 0
  let restarts = 0
  let start = 0
  const keep = (c: CrashReport): void => {
    const key = `${c.kind}:${c.index}`
    if (seen.has(key)) return
    seen.add(key)
    details.push({ ...c, protocol, phase: 'decode', replay: replayCommand(protocol, c.index) })
  }
  try {
    while (start < SETTINGS.packets && Date.now() < deadline) {
      const run = await runDecoderChild({ protocol, seed: SETTINGS.seed, start, end: SETTINGS.packets, skip, deadline, inputMs: SETTINGS.inputMs, slowMs: SETTINGS.slowMs, markerPath })
      for (const c of run.crashes) keep(c)
      const t = run.last
      if (t) {
        packets += t.packets
        decoded += t.decoded
        crashes += t.crashes
        invariantFailures += t.invariantFailures
        slowInputs += t.slowInputs
        slowestMs = Math.max(slowestMs, t.slowestMs)
      }
      if (run.done || run.failure === null) break
      // The marker names the input the child was on when it stopped answering or died.
      const at = Number((await readFile(markerPath, 'utf8').catch(() => '')).trim())
      const index = Number.isInteger(at) && at >= 0 ? at : (t?.next ?? start)
      const kind: CrashKind = run.failure === 'hang' ? 'hang' : 'throw'
      const error = run.failure === 'hang' ? `no progress for ${SETTINGS.hangMs} ms: killed` : `the decoder process died (${run.exit})`
      const input = inputOf(protocol, index)
      crashes++
      packets++
      keep({ kind, index, error, stack: '', inputHex: input.toString('hex') })
      log(`  ${protocol}: input ${index} ${run.failure === 'hang' ? 'hung' : 'killed the process'}; restarting after it`)
      skip.push(index)
      // Inputs after the last progress report are run again: their counts were lost with the child.
      start = t?.next ?? start
      restarts++
    }
  } finally {
    await rm(work, { recursive: true, force: true })
  }
  return { packets, decoded, crashes, invariantFailures, slowInputs, slowestMs, seconds: (performance.now() - started) / 1000, restarts, details }
}

// ---------------------------------------------------------------- socket phase

async function run(file: string, args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = track(spawn(file, [...args], { stdio: ['ignore', 'pipe', 'pipe'] }))
    let stdout = ''
    let stderr = ''
    child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()))
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()))
    const timer = setTimeout(() => killChild(child), 15_000)
    child.once('error', (err) => {
      stderr += err.message
    })
    child.once('close', (code) => {
      clearTimeout(timer)
      resolve({ code: code ?? 1, stdout, stderr })
    })
  })
}

interface Namespace {
  readonly name: string
  stop(): Promise<void>
}

/** A network namespace with nothing but `lo`: every datagram of the socket phase stays in it. */
async function createNamespace(): Promise<Namespace | string> {
  if (process.getuid?.() !== 0) return 'not root: network namespaces need root'
  const name = `cbf-${randomBytes(3).toString('hex')}`
  const add = await run('ip', ['netns', 'add', name])
  if (add.code !== 0) return `ip netns add failed: ${add.stderr.trim()}`
  let stopped = false
  const stop = async (): Promise<void> => {
    if (stopped) return
    stopped = true
    // Anything still running in it (ours all are), by PID, then the namespace.
    const pids = await run('ip', ['netns', 'pids', name])
    for (const pid of pids.stdout.split(/\s+/).filter(Boolean).map(Number)) {
      try {
        if (pid > 0) process.kill(pid, 'SIGKILL')
      } catch {
        // gone
      }
    }
    await run('ip', ['netns', 'del', name])
  }
  cleanups.push(stop)
  const up = await run('ip', ['-n', name, 'link', 'set', 'lo', 'up'])
  if (up.code !== 0) {
    await stop()
    return `cannot bring lo up in ${name}: ${up.stderr.trim()}`
  }
  return { name, stop }
}

interface SocketOutcome {
  readonly result: SocketResult | null
  readonly error: string | null
}

function socketPhase(ns: Namespace, protocol: Protocol): Promise<SocketOutcome> {
  return new Promise((resolve) => {
    const args = ['netns', 'exec', ns.name, process.execPath, '--import', 'tsx', join(HERE, 'fuzz-sockets.ts'), protocol, String(SETTINGS.seed), String(SETTINGS.socketPackets), String(SETTINGS.socketSeconds)]
    // `ip netns exec` execs the command: this PID is the node process itself.
    const child = track(spawn('ip', args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] }))
    let out = ''
    let err = ''
    let result: SocketResult | null = null
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString()
      let nl: number
      while ((nl = out.indexOf('\n')) >= 0) {
        const line = out.slice(0, nl)
        out = out.slice(nl + 1)
        if (line.startsWith('FUZZ-RESULT ')) result = JSON.parse(line.slice('FUZZ-RESULT '.length)) as SocketResult
        else if (line.startsWith('FUZZ-PROGRESS ')) log(`  ${protocol} sockets: ${line.slice('FUZZ-PROGRESS '.length)} sent`)
      }
    })
    child.stderr?.on('data', (d: Buffer) => {
      err = (err + d.toString()).slice(-8000)
    })
    // Sending is bounded by socketSeconds; the alive checks and shutdown take well under a minute more.
    const timer = setTimeout(() => killChild(child), (SETTINGS.socketSeconds + 90) * 1000)
    child.once('close', (code, signal) => {
      clearTimeout(timer)
      resolve(result ? { result, error: null } : { result: null, error: `the ${protocol} socket phase ended (${signal ?? `code ${code}`}) without a result: ${err.trim().slice(-2000)}` })
    })
  })
}

// ---------------------------------------------------------------- replay, report, main

async function replay(spec: string): Promise<number> {
  const [protocol, indexText] = spec.split(':')
  if (!protocol || !(PROTOCOLS as readonly string[]).includes(protocol) || !indexText) throw new Error(`FUZZ_REPLAY=${spec}: expected dhcp|dns|tftp:INDEX`)
  const p = protocol as Protocol
  const input = inputOf(p, Number(indexText))
  process.stdout.write(`seed ${SETTINGS.seed}, ${p} input ${indexText}: ${input.length} bytes\n${input.toString('hex')}\n`)
  const t0 = performance.now()
  const outcome = runOne(TARGETS[p], input)
  const ms = performance.now() - t0
  if (outcome.err !== undefined) {
    process.stdout.write(`THREW after ${ms.toFixed(2)} ms: ${outcome.err instanceof Error ? (outcome.err.stack ?? outcome.err.message) : String(outcome.err)}\n`)
    return 1
  }
  process.stdout.write(`ok in ${ms.toFixed(2)} ms (${outcome.decoded ? 'decoded' : 'refused by the decoder'})\n`)
  return 0
}

interface ProtocolReport {
  packets: number
  crashes: number
  sockets_packets: number
  alive_after: boolean
  decoded: number
  invariant_failures: number
  slow_inputs: number
  slowest_input_ms: number
  decode_seconds: number
  decoder_restarts: number
  socket: Omit<SocketResult, 'protocol'> | { readonly skipped: string }
  crash_details: CrashRecord[]
}

async function main(): Promise<number> {
  if (process.env.FUZZ_REPLAY) return replay(process.env.FUZZ_REPLAY)
  const started = performance.now()
  log(`fuzz: seed ${SETTINGS.seed} (replay with FUZZ_SEED=${SETTINGS.seed}); ${SETTINGS.packets} inputs per decoder, ${SETTINGS.socketPackets} datagrams per server; protocols ${SETTINGS.protocols.join(', ')}`)
  await mkdir(CRASH_DIR, { recursive: true })

  log(`in-process phase: ${SETTINGS.protocols.length} decoder processes, at most ${SETTINGS.decodeSeconds} s`)
  const deadline = Date.now() + SETTINGS.decodeSeconds * 1000
  const decodeResults = await Promise.all(SETTINGS.protocols.map(async (p) => [p, await decodePhase(p, deadline)] as const))
  const decodes = new Map(decodeResults)
  for (const [p, d] of decodes) log(`  ${p}: ${d.packets} inputs in ${d.seconds.toFixed(1)} s, ${d.crashes} crashes, ${d.invariantFailures} invariant failures, ${d.slowInputs} slow`)

  const sockets = new Map<Protocol, SocketOutcome>()
  const ns = await createNamespace()
  let skipped: string | null = null
  if (typeof ns === 'string') {
    skipped = ns
    log(`socket phase skipped: ${ns}`)
  } else {
    try {
      log(`socket phase: namespace ${ns.name} (lo only), at most ${SETTINGS.socketSeconds} s of sending per server`)
      for (const p of SETTINGS.protocols) {
        const outcome = await socketPhase(ns, p)
        sockets.set(p, outcome)
        const r = outcome.result
        log(r ? `  ${p}: ${r.sent} datagrams in ${r.seconds.toFixed(1)} s, alive after: ${r.aliveAfter} (${r.aliveDetail})` : `  ${p}: ${outcome.error}`)
      }
    } finally {
      await ns.stop()
    }
  }

  const report: Record<string, unknown> = {
    seed: SETTINGS.seed,
    started_at: new Date(Date.now() - (performance.now() - started)).toISOString(),
    settings: {
      packets: SETTINGS.packets,
      socket_packets: SETTINGS.socketPackets,
      decode_seconds: SETTINGS.decodeSeconds,
      socket_seconds: SETTINGS.socketSeconds,
      input_ms: SETTINGS.inputMs,
      slow_ms: SETTINGS.slowMs,
      hang_ms: SETTINGS.hangMs
    }
  }
  let failed = false
  const lines: string[] = []
  for (const p of SETTINGS.protocols) {
    const d = decodes.get(p)
    const s = sockets.get(p)
    if (!d) continue
    const details = [...d.details]
    let socketCrashes = 0
    if (s?.result) {
      socketCrashes = s.result.caughtExceptions
      for (const [i, example] of s.result.caughtExceptionExamples.entries()) {
        details.push({ protocol: p, phase: 'socket', kind: 'throw', index: i, error: example.split('\n')[0] ?? example, stack: example, inputHex: '', replay: `FUZZ_SEED=${SETTINGS.seed} FUZZ_ONLY=${p} npm run fuzz` })
      }
    } else if (s) {
      socketCrashes = 1
      details.push({ protocol: p, phase: 'socket', kind: 'throw', index: -1, error: s.error ?? 'no result', stack: '', inputHex: '', replay: `FUZZ_SEED=${SETTINGS.seed} FUZZ_ONLY=${p} npm run fuzz` })
    }
    for (const c of details) {
      if (c.inputHex) await writeFile(join(CRASH_DIR, `${p}-${c.kind}-${c.index}.bin`), Buffer.from(c.inputHex, 'hex'))
    }
    const { protocol: _protocol, ...socket } = s?.result ?? { protocol: p }
    const entry: ProtocolReport = {
      packets: d.packets,
      crashes: d.crashes + socketCrashes,
      sockets_packets: s?.result?.sent ?? 0,
      alive_after: s?.result?.aliveAfter ?? false,
      decoded: d.decoded,
      invariant_failures: d.invariantFailures + (s?.result?.badReplies ?? 0),
      slow_inputs: d.slowInputs,
      slowest_input_ms: Number(d.slowestMs.toFixed(2)),
      decode_seconds: Number(d.seconds.toFixed(1)),
      decoder_restarts: d.restarts,
      socket: s?.result ? (socket as Omit<SocketResult, 'protocol'>) : { skipped: skipped ?? s?.error ?? 'not run' },
      crash_details: details
    }
    report[p] = entry
    if (entry.crashes > 0 || !entry.alive_after) failed = true
    lines.push(
      `${p.toUpperCase().padEnd(4)} in-process ${entry.packets} inputs (${entry.decoded} decoded), ${entry.crashes} crashes, ${entry.invariant_failures} invariant failures, ${entry.slow_inputs} inputs over ${SETTINGS.slowMs} ms (slowest ${entry.slowest_input_ms} ms)`,
      `     sockets   ${entry.sockets_packets} datagrams${s?.result ? ` in ${s.result.seconds.toFixed(1)} s, ${s.result.replies} replies, ${s.result.kernelDrops} dropped by the kernel, ${s.result.caughtExceptions} exceptions caught by the server, event loop blocked at most ${s.result.maxLoopStallMs} ms (generating one input: ${s.result.slowestGenerateMs} ms)` : ''}, alive after: ${entry.alive_after}${s?.result ? ` (${s.result.aliveDetail})` : ` (${skipped ?? s?.error ?? 'not run'})`}`
    )
    for (const c of details.slice(0, 5)) lines.push(`     ${c.phase} ${c.kind} #${c.index}: ${c.error.split('\n')[0]}${c.inputHex ? `  [${c.replay}]` : ''}`)
  }
  const seconds = (performance.now() - started) / 1000
  report.seconds = Number(seconds.toFixed(1))
  await writeFile(RESULTS, `${JSON.stringify(report, null, 2)}\n`)
  process.stdout.write(
    [`fuzz: seed ${SETTINGS.seed}, ${seconds.toFixed(0)} s`, ...lines, `wrote ${RESULTS}${failed ? '; FAILED: crashes or a server not alive after' : ''}`, ''].join('\n')
  )
  return failed ? 1 : 0
}

let exiting = false
async function exitWith(code: number): Promise<void> {
  if (exiting) return
  exiting = true
  for (const child of children) killChild(child)
  for (const undo of cleanups.reverse()) await undo().catch((err: unknown) => log(`cleanup failed: ${String(err)}`))
  process.exit(code)
}
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    log(`fuzz: ${signal}: stopping children`)
    void exitWith(130)
  })
}

main().then(
  (code) => exitWith(code),
  (err: unknown) => {
    log(`fuzz failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`)
    return exitWith(2)
  }
)
