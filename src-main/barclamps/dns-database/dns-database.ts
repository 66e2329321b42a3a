// The DNS database role: the embedded DNS server's zone, rebuilt from the store whenever a node is
// created, changed or deleted (and when bindings allocate addresses), for every node inside the
// cluster domain: its name holds its admin network addresses (A, AAAA), and `<node>.<network>.
// <domain>` each other network's (storage, public, its BMC's on bmc); PTR from each address to
// the name that holds it.
import type { Disposable } from '../../base/lifecycle'
import type { RoleHookRegistry } from '../../annealer/role-hooks'
import type { DomainContext } from '../../domain/context'
import type { RoleDefinition } from '../../model'
import type { DnsHost, DnsZone } from '../../services/dns/dns-zone'
import type { BarclampModule } from '../barclamp-module'

export const DNS_DATABASE_ROLE = 'dns-database'

/** Declared by the crowbar barclamp, as every installation has it. */
export const dnsDatabaseRole: Partial<RoleDefinition> & Pick<RoleDefinition, 'name' | 'jig'> = {
  name: DNS_DATABASE_ROLE,
  description: 'Keeps the embedded DNS server’s zone (A, AAAA, PTR) in step with the nodes',
  jig: 'noop',
  flags: { bootstrap: true }
}

/** The role's behaviour needs a served zone: it lives in DnsDatabase, which the boot services start. */
export const dnsDatabaseBarclamp: BarclampModule = { name: 'dns-database' }

export async function buildZone(ctx: DomainContext, domain: string, nameserver: DnsHost): Promise<DnsZone> {
  const rows = await ctx.db
    .selectFrom('nodes')
    .innerJoin('network_allocations', 'network_allocations.node_id', 'nodes.id')
    .innerJoin('networks', 'networks.id', 'network_allocations.network_id')
    .select(['nodes.name', 'network_allocations.address', 'networks.name as network', 'networks.category'])
    .orderBy('nodes.id')
    .orderBy('networks.id')
    .orderBy('network_allocations.family')
    .execute()
  const byName = new Map<string, string[]>()
  for (const r of rows) {
    if (!r.name.endsWith(`.${domain}`)) continue
    const fqdn = r.category === 'admin' ? r.name : `${r.name.slice(0, -domain.length - 1)}.${r.network}.${domain}`
    byName.set(fqdn, [...(byName.get(fqdn) ?? []), r.address])
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
export class DnsDatabase implements Disposable {
  private zone: DnsZone
  private pending: NodeJS.Timeout | undefined
  private building: Promise<void> = Promise.resolve()
  private readonly released: Array<() => void | Promise<void>> = []

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

  /** Rebuilds on node events (the role's hooks) and on bindings, which allocate addresses without one. */
  watch(hooks: RoleHookRegistry): this {
    const soon = (): void => this.refreshSoon()
    const registered = hooks.register(DNS_DATABASE_ROLE, { on_node_create: soon, on_node_change: soon, on_node_delete: soon })
    this.released.push(() => registered.dispose())
    this.released.push(
      this.ctx.feed.subscribe((e) => {
        if (e.kind === 'noderole' && e.action !== 'updated') this.refreshSoon()
      })
    )
    return this
  }

  async dispose(): Promise<void> {
    for (const release of this.released.splice(0).reverse()) await release()
    clearTimeout(this.pending)
    this.pending = undefined
  }
}
