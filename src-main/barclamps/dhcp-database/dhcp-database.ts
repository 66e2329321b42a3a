// The DHCP database role: keeps the MAC -> node table the DHCP server reserves addresses by in
// step with nodes (their discovered MACs and an operator's `macs` hint). Bootenv changes need no
// copy: the server reads a node's bootenv at each request (see dhcp-backend.ts).
import type { DomainContext } from '../../domain/context'
import type { RoleDefinition } from '../../model'
import type { BarclampModule } from '../barclamp-module'

export const DHCP_DATABASE_ROLE = 'dhcp-database'

/** Declared by the crowbar barclamp, as every installation has it. */
export const dhcpDatabaseRole: Partial<RoleDefinition> & Pick<RoleDefinition, 'name' | 'jig'> = {
  name: DHCP_DATABASE_ROLE,
  description: 'Keeps the embedded DHCP server’s reservations in step with the nodes',
  jig: 'noop',
  flags: { bootstrap: true }
}

function macsIn(json: string, key: string): string[] {
  try {
    const value: unknown = (JSON.parse(json) as Record<string, unknown>)[key]
    return Array.isArray(value)
      ? value.filter((m): m is string => typeof m === 'string').map((m) => m.toLowerCase().replaceAll('-', ':')).filter((m) => /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/.test(m))
      : []
  } catch {
    return []
  }
}

export async function syncNodeMacs(ctx: DomainContext, nodeId: number): Promise<void> {
  const node = await ctx.db.selectFrom('nodes').select(['hint', 'discovery']).where('id', '=', nodeId).executeTakeFirst()
  if (!node) return
  const macs = [...new Set([...macsIn(node.discovery, 'macs'), ...macsIn(node.hint, 'macs')])]
  for (const mac of macs) {
    await ctx.db
      .insertInto('node_macs')
      .values({ mac, node_id: nodeId })
      .onConflict((oc) => oc.column('mac').doUpdateSet({ node_id: nodeId }))
      .execute()
  }
}

export const dhcpDatabaseBarclamp: BarclampModule = {
  name: 'dhcp-database',
  roleHooks: { [DHCP_DATABASE_ROLE]: { on_node_create: (id, ctx) => syncNodeMacs(ctx, id), on_node_change: (id, ctx) => syncNodeMacs(ctx, id) } }
}
