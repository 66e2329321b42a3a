// The DHCP server's memory of clients: reservations of known nodes (asked of a ReservationSource),
// leases from the dhcp range, short-lived offers, and addresses held back after a DECLINE. Leases
// and holds live in memory for speed and in a LeaseStore for restarts: each ACK's lease is written
// (group-committed with the others in flight) before the ACK goes out. Offers stay in memory: a
// client that loses one asks again. Every map here is bounded by the pool's size, not by how many
// MACs ask. The server owns both interfaces; the DHCP database role implements them over the store.
import { formatAddress, parseAddress } from '../../base/ip-address'
import type { ClientBinding } from './dhcp-policy'

export interface LeasePool {
  readonly first: string
  readonly last: string
}

export interface Lease {
  readonly address: string
  readonly hostname: string | null
  /** Milliseconds since the epoch. */
  readonly expiresAt: number
}

export type LeaseWrite =
  /**
   * `movedFrom`: the address was held by another MAC (its lease expired) or by an ended DECLINE
   * hold: that row goes first.
   */
  | { readonly kind: 'upsert'; readonly mac: string; readonly lease: Lease; readonly movedFrom: boolean }
  | { readonly kind: 'delete'; readonly mac: string; readonly address: string }
  /** A client declined `address`: whatever lease holds it goes, and it is held back until `until`. */
  | { readonly kind: 'decline'; readonly address: string; readonly until: number }

/** An address held back from the pool after a DECLINE, until `until` (ms since the epoch). */
export interface DeclinedAddress {
  readonly address: string
  readonly until: number
}

export interface StoredLeases {
  readonly leases: ReadonlyArray<{ readonly mac: string; readonly lease: Lease }>
  readonly declined: readonly DeclinedAddress[]
}

/** Where leases persist. `write` applies a batch atomically and resolves once it is durable. */
export interface LeaseStore {
  load(): Promise<StoredLeases>
  write(writes: readonly LeaseWrite[]): Promise<void>
}

/** What became of a DECLINE. */
export type DeclineOutcome =
  /** The address was this client's offer or lease: it is out of the pool until the hold ends. */
  | { readonly kind: 'held'; readonly until: number }
  /** A known node declined its reserved address: another host uses it, which only an operator can fix. */
  | { readonly kind: 'reserved' }
  /** Not this client's address: ignored, or any host could take addresses out of the pool. */
  | { readonly kind: 'not-theirs' }

/** Who is a known node: a MAC's reserved address, hostname and bootenv, or null. */
export interface ReservationSource {
  reservation(mac: string): Promise<ClientBinding | null>
}

export interface DhcpLeasesOptions {
  readonly pool: LeasePool
  readonly leaseSeconds: number
  readonly store: LeaseStore
  readonly reservations: ReservationSource
  readonly clock: () => Date
  /** How long a DECLINEd address stays out of the pool; default 600 s (see DECLINE_HOLD_SECONDS). */
  readonly declineHoldSeconds?: number
}

/** Writes waiting for the next transaction, one per MAC (a later write for a MAC replaces an earlier). */
interface Batch {
  readonly writes: Map<string, LeaseWrite>
  readonly done: Promise<void>
  settle(err?: unknown): void
}

function newBatch(): Batch {
  let settle!: (err?: unknown) => void
  const done = new Promise<void>((resolve, reject) => (settle = (err?: unknown) => (err === undefined ? resolve() : reject(err))))
  // A batch nobody awaits (only reclaims) must not raise an unhandled rejection.
  done.catch(() => undefined)
  return { writes: new Map(), done, settle }
}

const OFFER_HOLD_MS = 30_000
/**
 * A DECLINEd address (another host answers ARP for it) stays out of the pool this long, as in
 * dnsmasq (10 min); Kea's default is 24 h. A rack's discovery range is often a few dozen addresses
 * and the conflicting host is usually a mis-set static address that an operator fixes within the
 * hour: 10 min keeps the address away from the retries of the boot that hit it and of the next
 * few machines, while a handful of DECLINEs (a broken client, or one looping) cannot shrink a small
 * pool for a day; as the hold is stored, a restart would not give the addresses back either.
 */
export const DECLINE_HOLD_SECONDS = 600

/** The batch slot of a write: a later write for the same MAC (or declined address) replaces it. */
const writeKey = (w: LeaseWrite): string => (w.kind === 'decline' ? `declined ${w.address}` : w.mac)

export class DhcpLeases {
  private readonly offers = new Map<string, { address: string; until: number }>()
  private readonly leases = new Map<string, Lease>()
  /** address -> MAC of its lease or live offer. */
  private readonly owners = new Map<string, string>()
  /**
   * address -> end of its DECLINE hold (ms). An entry outlives its hold until the address is
   * leased again, so that lease's write replaces the stored hold; at most one per pool address.
   */
  private readonly declined = new Map<string, number>()
  private loaded: Promise<void> | undefined
  private cursor: bigint
  private readonly first: bigint
  private readonly last: bigint
  private batch: Batch = newBatch()
  private flushing = false
  /** What the store holds per MAC, to skip writes that would change nothing that matters. */
  private readonly stored = new Map<string, Lease>()

  private readonly clock: () => Date
  private readonly leaseSeconds: number
  private readonly declineHoldMs: number

  constructor(private readonly options: DhcpLeasesOptions) {
    this.clock = options.clock
    this.leaseSeconds = options.leaseSeconds
    this.declineHoldMs = (options.declineHoldSeconds ?? DECLINE_HOLD_SECONDS) * 1000
    this.first = parseAddress(options.pool.first)?.value ?? 1n
    this.last = parseAddress(options.pool.last)?.value ?? 0n
    this.cursor = this.first
  }

  /** Reads the stored leases (once); every other call waits for it. */
  load(): Promise<void> {
    this.loaded ??= (async () => {
      const stored = await this.options.store.load()
      for (const { mac, lease } of stored.leases) {
        this.leases.set(mac, lease)
        this.stored.set(mac, lease)
        this.owners.set(lease.address, mac)
      }
      for (const { address, until } of stored.declined) this.declined.set(address, until)
    })()
    return this.loaded
  }

  /** A known node's reservation, if this MAC belongs to one. */
  reservation(mac: string): Promise<ClientBinding | null> {
    return this.options.reservations.reservation(mac)
  }

  async lease(mac: string): Promise<ClientBinding | null> {
    await this.load()
    const l = this.leases.get(mac)
    return l ? { address: l.address, hostname: l.hostname, bootenv: 'discovery' } : null
  }

  /** What to offer: the reservation, the client's lease, a held offer, or the next free address. */
  async offer(mac: string): Promise<ClientBinding | null> {
    const reserved = await this.reservation(mac)
    if (reserved) return reserved
    const leased = await this.lease(mac)
    if (leased) return leased
    const now = this.clock().getTime()
    const held = this.offers.get(mac)
    if (held && held.until > now) return { address: held.address, hostname: null, bootenv: 'discovery' }
    const address = this.freeAddress(now)
    if (!address) return null
    if (held) this.owners.delete(held.address)
    this.offers.set(mac, { address, until: now + OFFER_HOLD_MS })
    this.owners.set(address, mac)
    return { address, hostname: null, bootenv: 'discovery' }
  }

  /**
   * Commits a client to `address` (REQUEST): allowed when it is the client's reservation, lease or
   * offer. The lease is stored before this resolves. Null when the address is not theirs.
   */
  async commit(mac: string, address: string, hostname: string | null): Promise<ClientBinding | null> {
    const reserved = await this.reservation(mac)
    if (reserved) return reserved.address === address ? reserved : null
    await this.load()
    const leased = this.leases.get(mac)
    const held = this.offers.get(mac)
    if (leased?.address !== address && held?.address !== address) return null
    const lease = { address, hostname, expiresAt: this.clock().getTime() + this.leaseSeconds * 1000 }
    const movedFrom = (this.owners.get(address) !== undefined && this.owners.get(address) !== mac) || this.declined.has(address)
    this.leases.set(mac, lease)
    this.owners.set(address, mac)
    this.offers.delete(mac)
    this.declined.delete(address)
    // A renewal that moves the stored expiry by less than a tenth of the lease changes nothing a
    // restart needs (the client renews again long before): no write, as a busy server must not
    // write per packet.
    const before = this.stored.get(mac)
    const fresh = before && before.address === address && before.hostname === hostname && lease.expiresAt - before.expiresAt < (this.leaseSeconds * 1000) / 10
    if (!fresh) await this.write({ kind: 'upsert', mac, lease, movedFrom })
    return { address, hostname, bootenv: 'discovery' }
  }

  /** The client took another server's offer: forget ours. */
  forgetOffer(mac: string): void {
    const held = this.offers.get(mac)
    if (!held) return
    this.offers.delete(mac)
    if (this.owners.get(held.address) === mac) this.owners.delete(held.address)
  }

  /**
   * A client says `address` is in use by another host (it found it with ARP). Held back from the
   * pool when it was this client's offer or lease; the hold is stored before this resolves.
   */
  async decline(mac: string, address: string): Promise<DeclineOutcome> {
    const reserved = await this.reservation(mac)
    if (reserved) return reserved.address === address ? { kind: 'reserved' } : { kind: 'not-theirs' }
    await this.load()
    const leased = this.leases.get(mac)
    const held = this.offers.get(mac)
    if (leased?.address !== address && held?.address !== address) return { kind: 'not-theirs' }
    if (held?.address === address) this.offers.delete(mac)
    if (leased?.address === address) {
      this.leases.delete(mac)
      // The decline write removes the stored row: a later lease of this MAC must be written.
      this.stored.delete(mac)
    }
    this.owners.delete(address)
    const until = this.clock().getTime() + this.declineHoldMs
    this.declined.set(address, until)
    await this.write({ kind: 'decline', address, until })
    return { kind: 'held', until }
  }

  async release(mac: string, address: string): Promise<void> {
    this.forgetOffer(mac)
    await this.load()
    if (this.leases.get(mac)?.address !== address) return
    this.leases.delete(mac)
    this.owners.delete(address)
    await this.write({ kind: 'delete', mac, address })
  }

  /** The next address nobody holds, from a rotating cursor (so a busy pool is not rescanned). */
  private freeAddress(now: number): string | null {
    const size = this.last - this.first + 1n
    if (size <= 0n) return null
    for (let i = 0n; i < size; i++) {
      const v = this.cursor
      this.cursor = this.cursor >= this.last ? this.first : this.cursor + 1n
      const a = formatAddress(4, v)
      if ((this.declined.get(a) ?? 0) > now) continue
      const owner = this.owners.get(a)
      if (owner === undefined) return a
      const offer = this.offers.get(owner)
      if (offer?.address === a && offer.until <= now && !this.leases.has(owner)) {
        this.offers.delete(owner)
        this.owners.delete(a)
        return a
      }
    }
    // Full: reclaim the lease that expired longest ago.
    let oldest: [string, Lease] | undefined
    for (const entry of this.leases) if (entry[1].expiresAt < now && (!oldest || entry[1].expiresAt < oldest[1].expiresAt)) oldest = entry
    if (!oldest) return null
    this.leases.delete(oldest[0])
    this.owners.delete(oldest[1].address)
    const reclaim: LeaseWrite = { kind: 'delete', mac: oldest[0], address: oldest[1].address }
    this.batch.writes.set(writeKey(reclaim), reclaim)
    return oldest[1].address
  }

  /** Queues a write and resolves once a transaction holding it has committed (group commit). */
  private write(w: LeaseWrite): Promise<void> {
    const batch = this.batch
    batch.writes.set(writeKey(w), w)
    if (!this.flushing) void this.flushLoop()
    return batch.done
  }

  /** One transaction at a time; writes that arrive meanwhile form the next batch. */
  private async flushLoop(): Promise<void> {
    this.flushing = true
    try {
      while (this.batch.writes.size > 0) {
        const batch = this.batch
        this.batch = newBatch()
        try {
          await this.flush([...batch.writes.values()])
          batch.settle()
        } catch (err) {
          batch.settle(err)
        }
      }
    } finally {
      this.flushing = false
    }
  }

  private async flush(writes: readonly LeaseWrite[]): Promise<void> {
    await this.options.store.write(writes)
    // Only what committed counts as stored.
    for (const w of writes) {
      if (w.kind === 'delete') this.stored.delete(w.mac)
      else if (w.kind === 'upsert') this.stored.set(w.mac, w.lease)
    }
  }
}
