// The DHCP database role's side of the DHCP server's interfaces (Smee's BackendReader is the model):
// reservations of known nodes read from the store and cached (bounded, and until a node or binding
// changes), and the leases of unknown machines and DECLINE holds persisted in dhcp_leases.
import type { Disposable } from '../../base/lifecycle'
import type { DomainContext } from '../../domain/context'
import type { RoleHookRegistry } from '../../annealer/role-hooks'
import type { ClientBinding } from '../../services/dhcp/dhcp-policy'
import { DhcpLeases, type LeaseStore, type LeaseWrite, type ReservationSource, type StoredLeases } from '../../services/dhcp/dhcp-leases'
import type { Queryable } from '../../store/database'
import { DHCP_DATABASE_ROLE } from './dhcp-database'
import { ReservationCache, type ReservationCacheLimits } from './reservation-cache'

/** Reservations on one network: a MAC's node's IPv4 allocation there, its hostname and bootenv. */
export class NodeReservations implements ReservationSource, Disposable {
  private readonly cache: ReservationCache
  /**
   * Lookups under way: a burst of one client's packets makes one query, not one each. Bounded by
   * the requests the DHCP server has in flight at once, as each entry goes when its query ends.
   */
  private readonly looking = new Map<string, Promise<ClientBinding | null>>()
  /** Bumped by invalidate(): a lookup begun before it must not cache what it read. */
  private generation = 0
  private readonly released: Array<() => void | Promise<void>> = []

  constructor(
    private readonly db: Queryable,
    private readonly networkId: number,
    cacheLimits: ReservationCacheLimits = {}
  ) {
    this.cache = new ReservationCache(cacheLimits)
  }

  /** MACs whose answer is cached (known or not). */
  get cachedEntries(): number {
    return this.cache.size
  }

  /**
   * Drops the cache whenever what feeds it may have changed: MACs, bootenvs and allocations. The
   * feed is heard synchronously, so a bootenv change is seen before anything reboots the node;
   * the MAC table changes in the database role's hook after the node event, so again then.
   */
  watch(ctx: DomainContext, hooks: RoleHookRegistry): this {
    this.released.push(
      ctx.feed.subscribe((e) => {
        if (e.kind === 'node' || (e.kind === 'noderole' && e.action !== 'updated')) this.invalidate()
      })
    )
    const afterSync = hooks.register(DHCP_DATABASE_ROLE, { on_node_create: () => this.invalidate(), on_node_change: () => this.invalidate() })
    this.released.push(() => afterSync.dispose())
    return this
  }

  invalidate(): void {
    this.generation++
    this.cache.clear()
    this.looking.clear()
  }

  async reservation(mac: string): Promise<ClientBinding | null> {
    const cached = this.cache.get(mac)
    if (cached !== undefined) return cached
    let pending = this.looking.get(mac)
    if (!pending) {
      pending = this.lookUp(mac).finally(() => this.looking.delete(mac))
      this.looking.set(mac, pending)
    }
    return pending
  }

  async dispose(): Promise<void> {
    for (const release of this.released.splice(0).reverse()) await release()
  }

  private async lookUp(mac: string): Promise<ClientBinding | null> {
    const generation = this.generation
    const row = await this.db
      .selectFrom('node_macs')
      .innerJoin('nodes', 'nodes.id', 'node_macs.node_id')
      .innerJoin('network_allocations as a', (j) => j.onRef('a.node_id', '=', 'nodes.id').on('a.family', '=', 4).on('a.network_id', '=', this.networkId))
      .select(['a.address', 'nodes.name', 'nodes.bootenv'])
      .where('node_macs.mac', '=', mac)
      .executeTakeFirst()
    const binding = row ? { address: row.address, hostname: row.name.split('.')[0] ?? null, bootenv: row.bootenv } : null
    // What changed meanwhile may not be in this answer: give it to the waiting request only.
    if (generation === this.generation) this.cache.set(mac, binding)
    return binding
  }
}

/**
 * A DECLINE hold is a dhcp_leases row of its own, as Kea keeps a declined lease with its client
 * cleared and its expiry set to the end of the probation: keyed `declined <address>` where a
 * lease has its MAC (never a MAC's spelling), expiring when the hold ends. The address column is
 * unique, so an address is leased or held, never both, and no schema change is needed.
 */
const DECLINED_KEY_PREFIX = 'declined '

/** Leases in the store's dhcp_leases table; each batch is one transaction. */
export class StoreLeaseBook implements LeaseStore {
  constructor(
    private readonly ctx: Pick<DomainContext, 'db' | 'clock'>
  ) {}

  async load(): Promise<StoredLeases> {
    const rows = await this.ctx.db.selectFrom('dhcp_leases').selectAll().execute()
    const held = rows.filter((row) => row.mac.startsWith(DECLINED_KEY_PREFIX))
    const leased = rows.filter((row) => !row.mac.startsWith(DECLINED_KEY_PREFIX))
    return {
      leases: leased.map((row) => ({ mac: row.mac, lease: { address: row.address, hostname: row.hostname, expiresAt: Date.parse(row.expires_at) } })),
      declined: held.map((row) => ({ address: row.address, until: Date.parse(row.expires_at) }))
    }
  }

  async write(writes: readonly LeaseWrite[]): Promise<void> {
    const now = this.ctx.clock().toISOString()
    await this.ctx.db.transaction().execute(async (tx) => {
      for (const w of writes) {
        if (w.kind === 'delete') {
          await tx.deleteFrom('dhcp_leases').where('mac', '=', w.mac).where('address', '=', w.address).execute()
          continue
        }
        if (w.kind === 'decline') {
          const key = `${DECLINED_KEY_PREFIX}${w.address}`
          const until = new Date(w.until).toISOString()
          await tx.deleteFrom('dhcp_leases').where('address', '=', w.address).where('mac', '!=', key).execute()
          await tx
            .insertInto('dhcp_leases')
            .values({ mac: key, address: w.address, hostname: null, expires_at: until, updated_at: now })
            .onConflict((oc) => oc.column('mac').doUpdateSet({ expires_at: until, updated_at: now }))
            .execute()
          continue
        }
        // An address moves between MACs only after its old lease expired: drop the old row first.
        if (w.movedFrom) await tx.deleteFrom('dhcp_leases').where('address', '=', w.lease.address).where('mac', '!=', w.mac).execute()
        const expires = new Date(w.lease.expiresAt).toISOString()
        await tx
          .insertInto('dhcp_leases')
          .values({ mac: w.mac, address: w.lease.address, hostname: w.lease.hostname, expires_at: expires, updated_at: now })
          .onConflict((oc) => oc.column('mac').doUpdateSet({ address: w.lease.address, hostname: w.lease.hostname, expires_at: expires, updated_at: now }))
          .execute()
      }
    })
  }
}

/**
 * The DHCP server's lease memory over the store for the network's pool, with reservations that
 * follow node changes. Disposing it stops the following.
 */
export function storeBackedLeases(
  ctx: DomainContext,
  hooks: RoleHookRegistry,
  options: {
    readonly networkId: number
    readonly first: string
    readonly last: string
    readonly leaseSeconds: number
    /** Default DECLINE_HOLD_SECONDS (10 min). */
    readonly declineHoldSeconds?: number
    readonly reservationCache?: ReservationCacheLimits
  }
): { leases: DhcpLeases; reservations: NodeReservations } {
  const reservations = new NodeReservations(ctx.db, options.networkId, options.reservationCache).watch(ctx, hooks)
  const leases = new DhcpLeases({
    pool: { first: options.first, last: options.last },
    leaseSeconds: options.leaseSeconds,
    store: new StoreLeaseBook(ctx),
    reservations,
    clock: ctx.clock,
    ...(options.declineHoldSeconds !== undefined ? { declineHoldSeconds: options.declineHoldSeconds } : {})
  })
  return { leases, reservations }
}

