// The annealer: wakes on changes (commits, job completions, node changes), claims runnable
// noderoles within the limits (one running job per node, at most `maxJobs` overall), runs each
// through its jig, and writes the results back in batches. Event-driven: no busy poll.
import { randomUUID } from 'node:crypto'
import { mergeLayers, parseStringArray } from '../domain/attributes'
import type { DomainContext } from '../domain/context'
import { runInputs, type RunInput } from '../domain/noderoles'
import { updateNode } from '../domain/nodes'
import { waitingCounts } from '../domain/noderole-waiting'
import { messageOf } from '../base/error-message'
import type { Logger } from '../base/log'
import type { Jig, JigOutcome, JigRun, JigTarget } from '../jigs/jig'
import type { WaitingReason } from '../model'
import { JobQueue, type ClaimedJob, type Completion } from './job-queue'
import type { PeerChannel } from '../store/peer-channel'
import { readSetting, SETTING, writeSettings } from '../store/settings'

export const DEFAULT_MAX_JOBS = 10
const HEARTBEAT_MS = 10_000
/**
 * On PostgreSQL other worker processes commit and finish work this process's feed hears nothing
 * of: they signal it (LISTEN/NOTIFY), and a slow look at the queue covers a signal lost while the
 * listening connection was down. (SQLite has one process: its feed sees every change.)
 */
const PEER_POLL_MS = 5_000
/** Signals to peers are coalesced: at most one per this many ms however many changes commit. */
const PEER_SIGNAL_MS = 20
/** On PostgreSQL a running job whose worker has not beaten for this long is an orphan. */
const STALE_AFTER_MS = 60_000

export interface AnnealerOptions {
  readonly ctx: DomainContext
  readonly jigs: readonly Jig[]
  readonly logger: Logger
  /** Where the jigs reach a node; the network barclamp supplies admin addresses. */
  readonly addressesOf?: (nodeId: number) => Promise<string[]>
  readonly runTimeoutMs?: number
  /** This process's own cap, below the shared limit (several workers on PostgreSQL share the work). */
  readonly localLimit?: number
  /** PostgreSQL: the other processes sharing the queue (the store's peer channel). */
  readonly peers?: PeerChannel | undefined
  /** How often to look at the queue for peers' work regardless (0: never; default 5 s). */
  readonly peerPollMs?: number
}

export interface AnnealerStatus {
  readonly max_jobs: number
  readonly running: number
  readonly queued: number
  readonly waiting: Record<WaitingReason, number>
}

export class Annealer {
  private readonly queue: JobQueue
  private readonly jigs: Map<string, Jig>
  private readonly workerId = `worker-${randomUUID()}`
  private readonly inFlight = new Map<number, { job: ClaimedJob; abort: AbortController; done: Promise<void> }>()
  private finished: Completion[] = []
  private maxJobs = DEFAULT_MAX_JOBS
  private running = false
  private pumping = false
  private again = false
  private flushing: Promise<void> | undefined
  private unsubscribe: (() => void) | undefined
  private heartbeat: NodeJS.Timeout | undefined
  private peerPoll: NodeJS.Timeout | undefined
  private stopListening: (() => Promise<void>) | undefined
  private signalTimer: NodeJS.Timeout | undefined
  private idleWaiters: Array<() => void> = []

  constructor(private readonly options: AnnealerOptions) {
    this.jigs = new Map(options.jigs.map((j) => [j.name, j]))
    this.queue = new JobQueue(options.ctx, this.workerId, [...this.jigs.keys()])
  }

  get limit(): number {
    return this.maxJobs
  }

  async start(): Promise<void> {
    if (this.running) return
    const ctx = this.options.ctx
    const saved = await readSetting(ctx.db, SETTING.maxJobs)
    if (saved && /^\d+$/.test(saved) && Number(saved) > 0) this.maxJobs = Number(saved)
    const stale = ctx.kind === 'postgres' ? new Date(ctx.clock().getTime() - STALE_AFTER_MS) : null
    const requeued = await this.queue.recover(stale)
    if (requeued > 0) this.options.logger.warn({ requeued }, 're-queued runs left unfinished by a stopped worker')
    this.running = true
    this.unsubscribe = ctx.feed.subscribe((event) => {
      // Our own transition writes need no wake-up; everything else may make work runnable.
      if (event.kind === 'noderole' && event.state === 'transition') return
      this.wake()
      this.signalPeers()
    })
    this.heartbeat = setInterval(() => {
      this.queue.heartbeat().catch((err: unknown) => this.options.logger.error({ err }, 'heartbeat failed'))
    }, HEARTBEAT_MS)
    this.heartbeat.unref()
    const peers = this.options.peers
    if (peers) {
      try {
        this.stopListening = await peers.listen(
          () => this.wake(),
          (err) => this.options.logger.warn({ err }, 'lost the connection that hears other workers; looking at the queue every few seconds')
        )
      } catch (err) {
        this.options.logger.warn({ err }, 'cannot listen for other workers; looking at the queue every few seconds')
      }
    }
    const pollMs = this.options.peerPollMs ?? PEER_POLL_MS
    if (ctx.kind === 'postgres' && pollMs > 0) {
      this.peerPoll = setInterval(() => this.wake(), pollMs)
      this.peerPoll.unref()
    }
    this.wake()
  }

  /** Tells the other workers that work may be runnable, at most once per PEER_SIGNAL_MS. */
  private signalPeers(): void {
    const peers = this.options.peers
    if (!peers || this.signalTimer) return
    this.signalTimer = setTimeout(() => {
      this.signalTimer = undefined
      if (!this.running) return
      peers.signal().catch((err: unknown) => this.options.logger.warn({ err }, 'cannot signal the other workers'))
    }, PEER_SIGNAL_MS)
    this.signalTimer.unref()
  }

  /** Stops claiming, aborts runs in flight (they are re-queued on the next start), writes what finished. */
  async stop(): Promise<void> {
    if (!this.running) return
    this.running = false
    this.unsubscribe?.()
    clearInterval(this.heartbeat)
    clearInterval(this.peerPoll)
    clearTimeout(this.signalTimer)
    this.signalTimer = undefined
    await this.stopListening?.()
    this.stopListening = undefined
    for (const f of this.inFlight.values()) f.abort.abort()
    // A jig that ignores its abort signal must not hold shutdown: its job is re-queued on restart.
    const settled = Promise.all([...this.inFlight.values()].map((f) => f.done))
    await Promise.race([settled, new Promise((resolve) => setTimeout(resolve, 10_000).unref())])
    await this.flushing
    this.resolveIdle()
  }

  async setMaxJobs(n: number): Promise<void> {
    this.maxJobs = n
    const ctx = this.options.ctx
    await writeSettings(ctx.db, { [SETTING.maxJobs]: String(n) })
    this.wake()
  }

  async status(): Promise<AnnealerStatus> {
    const rows = await this.options.ctx.db
      .selectFrom('jobs')
      .select(['state', (eb) => eb.fn.countAll().as('n')])
      .where('state', 'in', ['queued', 'running'])
      .groupBy('state')
      .execute()
    const count = (s: string) => Number(rows.find((r) => r.state === s)?.n ?? 0)
    // The jigs this annealer runs are the installation's active ones.
    const waiting = await waitingCounts(this.options.ctx.db, new Set(this.jigs.keys()))
    return { max_jobs: this.maxJobs, running: count('running'), queued: count('queued'), waiting }
  }

  /** Resolves once nothing is running and the last pump found nothing to claim. */
  idle(): Promise<void> {
    if (!this.running || (this.inFlight.size === 0 && !this.pumping && !this.flushing)) return Promise.resolve()
    return new Promise((resolve) => this.idleWaiters.push(resolve))
  }

  wake(): void {
    if (!this.running) return
    if (this.pumping) {
      this.again = true
      return
    }
    this.pumping = true
    setImmediate(() => void this.pump())
  }

  private async pump(): Promise<void> {
    try {
      do {
        this.again = false
        const room = Math.min(this.maxJobs, this.options.localLimit ?? Infinity) - this.inFlight.size
        if (!this.running || room <= 0) break
        const claimed = await this.queue.claim(room, this.maxJobs)
        const inputs = await runInputs(this.options.ctx.db, claimed.map((c) => c.noderoleId))
        for (const job of claimed) this.launch(job, inputs.get(job.noderoleId))
        if (claimed.length > 0) this.again = true
      } while (this.again && this.running)
    } catch (err) {
      this.options.logger.error({ err }, 'claiming runnable noderoles failed; retrying on the next change')
    } finally {
      this.pumping = false
      this.checkIdle()
    }
  }

  private launch(job: ClaimedJob, input: RunInput | undefined): void {
    const abort = new AbortController()
    const done = this.execute(job, input, abort)
      .then((outcome) => this.record(job, outcome))
      .catch((err: unknown) => this.record(job, { ok: false, log: `the jig crashed: ${messageOf(err)}` }))
    this.inFlight.set(job.jobId, { job, abort, done })
  }

  private async execute(job: ClaimedJob, row: RunInput | undefined, abort: AbortController): Promise<JigOutcome> {
    const signal = abort.signal
    if (!row) return { ok: false, log: 'the noderole was deleted before its run started' }
    const jig = this.jigs.get(row.jig)
    if (!jig) return { ok: false, log: `the ${row.jig} jig is not active on this installation` }
    const target: JigTarget = { nodeId: job.nodeId, name: row.node, addresses: (await this.options.addressesOf?.(job.nodeId)) ?? [] }
    const run: JigRun = {
      noderoleId: job.noderoleId,
      role: { name: row.role, scripts: parseStringArray(row.scripts) },
      node: target,
      attributes: mergeLayers(row.layers),
      signal
    }
    const limit = this.options.runTimeoutMs ?? 60 * 60_000
    const timeout = setTimeout(() => abort.abort(), limit)
    try {
      const outcome = await jig.run(run)
      if (signal.aborted && this.running) return { ok: false, log: `${outcome.log}\nthe run took longer than ${limit} ms and was stopped`.trim() }
      return outcome
    } finally {
      clearTimeout(timeout)
    }
  }

  private async record(job: ClaimedJob, outcome: JigOutcome): Promise<void> {
    if (!this.running) {
      // Stopping: the run was aborted; leave its job running so the next start re-queues it.
      this.inFlight.delete(job.jobId)
      return
    }
    if (!outcome.ok && outcome.nodeUnreachable) {
      // The aliveness test failed: the node is dead, and its noderoles wait for it to come back.
      await updateNode(this.options.ctx, job.nodeId, { alive: false }).catch((err: unknown) =>
        this.options.logger.error({ err, node: job.nodeId }, 'marking the node dead failed')
      )
    }
    this.finished.push({ job, result: outcome })
    this.scheduleFlush()
  }

  private scheduleFlush(): void {
    if (this.flushing) return
    this.flushing = new Promise<void>((resolve) => setImmediate(resolve)).then(() => this.flush())
  }

  private async flush(): Promise<void> {
    try {
      while (this.finished.length > 0) {
        const batch = this.finished
        this.finished = []
        try {
          await this.queue.complete(batch)
        } catch (err) {
          this.options.logger.error({ err, jobs: batch.map((b) => b.job.jobId) }, 'writing run results failed; they are re-run after restart')
        }
        for (const c of batch) this.inFlight.delete(c.job.jobId)
      }
    } finally {
      this.flushing = undefined
    }
    this.wake()
    this.checkIdle()
  }

  private checkIdle(): void {
    if (this.inFlight.size === 0 && !this.pumping && !this.flushing && this.finished.length === 0) this.resolveIdle()
  }

  private resolveIdle(): void {
    const waiters = this.idleWaiters
    this.idleWaiters = []
    for (const w of waiters) w()
  }
}
