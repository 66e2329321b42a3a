// What the DHCP reservations last read for each MAC, known or not, bounded in entries and in time:
// every MAC on the wire gets an entry, and a flood of random MACs (800,000 in a probe) must not
// grow memory with it. Entries leave oldest first; one TTL for all, so insertion order is expiry
// order and both eviction and expiry are O(1) per lookup.
import type { ClientBinding } from '../../services/dhcp/dhcp-policy'

export interface ReservationCacheLimits {
  /** Most MACs remembered; default 4,096 (a few hundred KB), well above a rack's NICs. */
  readonly maxEntries?: number
  /** How long an answer is reused; default 60 s. Node events clear the cache sooner. */
  readonly ttlMs?: number
  /** Monotonic milliseconds. */
  readonly now?: () => number
}

export class ReservationCache {
  private readonly entries = new Map<string, { readonly binding: ClientBinding | null; readonly expiresAt: number }>()
  private readonly maxEntries: number
  private readonly ttlMs: number
  private readonly now: () => number

  constructor(limits: ReservationCacheLimits = {}) {
    this.maxEntries = Math.max(1, limits.maxEntries ?? 4096)
    this.ttlMs = limits.ttlMs ?? 60_000
    this.now = limits.now ?? (() => performance.now())
  }

  get size(): number {
    return this.entries.size
  }

  /** The cached answer (null: not a known node's MAC), or undefined when there is none fresh. */
  get(mac: string): ClientBinding | null | undefined {
    const entry = this.entries.get(mac)
    if (!entry) return undefined
    if (entry.expiresAt <= this.now()) {
      this.entries.delete(mac)
      return undefined
    }
    return entry.binding
  }

  set(mac: string, binding: ClientBinding | null): void {
    const now = this.now()
    this.entries.delete(mac)
    // Oldest first: the expired ones, then as many as it takes to make room.
    for (const [key, entry] of this.entries) {
      if (entry.expiresAt > now && this.entries.size < this.maxEntries) break
      this.entries.delete(key)
    }
    this.entries.set(mac, { binding, expiresAt: now + this.ttlMs })
  }

  clear(): void {
    this.entries.clear()
  }
}
