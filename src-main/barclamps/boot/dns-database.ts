// The DNS database role: the embedded DNS server's zone, rebuilt from the store whenever a node is
// created, changed or deleted (and when bindings allocate addresses): A and AAAA for every
// allocated address, PTR from them, for every node inside the cluster domain.
import type { DomainContext } from '../../domain/context'
import type { DnsHost, DnsZone } from '../../services/dns/dns-zone'

export const DNS_DATABASE_ROLE = 'dns-database'

export async function buildZone(ctx: DomainContext, domain: string, nameserver: DnsHost): Promise<DnsZone> {
  const rows = await ctx.db
    .selectFrom('nodes')
    .innerJoin('network_allocations', 'network_allocations.node_id', 'nodes.id')
    .select(['nodes.name', 'network_allocations.address'])
    .orderBy('nodes.id')
    .orderBy('network_allocations.family')
    .execute()
  const byName = new Map<string, string[]>()
  for (const r of rows) {
    if (r.name !== domain && !r.name.endsWith(`.${domain}`)) continue
    byName.set(r.name, [...(byName.get(r.name) ?? []), r.address])
  }
  if (!byName.has(nameserver.fqdn) && nameserver.fqdn.endsWith(`.${domain}`)) byName.set(nameserver.fqdn, [...nameserver.addresses])
  return {
    domain,
    ttl: 60,
    hosts: [...byName].filter(([fqdn]) => fqdn !== nameserver.fqdn).map(([fqdn, addresses]) => ({ fqdn, addresses })),
    nameserver: { fqdn: nameserver.fqdn, addresses: byName.get(nameserver.fqdn) ?? [...nameserver.addresses] },
    serial: Math.floor(ctx.clock().getTime() / 1000) >>> 0
  }
}

/** Keeps a zone current: rebuilds (coalesced) after each change that can touch names or addresses. */
export class DnsDatabase {
  private zone: DnsZone
  private pending: NodeJS.Timeout | undefined
  private building: Promise<void> = Promise.resolve()

  constructor(
    private readonly ctx: DomainContext,
    private readonly domain: string,
    private readonly nameserver: DnsHost
  ) {
    this.zone = { domain, ttl: 60, hosts: [], nameserver }
  }

  current = (): DnsZone => this.zone

  async refresh(): Promise<void> {
    this.building = this.building.then(async () => {
      this.zone = await buildZone(this.ctx, this.domain, this.nameserver)
    })
    return this.building
  }

  /** Many changes in a burst (a commit) make one rebuild. */
  refreshSoon(): void {
    if (this.pending) return
    this.pending = setTimeout(() => {
      this.pending = undefined
      void this.refresh().catch(() => undefined)
    }, 50)
    this.pending.unref()
  }

  stop(): void {
    clearTimeout(this.pending)
    this.pending = undefined
  }
}
