// The admin network as the boot services need it: its subnet, the dhcp range unknown machines get
// addresses from, its first IPv4 router and its IPv6 prefix; and the admin node's name.
import type { Queryable } from '../../store/database'

export interface AdminNetworkLayout {
  readonly id: number
  readonly name: string
  readonly v4Subnet: string | null
  readonly v6prefix: string | null
  readonly dhcpRange: { readonly first: string; readonly last: string } | null
  readonly router: string | null
  /** The admin node's FQDN, if there is an admin node. */
  readonly adminNode: string | null
}

/** The first admin network, or undefined when there is none. */
export async function adminNetworkLayout(db: Queryable): Promise<AdminNetworkLayout | undefined> {
  const network = await db.selectFrom('networks').selectAll().where('category', '=', 'admin').orderBy('id').executeTakeFirst()
  if (!network) return undefined
  const dhcpRange = await db
    .selectFrom('network_ranges')
    .select(['first', 'last'])
    .where('network_id', '=', network.id)
    .where('family', '=', 4)
    .where('name', '=', 'dhcp')
    .executeTakeFirst()
  const router = await db.selectFrom('network_routers').select('address').where('network_id', '=', network.id).where('family', '=', 4).orderBy('pref').executeTakeFirst()
  const adminNode = await db.selectFrom('nodes').select('name').where('admin', '=', 1).orderBy('id').executeTakeFirst()
  return {
    id: network.id,
    name: network.name,
    v4Subnet: network.v4_subnet,
    v6prefix: network.v6prefix,
    dhcpRange: dhcpRange ?? null,
    router: router?.address ?? null,
    adminNode: adminNode?.name ?? null
  }
}
