// What the DHCP reservations last read for each MAC, known or not, bounded in entries and in time:
// every MAC on the wire gets an entry, and a flood of random MACs (800,000 in a probe) must not
// grow memory with it. Two generations of half the bound each: new answers go to the young one,
// and when it is full it becomes the old one and the old one is dropped whole. O(1) per lookup;
// evicting one entry at a time from the front of a Map instead walks its deleted slots, which cost
// 8 µs a lookup at 4,096 entries.
import type { ClientBinding } from '../../services/dhcp/dhcp-policy'

export interface ReservationCacheLimits {
  /** Most MACs remembered; default 4,096 (a few hundred KB), well above a rack's NICs. */
  readonly maxEntries?: number
  /** How long an answer is reused; default 60 s. Node events clear the cache sooner. */
  readonly ttlMs?: number
  /** Monotonic milliseconds. */
  readonly now?: () => number
}

type Generation = Map<string, { readonly binding: ClientBinding | null; readonly expiresAt: number }>

export class ReservationCache {
  private young: Generation = new Map()
  private old: Generation = new Map()
  private readonly generationSize: number
  private readonly ttlMs: number
  private readonly now: () => number

  constructor(limits: ReservationCacheLimits = {}) {
    this.generationSize = Math.max(1, Math.floor((limits.maxEntries ?? 4096) / 2))
    this.ttlMs = limits.ttlMs ?? 60_000
    this.now = limits.now ?? (() => performance.now())
  }

  get size(): number {
    return this.young.size + this.old.size
  }

  /** The cached answer (null: not a known node's MAC), or undefined when there is none fresh. */
  get(mac: string): ClientBinding | null | undefined {
    const entry = this.young.get(mac) ?? this.old.get(mac)
    if (!entry) return undefined
    if (entry.expiresAt <= this.now()) {
      this.young.delete(mac)
      this.old.delete(mac)
      return undefined
    }
    return entry.binding
  }

  set(mac: string, binding: ClientBinding | null): void {
    this.old.delete(mac)
    if (!this.young.has(mac) && this.young.size >= this.generationSize) {
      this.old = this.young
      this.young = new Map()
    }
    this.young.set(mac, { binding, expiresAt: this.now() + this.ttlMs })
  }

  clear(): void {
    this.young = new Map()
    this.old = new Map()
  }
}
