// The DHCP server's memory of clients: reservations of known nodes (asked of a ReservationSource),
// leases from the dhcp range, and short-lived offers. Leases live in memory for speed and in a
// LeaseStore for restarts: each ACK's lease is written (group-committed with the others in flight)
// before the ACK goes out. Offers stay in memory: a client that loses one asks again. The server
// owns both interfaces; the DHCP database role implements them over the store.
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
  /** `movedFrom`: the address was another MAC's (its lease expired): that row goes first. */
  | { readonly kind: 'upsert'; readonly mac: string; readonly lease: Lease; readonly movedFrom: boolean }
  | { readonly kind: 'delete'; readonly mac: string; readonly address: string }

/** Where leases persist. `write` applies a batch atomically and resolves once it is durable. */
export interface LeaseStore {
  load(): Promise<ReadonlyArray<{ readonly mac: string; readonly lease: Lease }>>
  write(writes: readonly LeaseWrite[]): Promise<void>
}

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

export class DhcpLeases {
  private readonly offers = new Map<string, { address: string; until: number }>()
  private readonly leases = new Map<string, Lease>()
  /** address -> MAC of its lease or live offer. */
  private readonly owners = new Map<string, string>()
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

  constructor(private readonly options: DhcpLeasesOptions) {
    this.clock = options.clock
    this.leaseSeconds = options.leaseSeconds
    this.first = parseAddress(options.pool.first)?.value ?? 1n
    this.last = parseAddress(options.pool.last)?.value ?? 0n
    this.cursor = this.first
  }

  /** Reads the stored leases (once); every other call waits for it. */
  load(): Promise<void> {
    this.loaded ??= (async () => {
      for (const { mac, lease } of await this.options.store.load()) {
        this.leases.set(mac, lease)
        this.stored.set(mac, lease)
        this.owners.set(lease.address, mac)
      }
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
    const movedFrom = this.owners.get(address) !== undefined && this.owners.get(address) !== mac
    this.leases.set(mac, lease)
    this.owners.set(address, mac)
    this.offers.delete(mac)
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
    this.batch.writes.set(oldest[0], { kind: 'delete', mac: oldest[0], address: oldest[1].address })
    return oldest[1].address
  }

  /** Queues a write and resolves once a transaction holding it has committed (group commit). */
  private write(w: LeaseWrite): Promise<void> {
    const batch = this.batch
    batch.writes.set(w.mac, w)
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
      else this.stored.set(w.mac, w.lease)
    }
  }
}
