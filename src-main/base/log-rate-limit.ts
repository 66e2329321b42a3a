// Log lines for events that can arrive by the thousand (packets refused under a flood or a fuzz):
// the first of each kind in an interval is logged as it comes, the rest are only counted, and one
// line sums the interval up ("refused 64,623 packets in the last 10 s: 60,000 not for us, ...").
// Memory is one counter per kind, and the number of kinds is capped.
import type { Logger } from './log'

export type RateLimitedLevel = 'debug' | 'info' | 'warn' | 'error'

export interface LogRateLimitOptions {
  /** The summary's wording: `${verb} 64,623 ${noun} in the last 10 s: ...`. */
  readonly verb: string
  readonly noun: string
  /** Default 10 s. */
  readonly intervalMs?: number
  /** Kinds counted apart per interval; later ones are counted as "other". Default 32. */
  readonly maxKinds?: number
  /** Monotonic milliseconds, for the summary's "in the last N s". */
  readonly now?: () => number
}

const LEVEL_RANK: Record<RateLimitedLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 }
const OTHER = 'other'

const count = (n: number): string => n.toLocaleString('en-US')

export class LogRateLimit {
  private readonly intervalMs: number
  private readonly maxKinds: number
  private readonly now: () => number
  private readonly counts = new Map<string, number>()
  private windowStart = 0
  private total = 0
  /** Lines logged one by one in this interval (the first of each kind). */
  private examples = 0
  /** The highest level noted this interval; the summary uses it, never below info. */
  private level: RateLimitedLevel = 'info'
  private timer: NodeJS.Timeout | undefined

  constructor(
    private readonly logger: Logger,
    private readonly options: LogRateLimitOptions
  ) {
    this.intervalMs = options.intervalMs ?? 10_000
    this.maxKinds = options.maxKinds ?? 32
    this.now = options.now ?? (() => performance.now())
  }

  /**
   * One event of `kind`. Logged at once (`fields`, `msg`, `level`) when it is the first of its
   * kind in this interval; otherwise only counted for the summary.
   */
  note(kind: string, level: RateLimitedLevel, fields: Record<string, unknown>, msg: string): void {
    if (this.total === 0) this.open()
    const key = this.counts.has(kind) || this.counts.size < this.maxKinds ? kind : OTHER
    const seen = this.counts.get(key) ?? 0
    this.counts.set(key, seen + 1)
    this.total++
    if (LEVEL_RANK[level] > LEVEL_RANK[this.level]) this.level = level
    if (seen === 0 && key !== OTHER) {
      this.examples++
      this.logger[level](fields, msg)
    }
  }

  /** Ends the interval now: logs its summary if anything went uncounted in the log. */
  flush(): void {
    if (this.timer) clearTimeout(this.timer)
    this.timer = undefined
    if (this.total > this.examples) {
      const seconds = Math.max(1, Math.round((this.now() - this.windowStart) / 1000))
      const byCount = [...this.counts].sort((a, b) => b[1] - a[1])
      const list = byCount.map(([kind, n]) => `${count(n)} ${kind}`).join(', ')
      this.logger[this.level](
        { counts: Object.fromEntries(byCount), total: this.total },
        `${this.options.verb} ${count(this.total)} ${this.options.noun} in the last ${seconds} s: ${list}`
      )
    }
    this.counts.clear()
    this.total = 0
    this.examples = 0
    this.level = 'info'
  }

  /** Logs what is pending and stops the timer; the limiter may be used again after. */
  dispose(): void {
    this.flush()
  }

  private open(): void {
    this.windowStart = this.now()
    this.timer = setTimeout(() => this.flush(), this.intervalMs)
    // A pending summary never keeps the process alive.
    this.timer.unref()
  }
}
