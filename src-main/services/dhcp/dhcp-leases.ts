// The DHCP server's memory of clients: reservations of known nodes (their MAC -> their admin
// address and bootenv), leases from the dhcp range written to the store on ACK (a restart keeps
// them), and short-lived offers held in memory only (a client that loses one simply asks again).
import type { Kysely } from 'kysely'
import { formatAddress, parseAddress } from '../../barclamps/network/ip-address'
import type { Clock } from '../../domain/context'
import type { Database } from '../../store/database'
import type { ClientBinding } from './dhcp-policy'

export interface LeasePool {
  /** The admin network's id: reservations are nodes' IPv4 allocations on it. */
  readonly networkId: number
  readonly first: string
  readonly last: string
}

const OFFER_HOLD_MS = 30_000

export class DhcpLeases {
  private readonly offers = new Map<string, { address: string; until: number }>()

  constructor(
    private readonly db: Kysely<Database>,
    private readonly clock: Clock,
    private readonly pool: LeasePool,
    private readonly leaseSeconds: number
  ) {}

  /** A known node's reservation, if this MAC belongs to one with an address on the network. */
  async reservation(mac: string): Promise<ClientBinding | null> {
    const row = await this.db
      .selectFrom('node_macs')
      .innerJoin('nodes', 'nodes.id', 'node_macs.node_id')
      .innerJoin('network_allocations as a', (j) => j.onRef('a.node_id', '=', 'nodes.id').on('a.family', '=', 4).on('a.network_id', '=', this.pool.networkId))
      .select(['a.address', 'nodes.name', 'nodes.bootenv'])
      .where('node_macs.mac', '=', mac)
      .executeTakeFirst()
    return row ? { address: row.address, hostname: row.name.split('.')[0] ?? null, bootenv: row.bootenv } : null
  }

  async lease(mac: string): Promise<ClientBinding | null> {
    const row = await this.db.selectFrom('dhcp_leases').select(['address', 'hostname']).where('mac', '=', mac).executeTakeFirst()
    return row ? { address: row.address, hostname: row.hostname, bootenv: 'discovery' } : null
  }

  /** What to offer: the reservation, the client's lease, a held offer, or the lowest free address. */
  async offer(mac: string): Promise<ClientBinding | null> {
    const reserved = await this.reservation(mac)
    if (reserved) return reserved
    const leased = await this.lease(mac)
    if (leased) return leased
    const now = this.clock().getTime()
    const held = this.offers.get(mac)
    if (held && held.until > now) return { address: held.address, hostname: null, bootenv: 'discovery' }
    const address = await this.freeAddress(now)
    if (!address) return null
    this.offers.set(mac, { address, until: now + OFFER_HOLD_MS })
    return { address, hostname: null, bootenv: 'discovery' }
  }

  /**
   * Commits a client to `address` (REQUEST): allowed when it is the client's reservation, lease or
   * offer. Leases are written before the ACK goes out. Returns null when the address is not theirs.
   */
  async commit(mac: string, address: string, hostname: string | null): Promise<ClientBinding | null> {
    const reserved = await this.reservation(mac)
    if (reserved) return reserved.address === address ? reserved : null
    const leased = await this.lease(mac)
    const held = this.offers.get(mac)
    if (leased?.address !== address && held?.address !== address) return null
    const now = this.clock()
    const expires = new Date(now.getTime() + this.leaseSeconds * 1000).toISOString()
    await this.db
      .insertInto('dhcp_leases')
      .values({ mac, address, hostname, expires_at: expires, updated_at: now.toISOString() })
      .onConflict((oc) => oc.column('mac').doUpdateSet({ address, hostname, expires_at: expires, updated_at: now.toISOString() }))
      .execute()
    this.offers.delete(mac)
    return { address, hostname, bootenv: 'discovery' }
  }

  /** The client took another server's offer: forget ours. */
  forgetOffer(mac: string): void {
    this.offers.delete(mac)
  }

  async release(mac: string, address: string): Promise<void> {
    this.offers.delete(mac)
    await this.db.deleteFrom('dhcp_leases').where('mac', '=', mac).where('address', '=', address).execute()
  }

  private async freeAddress(now: number): Promise<string | null> {
    const first = parseAddress(this.pool.first)?.value
    const last = parseAddress(this.pool.last)?.value
    if (first === undefined || last === undefined) return null
    const nowIso = new Date(now).toISOString()
    const taken = new Set<string>()
    // Expired leases stay taken while nothing else is free: their holders may still use them.
    const leases = await this.db.selectFrom('dhcp_leases').select(['address', 'expires_at']).execute()
    for (const l of leases) taken.add(l.address)
    for (const a of await this.db.selectFrom('network_allocations').select('address').where('family', '=', 4).execute()) taken.add(a.address)
    for (const [, o] of this.offers) if (o.until > now) taken.add(o.address)
    for (let v = first; v <= last; v++) {
      const a = formatAddress(4, v)
      if (!taken.has(a)) return a
    }
    const expired = leases.filter((l) => l.expires_at < nowIso).sort((a, b) => a.expires_at.localeCompare(b.expires_at))[0]
    if (expired) {
      await this.db.deleteFrom('dhcp_leases').where('address', '=', expired.address).execute()
      return expired.address
    }
    return null
  }
}
