// Networks: create, change, list, delete. Each network has a role (`network-<name>`) in the network
// barclamp; binding a node to it allocates the node's addresses (see network-barclamp.ts).
import { randomBytes } from 'node:crypto'
import type { Network, NetworkInput } from '../../model'
import { NETWORK_CATEGORIES, NetworkBondSchema } from '../../model'
import { ensureRuntimeRole } from '../../domain/barclamps'
import { transact, type DomainContext, type TxContext } from '../../domain/context'
import { conflict, invalid, notFound } from '../../model/errors'
import { isUniqueViolation } from '../../store/unique-violation'
import type { Queryable, Tx } from '../../store/database'
import { lockNetwork, ulaGlobalId } from './allocations'
import { contains, formatAddress, formatCidr, lastOf, parseAddress, parseCidr, ulaPrefix, type Cidr } from '../../base/ip-address'
import { validateNetwork, type ValidNetwork } from './network-validation'

export const NETWORK_BARCLAMP = 'network'
export const networkRoleName = (network: string): string => `network-${network}`

export interface NetworkOptions {
  /** Randomness for the ULA global ID (tests pass a fixed source). */
  readonly random?: (n: number) => Buffer
}

function checked(input: NetworkInput): ValidNetwork {
  const result = validateNetwork(input)
  if (Array.isArray(result)) throw invalid(`network ${input.name} is not valid: ${result.join('; ')}`)
  return result
}

/**
 * What the other networks allow of this one's IPv4 subnet and VLAN: on one VLAN (untagged is VLAN
 * 0) no two networks share addresses, and a tagged VLAN carries one subnet. Checked in the write's
 * transaction, before anything is written.
 */
async function checkAgainstOthers(t: TxContext, name: string, vlan: number, v4: Cidr | null, self?: number): Promise<void> {
  let q = t.tx.selectFrom('networks').select(['id', 'name', 'vlan', 'v4_subnet'])
  if (self !== undefined) q = q.where('id', '!=', self)
  for (const other of await q.execute()) {
    const theirs = other.v4_subnet ? parseCidr(other.v4_subnet) : null
    const cidr = theirs && typeof theirs === 'object' ? theirs : null
    const overlaps = v4 !== null && cidr !== null && v4.network <= lastOf(cidr) && cidr.network <= lastOf(v4)
    const on = vlan === 0 ? 'untagged (VLAN 0)' : `on VLAN ${vlan}`
    if (overlaps && other.vlan === vlan) {
      throw conflict(`network ${name}'s subnet ${formatCidr(v4)} overlaps network ${other.name}'s ${other.v4_subnet ?? ''}, both ${on}: two networks on one VLAN must not share addresses; choose another subnet or VLAN`)
    }
    if (vlan !== 0 && other.vlan === vlan && v4 !== null && cidr !== null && !overlaps) {
      throw conflict(`VLAN ${vlan} already carries network ${other.name} (${other.v4_subnet ?? ''}): a tagged VLAN carries one subnet; give network ${name} its own VLAN`)
    }
  }
}

async function resolveV6(t: TxContext, v: ValidNetwork, networkId: number, options: NetworkOptions): Promise<string | null> {
  if (v.v6 === null) return null
  if (v.v6 !== 'auto') return formatCidr(v.v6)
  // The subnet ID comes from the network's id, so each network gets its own /64 of the cluster's ULA.
  return formatCidr(ulaPrefix(await ulaGlobalId(t, options.random ?? randomBytes), networkId))
}

async function writeChildren(t: TxContext, networkId: number, v: ValidNetwork): Promise<void> {
  await t.tx.deleteFrom('network_ranges').where('network_id', '=', networkId).execute()
  await t.tx.deleteFrom('network_routers').where('network_id', '=', networkId).execute()
  if (v.ranges.length > 0) {
    await t.tx
      .insertInto('network_ranges')
      .values(v.ranges.map((r) => ({ network_id: networkId, name: r.name, family: r.family, first: formatAddress(r.family, r.first), last: formatAddress(r.family, r.last) })))
      .execute()
  }
  if (v.routers.length > 0) {
    await t.tx
      .insertInto('network_routers')
      .values(v.routers.map((r) => ({ network_id: networkId, family: r.family, address: formatAddress(r.family, r.value), pref: r.pref })))
      .execute()
  }
}

async function ensureNetworkRole(t: TxContext, network: string): Promise<void> {
  await ensureRuntimeRole(t, {
    barclamp: { name: NETWORK_BARCLAMP, description: 'Networks, ranges, routers and per-node addresses (IPv4 and IPv6)', version: '2.0' },
    name: networkRoleName(network),
    description: `Puts a node on the ${network} network (allocates its addresses)`,
    jig: 'noop',
    // Implicit: a role that requires a network is satisfied on its own node, never another's.
    implicit: true,
    whenTaken: 'rename the network'
  })
}

export async function createNetwork(ctx: DomainContext, input: NetworkInput, options: NetworkOptions = {}): Promise<Network> {
  const v = checked(input)
  return transact(ctx, async (t) => {
    await checkAgainstOthers(t, input.name, input.vlan, v.v4)
    let id: number
    try {
      const row = await t.tx
        .insertInto('networks')
        .values({
          name: input.name,
          category: input.category,
          vlan: input.vlan,
          bond: JSON.stringify(input.bond),
          v4_subnet: v.v4 ? formatCidr(v.v4) : null,
          v6prefix_setting: input.v6prefix,
          v6prefix: null,
          created_at: t.now,
          updated_at: t.now
        })
        .returning('id')
        .executeTakeFirstOrThrow()
      id = row.id
    } catch (err) {
      if (isUniqueViolation(err)) throw conflict(`a network named ${input.name} already exists`)
      throw err
    }
    await t.tx.updateTable('networks').set({ v6prefix: await resolveV6(t, v, id, options) }).where('id', '=', id).execute()
    await writeChildren(t, id, v)
    await ensureNetworkRole(t, input.name)
    t.emit({ kind: 'network', id, action: 'created' })
    return getNetwork(t.tx, id)
  })
}

/** Replaces a network's settings, ranges and routers; every existing allocation must still fit. */
export async function updateNetwork(
  ctx: DomainContext,
  id: number,
  input: Omit<NetworkInput, 'name'>,
  options: NetworkOptions = {}
): Promise<Network> {
  return transact(ctx, async (t) => {
    const row = await lockNetwork(t, id)
    const v = checked({ ...input, name: row.name })
    await checkAgainstOthers(t, row.name, input.vlan, v.v4, id)
    const allocations = await t.tx.selectFrom('network_allocations').select(['family', 'address', 'range_name']).where('network_id', '=', id).execute()
    for (const a of allocations) {
      const value = parseAddress(a.address)?.value ?? -1n
      if (a.family === 4 && (!v.v4 || !contains(v.v4, 4, value))) {
        throw conflict(`network ${row.name}: allocated address ${a.address} would fall outside the new IPv4 subnet; release it first`)
      }
      const range = v.ranges.find((r) => r.family === a.family && r.name === a.range_name)
      if (a.family === 4 && a.range_name && (!range || value < range.first || value > range.last)) {
        throw conflict(`network ${row.name}: allocated address ${a.address} would fall outside range ${a.range_name}; release it first`)
      }
    }
    const v6Changed = input.v6prefix !== row.v6prefix_setting
    if (v6Changed && allocations.some((a) => a.family === 6)) {
      throw conflict(`network ${row.name}: nodes hold IPv6 addresses in ${row.v6prefix ?? 'its prefix'}; release them before changing v6prefix`)
    }
    const v6prefix = v6Changed ? await resolveV6(t, v, id, options) : row.v6prefix
    await t.tx
      .updateTable('networks')
      .set({
        category: input.category,
        vlan: input.vlan,
        bond: JSON.stringify(input.bond),
        v4_subnet: v.v4 ? formatCidr(v.v4) : null,
        v6prefix_setting: input.v6prefix,
        v6prefix,
        updated_at: t.now
      })
      .where('id', '=', id)
      .execute()
    await writeChildren(t, id, v)
    t.emit({ kind: 'network', id, action: 'updated' })
    return getNetwork(t.tx, id)
  })
}

export async function deleteNetwork(ctx: DomainContext, id: number): Promise<{ deleted: number }> {
  return transact(ctx, async (t) => {
    const row = await lockNetwork(t, id)
    const used = await t.tx.selectFrom('network_allocations').select('id').where('network_id', '=', id).executeTakeFirst()
    if (used) throw conflict(`network ${row.name} still has allocated addresses; delete or move those nodes first`)
    const role = await t.tx.selectFrom('roles').select('id').where('name', '=', networkRoleName(row.name)).executeTakeFirst()
    if (role) {
      const bound = await t.tx.selectFrom('noderoles').select('id').where('role_id', '=', role.id).executeTakeFirst()
      if (bound) throw conflict(`role ${networkRoleName(row.name)} is still bound to nodes; remove those bindings first`)
      await t.tx.deleteFrom('deployment_roles').where('role_id', '=', role.id).execute()
      await t.tx.deleteFrom('roles').where('id', '=', role.id).execute()
    }
    await t.tx.deleteFrom('networks').where('id', '=', id).execute()
    t.emit({ kind: 'network', id, action: 'deleted' })
    return { deleted: id }
  })
}

export async function listNetworks(db: Queryable | Tx): Promise<Network[]> {
  const rows = await db.selectFrom('networks').selectAll().orderBy('id').execute()
  const ranges = await db.selectFrom('network_ranges').selectAll().orderBy('id').execute()
  const routers = await db.selectFrom('network_routers').selectAll().orderBy('pref').orderBy('id').execute()
  const allocations = await db.selectFrom('network_allocations').selectAll().orderBy('id').execute()
  const fam = (f: number): 4 | 6 => (f === 6 ? 6 : 4)
  return rows.map((r) => ({
    id: r.id,
    name: r.name,
    category: NETWORK_CATEGORIES.find((c) => c === r.category) ?? 'other',
    vlan: r.vlan,
    bond: NetworkBondSchema.nullable().catch(null).parse(JSON.parse(r.bond)),
    v4_subnet: r.v4_subnet,
    v6prefix_setting: r.v6prefix_setting,
    v6prefix: r.v6prefix,
    ranges: ranges.filter((x) => x.network_id === r.id).map((x) => ({ name: x.name, family: fam(x.family), first: x.first, last: x.last })),
    routers: routers.filter((x) => x.network_id === r.id).map((x) => ({ family: fam(x.family), address: x.address, pref: x.pref })),
    allocations: allocations
      .filter((x) => x.network_id === r.id)
      .map((x) => ({ node_id: x.node_id, family: fam(x.family), address: x.address, range: x.range_name })),
    role: networkRoleName(r.name),
    created_at: r.created_at,
    updated_at: r.updated_at
  }))
}

export async function getNetwork(db: Queryable | Tx, id: number): Promise<Network> {
  const found = (await listNetworks(db)).find((n) => n.id === id)
  if (!found) throw notFound(`no network with id ${id}`)
  return found
}

