// npm run fuzz, in-process phase: one child process per protocol runs inputs `start`.. through the
// decoder and policy, writes the number of the input it is on to a file before each one (so a
// watchdog that kills it for a hang knows which input hung), and reports crashes and totals to its
// parent over IPC. Started by fuzz.ts; `tsx bench/fuzz-decoders.ts` alone does nothing.
import { closeSync, openSync, writeSync } from 'node:fs'
import { performance } from 'node:perf_hooks'
import { rngFor } from './fuzz-rng'
import { InvariantFailure, type FuzzTarget, type Protocol } from './fuzz-target'
import { dhcpTarget } from './fuzz-dhcp'
import { dnsTarget } from './fuzz-dns'
import { tftpTarget } from './fuzz-tftp'

export const TARGETS: Readonly<Record<Protocol, FuzzTarget>> = { dhcp: dhcpTarget, dns: dnsTarget, tftp: tftpTarget }

/** What the parent tells a child to do. */
export interface DecoderJob {
  readonly protocol: Protocol
  readonly seed: number
  readonly start: number
  /** Input numbers start .. end-1. */
  readonly end: number
  /** Input numbers to pass over: ones that already hung. */
  readonly skip: readonly number[]
  /** Wall-clock end of the phase (Date.now() milliseconds): stop there, counts or not. */
  readonly deadline: number
  /** One input taking longer than this is a crash (a hang the watchdog did not need to kill). */
  readonly inputMs: number
  /** One taking longer than this is reported as slow: a finding, not a crash. */
  readonly slowMs: number
  /** The file the current input number is written to. */
  readonly markerPath: string
}

/** throw and hang are crashes; slow and invariant are findings, counted apart. */
export type CrashKind = 'throw' | 'hang' | 'slow' | 'invariant'

export interface CrashReport {
  readonly kind: CrashKind
  readonly index: number
  readonly error: string
  readonly stack: string
  readonly inputHex: string
}

export interface DecoderTotals {
  /** Next input number to run: everything before it (not skipped) is counted below. */
  readonly next: number
  readonly packets: number
  readonly decoded: number
  readonly crashes: number
  readonly invariantFailures: number
  readonly slowInputs: number
  readonly slowestMs: number
}

export type ChildMessage =
  | { readonly type: 'crash'; readonly crash: CrashReport }
  | { readonly type: 'progress'; readonly totals: DecoderTotals }
  | { readonly type: 'done'; readonly totals: DecoderTotals }

/** Examples sent per distinct error: the rest are only counted. */
const EXAMPLES_PER_SIGNATURE = 3
const PROGRESS_EVERY_MS = 500

export function signatureOf(kind: CrashKind, err: unknown): string {
  if (!(err instanceof Error)) return `${kind}: ${String(err)}`
  const frame = (err.stack ?? '').split('\n').find((l) => l.trim().startsWith('at ')) ?? ''
  // Numbers in messages (lengths, offsets) differ per input; the place and the words do not.
  return `${kind}: ${err.name}: ${err.message.replace(/\d+/g, 'N')} ${frame.trim()}`
}

/** Runs one input: the outcome, or the error it threw. */
export function runOne(target: FuzzTarget, input: Buffer): { decoded: boolean; serverMs?: number; err?: unknown } {
  try {
    return target.run(input)
  } catch (err) {
    return { decoded: false, err }
  }
}

async function work(job: DecoderJob, send: (m: ChildMessage) => void): Promise<DecoderTotals> {
  const target = TARGETS[job.protocol]
  const skip = new Set(job.skip)
  const seen = new Map<string, number>()
  const marker = openSync(job.markerPath, 'w')
  const digits = Buffer.alloc(16, 0x20)
  let packets = 0
  let decoded = 0
  let crashes = 0
  let invariantFailures = 0
  let slowInputs = 0
  let slowestMs = 0
  let lastProgress = performance.now()
  let i = job.start
  const totals = (): DecoderTotals => ({ next: i, packets, decoded, crashes, invariantFailures, slowInputs, slowestMs })
  const report = (kind: CrashKind, err: unknown, input: Buffer): void => {
    if (kind === 'invariant') invariantFailures++
    else if (kind === 'slow') slowInputs++
    else crashes++
    const sig = signatureOf(kind, err)
    const n = (seen.get(sig) ?? 0) + 1
    seen.set(sig, n)
    if (n > EXAMPLES_PER_SIGNATURE) return
    const e = err instanceof Error ? err : new Error(String(err))
    send({ type: 'crash', crash: { kind, index: i, error: `${e.name}: ${e.message}`, stack: e.stack ?? '', inputHex: input.toString('hex') } })
  }
  try {
    for (; i < job.end; i++) {
      if ((i & 1023) === 0) {
        const now = performance.now()
        if (Date.now() >= job.deadline) break
        if (now - lastProgress >= PROGRESS_EVERY_MS) {
          lastProgress = now
          send({ type: 'progress', totals: totals() })
          // Let the IPC channel flush, so the watchdog hears from us while we are well.
          await new Promise((resolve) => setImmediate(resolve))
        }
      }
      if (skip.has(i)) continue
      digits.fill(0x20)
      digits.write(String(i))
      writeSync(marker, digits, 0, digits.length, 0)
      const input = target.generate(rngFor(job.seed, job.protocol, i))
      const t0 = performance.now()
      const outcome = runOne(target, input)
      let ms = outcome.serverMs ?? performance.now() - t0
      if (ms > job.slowMs && outcome.err === undefined) {
        // Once more before judging it, also on this process's CPU clock (which counts the checks
        // too): a GC pause or other processes on a busy machine are not the input's doing.
        const cpu = process.cpuUsage()
        const t1 = performance.now()
        const again = runOne(target, input)
        const wall = again.serverMs ?? performance.now() - t1
        const used = process.cpuUsage(cpu)
        ms = Math.min(ms, wall, (used.user + used.system) / 1000)
      }
      packets++
      if (outcome.decoded) decoded++
      // An input that threw is reported as such; its time includes checks cut short, so it is not judged.
      if (outcome.err === undefined && ms > slowestMs) slowestMs = ms
      if (outcome.err !== undefined) report(outcome.err instanceof InvariantFailure ? 'invariant' : 'throw', outcome.err, input)
      else if (ms > job.inputMs) report('hang', new Error(`one input took ${ms.toFixed(1)} ms (bound ${job.inputMs} ms)`), input)
      else if (ms > job.slowMs) report('slow', new Error(`one input took ${ms.toFixed(1)} ms (over ${job.slowMs} ms)`), input)
    }
  } finally {
    closeSync(marker)
  }
  return totals()
}

if (process.send && process.argv[2] === '--child') {
  process.once('message', (job: DecoderJob) => {
    void work(job, (m) => process.send?.(m)).then((totals) => {
      // Disconnect only once the last message is written: the parent counts on it.
      const done: ChildMessage = { type: 'done', totals }
      process.send?.(done, undefined, {}, () => process.disconnect())
    })
  })
}
