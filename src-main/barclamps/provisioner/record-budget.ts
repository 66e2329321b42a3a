// The boot flight recorder's budget (DESIGN.md §6.2: the recorder must never slow a boot): token
// buckets per MAC and overall. A real machine's boot sends a few events a second with bursts of
// tens (iPXE fetching its script, kernel and initrd); a flood (perfdhcp, a looping client, random
// MACs) is recorded up to the budget and counted past it, so the store's writes, which share the
// DHCP server's connection, stay a small part of its time.
export interface RecordBudgetOptions {
  /** Sustained items a second one MAC may record. */
  readonly perMacPerSecond: number
  /** Items one MAC may record at once before the sustained rate applies. */
  readonly perMacBurst: number
  /** Sustained items a second all MACs together may record. */
  readonly totalPerSecond: number
  readonly totalBurst: number
  /** Milliseconds since some epoch (tests step it). */
  readonly now?: () => number
}

interface Bucket {
  tokens: number
  at: number
  /** Items refused since the last one admitted. */
  refused: number
}

/** MACs whose buckets are kept; the least recently seen is forgotten first (it starts full again). */
const MAX_BUCKETS = 16_384

export class RecordBudget {
  private readonly buckets = new Map<string, Bucket>()
  private readonly total: Bucket
  private refusedOverall = 0
  private readonly now: () => number

  constructor(private readonly options: RecordBudgetOptions) {
    this.now = options.now ?? (() => performance.now())
    this.total = { tokens: options.totalBurst, at: this.now(), refused: 0 }
  }

  /**
   * Whether one more item of this MAC may be recorded. When it may after some were refused,
   * `refusedBefore` says how many (the recorder notes them on the MAC's timeline).
   */
  admit(mac: string): { readonly admitted: boolean; readonly refusedBefore: number } {
    const t = this.now()
    let bucket = this.buckets.get(mac)
    if (bucket) {
      this.buckets.delete(mac)
    } else {
      bucket = { tokens: this.options.perMacBurst, at: t, refused: 0 }
      if (this.buckets.size >= MAX_BUCKETS) {
        const oldest = this.buckets.keys().next().value
        if (oldest !== undefined) this.buckets.delete(oldest)
      }
    }
    this.buckets.set(mac, bucket)
    refill(bucket, t, this.options.perMacPerSecond, this.options.perMacBurst)
    refill(this.total, t, this.options.totalPerSecond, this.options.totalBurst)
    if (bucket.tokens < 1 || this.total.tokens < 1) {
      bucket.refused++
      this.refusedOverall++
      return { admitted: false, refusedBefore: 0 }
    }
    bucket.tokens--
    this.total.tokens--
    const refusedBefore = bucket.refused
    bucket.refused = 0
    return { admitted: true, refusedBefore }
  }

  /** Items refused since the last call (for a periodic log line). */
  takeRefused(): number {
    const n = this.refusedOverall
    this.refusedOverall = 0
    return n
  }
}

function refill(b: Bucket, t: number, perSecond: number, burst: number): void {
  if (t > b.at) {
    b.tokens = Math.min(burst, b.tokens + ((t - b.at) / 1000) * perSecond)
    b.at = t
  }
}

/**
 * The events' budget: a PXE boot's densest second is a few tens of events, and 40 machines booting
 * together average a few hundred a second, under the overall rate. bench:boot's 100-MAC flood on
 * two cores costs our DHCP 35 % of its rate at 4,000 a second and 16 % at 500 (the store's work
 * competes for the CPU with the leases'), so the overall rate is 500.
 */
export const EVENT_BUDGET: Omit<RecordBudgetOptions, 'now'> = { perMacPerSecond: 20, perMacBurst: 100, totalPerSecond: 500, totalBurst: 2000 }
/**
 * The packets' budget: a TFTP transfer keeps at most a few tens, an HTTP request about six, a DHCP
 * exchange four, so a boot's burst fits; 40 machines booting at once keep about 250 a second. Frames
 * cost several times an event to build and store (measured with bench:boot's recorder section), so
 * the sustained rates are lower than the events'.
 */
export const PACKET_BUDGET: Omit<RecordBudgetOptions, 'now'> = { perMacPerSecond: 8, perMacBurst: 200, totalPerSecond: 200, totalBurst: 1000 }

/**
 * How often the recorders write, and how many buffered items make them write at once. Each write is
 * a transaction on the store's connection, which the DHCP server's leases share: under a flood, few
 * large writes cost its answers far less than many small ones (bench:boot's recorder section).
 */
export const FLUSH_MS = 1000
export const BATCH_SIZE = 5000
