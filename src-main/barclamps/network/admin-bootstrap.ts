// First start: the admin network (IPv4 subnet with admin/host/dhcp ranges and a router, IPv6
// `auto` unless told otherwise) and the admin node (this machine, by its FQDN) bound to it and to
// crowbar-admin-node in the committed system deployment. Runs once, in one transaction; later
// starts find it done.
import { hostname } from 'node:os'
import type { Kysely } from 'kysely'
import { inOneTransaction, type DomainContext } from '../../domain/context'
import type { Database } from '../../store/database'
import { systemDeploymentId } from '../../domain/deployments'
import { bindNodeRole } from '../../domain/noderole-binding'
import { createNode } from '../../domain/nodes'
import { formatAddress, lastOf, parseAddress, parseCidr } from '../../base/ip-address'
import { ADMIN_NODE_ROLES } from '../crowbar/crowbar-barclamp'
import { createNetwork, networkRoleName, type NetworkOptions } from './networks'
import { readSetting, SETTING, writeSettings } from '../../store/settings'

export const DEFAULT_ADMIN_SUBNET = '192.168.124.0/24'
export const DEFAULT_CLUSTER_DOMAIN = 'crowbar.lab'

export interface AdminBootstrap {
  readonly v4Subnet?: string
  readonly v6prefix?: string | null
  readonly domain?: string
  /** The admin node's FQDN (default: this machine's host name in the cluster domain). */
  readonly adminName?: string
  /** An address the admin node already holds on the admin network (the served interface's). */
  readonly adminAddress?: string
  /** The router and ranges to use instead of Crowbar's layout of the subnet (the install wizard's). */
  readonly layout?: ReturnType<typeof defaultRanges>
  /** The interface the install wizard chose for the boot services, kept for later starts. */
  readonly interface?: string
}


/** This machine's FQDN: its host name if already qualified, else host name + cluster domain. */
export function adminFqdn(domain: string, host: string = hostname()): string {
  const clean = host.toLowerCase().replace(/[^a-z0-9.-]/g, '-').replace(/^-+|-+$/g, '') || 'admin'
  return clean.includes('.') ? clean : `${clean}.${domain}`
}

/** Crowbar's layout of a subnet: router at .1, admin .10-.11, then host and dhcp halves of the rest. */
export function defaultRanges(subnet: string): { router: string; ranges: Array<{ name: string; first: string; last: string }> } {
  const cidr = parseCidr(subnet)
  if (typeof cidr === 'string' || cidr.family !== 4) throw new Error(`not an IPv4 subnet: ${subnet}`)
  const base = cidr.network
  const size = lastOf(cidr) - base + 1n
  const at = (offset: bigint) => formatAddress(4, base + offset)
  if (size < 16n) return { router: at(1n), ranges: [{ name: 'admin', first: at(2n), last: at(2n) }, { name: 'host', first: at(3n), last: at(size - 2n) }] }
  if (size === 256n) {
    return {
      router: at(1n),
      ranges: [
        { name: 'admin', first: at(10n), last: at(11n) },
        { name: 'host', first: at(81n), last: at(160n) },
        { name: 'dhcp', first: at(161n), last: at(240n) }
      ]
    }
  }
  const rest = size - 2n - 12n
  const half = rest / 2n
  return {
    router: at(1n),
    ranges: [
      { name: 'admin', first: at(10n), last: at(11n) },
      { name: 'host', first: at(12n), last: at(11n + half) },
      { name: 'dhcp', first: at(12n + half), last: at(size - 2n) }
    ]
  }
}

/** The layout with the admin node at `adminAddress`: its own one-address admin range, nothing overlapping it. */
export function layoutFor(subnet: string, adminAddress?: string): ReturnType<typeof defaultRanges> {
  const layout = defaultRanges(subnet)
  if (!adminAddress) return layout
  const at = parseAddress(adminAddress)?.value
  const inside = (r: { first: string; last: string }) =>
    at !== undefined && (parseAddress(r.first)?.value ?? 0n) <= at && at <= (parseAddress(r.last)?.value ?? -1n)
  return {
    router: layout.router,
    ranges: [{ name: 'admin', first: adminAddress, last: adminAddress }, ...layout.ranges.filter((r) => r.name !== 'admin' && !inside(r))]
  }
}

export async function clusterDomain(ctx: DomainContext): Promise<string> {
  return (await readSetting(ctx.db, SETTING.clusterDomain)) ?? DEFAULT_CLUSTER_DOMAIN
}

/** Whether the first start (or the install wizard) has created the admin network and node. */
export async function bootstrapDone(db: Kysely<Database>): Promise<boolean> {
  return (await readSetting(db, SETTING.bootstrapDone)) !== undefined
}

export async function bootstrapAdmin(ctx: DomainContext, options: AdminBootstrap = {}, network: NetworkOptions = {}): Promise<boolean> {
  return inOneTransaction(ctx, (joined) => createAdmin(joined, options, network))
}

async function createAdmin(ctx: DomainContext, options: AdminBootstrap, network: NetworkOptions): Promise<boolean> {
  if (await bootstrapDone(ctx.db)) return false
  const subnet = options.v4Subnet ?? DEFAULT_ADMIN_SUBNET
  const layout = options.layout ?? layoutFor(subnet, options.adminAddress)
  const domain = options.domain ?? DEFAULT_CLUSTER_DOMAIN
  const admin = await createNetwork(
    ctx,
    {
      name: 'admin',
      category: 'admin',
      vlan: 0,
      bond: null,
      v4_subnet: subnet,
      v6prefix: options.v6prefix === undefined ? 'auto' : options.v6prefix,
      ranges: layout.ranges,
      routers: [{ address: layout.router, pref: 10 }]
    },
    network
  )
  const node = await createNode(ctx, {
    name: options.adminName ?? adminFqdn(domain),
    description: 'This machine: the admin node',
    admin: true,
    alive: true,
    available: true,
    bootenv: 'local',
    hint: options.adminAddress ? { admin_address: options.adminAddress } : {}
  })
  const system = await systemDeploymentId(ctx.db)
  await bindNodeRole(ctx, { deployment_id: system, node_id: node.id, role: networkRoleName(admin.name) }, { commitNow: true })
  for (const role of ADMIN_NODE_ROLES) {
    await bindNodeRole(ctx, { deployment_id: system, node_id: node.id, role }, { commitNow: true })
  }
  await writeSettings(ctx.db, {
    [SETTING.clusterDomain]: domain,
    [SETTING.bootstrapDone]: ctx.clock().toISOString(),
    ...(options.interface === undefined ? {} : { [SETTING.setupInterface]: options.interface })
  })
  return true
}
