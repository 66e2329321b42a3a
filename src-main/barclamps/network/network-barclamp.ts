// The network barclamp's part in binding: a node bound to `network-<name>` gets its addresses on
// that network, and they go into the noderole's system data, so roles that require the network
// receive them by attribute injection.
import type { BindHook } from '../../domain/context'
import type { BarclampModule } from '../barclamp-module'
import { allocateNodeAddresses } from './allocations'
import { parseCidr } from '../../base/ip-address'
import { networkRoleName } from './networks'

/** The range a node's IPv4 address comes from: the admin node's own, else the host range. */
export function hostRangeFor(admin: boolean): string {
  return admin ? 'admin' : 'host'
}

export const networkBindHook: BindHook = async (t, bound) => {
  if (!bound.role.startsWith('network-')) return undefined
  const network = await t.tx.selectFrom('networks').selectAll().where('name', '=', bound.role.slice('network-'.length)).executeTakeFirst()
  if (!network || networkRoleName(network.name) !== bound.role) return undefined
  const node = await t.tx.selectFrom('nodes').select('admin').where('id', '=', bound.node.id).executeTakeFirstOrThrow()
  let range = hostRangeFor(node.admin === 1)
  const hasRange = await t.tx.selectFrom('network_ranges').select('id').where('network_id', '=', network.id).where('family', '=', 4).where('name', '=', range).executeTakeFirst()
  if (!hasRange) range = 'host'
  const addresses = await allocateNodeAddresses(t, network.id, bound.node, range)
  const routers = await t.tx.selectFrom('network_routers').select(['family', 'address']).where('network_id', '=', network.id).orderBy('pref').execute()
  const v4 = addresses.find((a) => a.family === 4)
  const v6 = addresses.find((a) => a.family === 6)
  const v4Cidr = network.v4_subnet ? parseCidr(network.v4_subnet) : null
  return {
    crowbar: {
      network: {
        [network.name]: {
          category: network.category,
          vlan: network.vlan,
          ...(v4 && network.v4_subnet && typeof v4Cidr === 'object' && v4Cidr
            ? { v4: { address: v4.address, subnet: network.v4_subnet, prefix_length: v4Cidr.prefixLength, router: routers.find((r) => r.family === 4)?.address ?? null } }
            : {}),
          ...(v6 && network.v6prefix ? { v6: { address: v6.address, prefix: network.v6prefix, router: routers.find((r) => r.family === 6)?.address ?? null } } : {})
        }
      }
    }
  }
}

/** Networks and their roles are made by the operator (networks.ts); binding one allocates addresses. */
export const networkBarclamp: BarclampModule = { name: 'network', bindHook: networkBindHook }
