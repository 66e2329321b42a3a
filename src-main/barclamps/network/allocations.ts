// Per-node address allocation: IPv4 from a named range (lowest free address first), IPv6 as the
// network's /64 plus the node's interface ID (md5 of its FQDN). Never the same address twice in a
// network: a per-network lock (PostgreSQL) or the write lock (SQLite) serialises allocators, and
// unique constraints back it up.
import { randomBytes } from 'node:crypto'
import type { z } from 'zod'
import type { NodeAddressSchema } from '../../model'
import type { TxContext } from '../../domain/context'
import { conflict, notFound } from '../../model/errors'
import type { Queryable, Tx } from '../../store/database'
import { formatAddress, interfaceId, parseAddress, parseCidr, type Family } from '../../base/ip-address'
import { idList } from '../../store/id-list'
import { readSetting, SETTING, writeSettings } from '../../store/settings'

export type NodeAddress = z.infer<typeof NodeAddressSchema>

export async function lockNetwork(t: TxContext, networkId: number) {
  let q = t.tx.selectFrom('networks').selectAll().where('id', '=', networkId)
  if (t.kind === 'postgres') q = q.forUpdate()
  const row = await q.executeTakeFirst()
  if (!row) throw notFound(`no network with id ${networkId}`)
  return row
}

/** Allocates (or returns the existing) addresses of a node on a network. */
export async function allocateNodeAddresses(
  t: TxContext,
  networkId: number,
  node: { id: number; name: string },
  rangeName: string
): Promise<NodeAddress[]> {
  const network = await lockNetwork(t, networkId)
  const existing = await t.tx
    .selectFrom('network_allocations')
    .select(['family', 'address'])
    .where('network_id', '=', networkId)
    .where('node_id', '=', node.id)
    .execute()
  const has = (family: Family) => existing.some((e) => e.family === family)

  if (network.v4_subnet && !has(4)) {
    const range = await t.tx
      .selectFrom('network_ranges')
      .selectAll()
      .where('network_id', '=', networkId)
      .where('family', '=', 4)
      .where('name', '=', rangeName)
      .executeTakeFirst()
    if (!range) throw conflict(`network ${network.name} has no IPv4 range named ${rangeName}; add one or choose another range`)
    const first = parseAddress(range.first)?.value ?? 0n
    const last = parseAddress(range.last)?.value ?? -1n
    const taken = new Set(
      (await t.tx.selectFrom('network_allocations').select('address').where('network_id', '=', networkId).where('family', '=', 4).execute()).map(
        (r) => parseAddress(r.address)?.value ?? -1n
      )
    )
    let pick: bigint | null = null
    for (let v = first; v <= last; v++) {
      if (!taken.has(v)) {
        pick = v
        break
      }
    }
    if (pick === null) {
      throw conflict(`range ${rangeName} of network ${network.name} (${range.first}-${range.last}) is full; widen it or free an address`)
    }
    await insertAllocation(t, networkId, node.id, 4, rangeName, formatAddress(4, pick))
  }
  if (network.v6prefix && !has(6)) {
    const prefix = parseCidr(network.v6prefix)
    if (typeof prefix === 'string') throw new Error(`stored v6prefix of ${network.name} is invalid: ${prefix}`)
    await insertAllocation(t, networkId, node.id, 6, null, formatAddress(6, prefix.network | interfaceId(node.name)))
  }
  return nodeAddressesOn(t.tx, networkId, node.id)
}

async function insertAllocation(t: TxContext, networkId: number, nodeId: number, family: Family, range: string | null, address: string) {
  await t.tx
    .insertInto('network_allocations')
    .values({ network_id: networkId, node_id: nodeId, family, range_name: range, address, created_at: t.now })
    .execute()
}

async function nodeAddressesOn(db: Tx, networkId: number, nodeId: number): Promise<NodeAddress[]> {
  const rows = await db
    .selectFrom('network_allocations')
    .innerJoin('networks', 'networks.id', 'network_allocations.network_id')
    .select(['networks.name as network', 'network_allocations.family', 'network_allocations.address'])
    .where('network_allocations.network_id', '=', networkId)
    .where('network_allocations.node_id', '=', nodeId)
    .orderBy('network_allocations.family')
    .execute()
  return rows.map((r) => ({ network: r.network, family: r.family === 6 ? 6 : 4, address: r.address }))
}

/** Addresses of the given nodes (all nodes when omitted), keyed by node id. */
export async function nodeAddresses(db: Queryable | Tx, nodeIds?: readonly number[]): Promise<Map<number, NodeAddress[]>> {
  let q = db
    .selectFrom('network_allocations')
    .innerJoin('networks', 'networks.id', 'network_allocations.network_id')
    .select(['network_allocations.node_id', 'networks.name as network', 'network_allocations.family', 'network_allocations.address'])
    .orderBy('networks.id')
    .orderBy('network_allocations.family')
  if (nodeIds) q = q.where('network_allocations.node_id', 'in', idList(nodeIds))
  const out = new Map<number, NodeAddress[]>()
  for (const r of await q.execute()) {
    const list = out.get(r.node_id) ?? []
    list.push({ network: r.network, family: r.family === 6 ? 6 : 4, address: r.address })
    out.set(r.node_id, list)
  }
  return out
}

/** The cluster's 40-bit ULA global ID: chosen at random once per installation, then kept. */
export async function ulaGlobalId(t: TxContext, random: (n: number) => Buffer = randomBytes): Promise<bigint> {
  const saved = await readSetting(t.tx, SETTING.ulaGlobalId)
  if (saved && /^[0-9a-f]{10}$/.test(saved)) return BigInt(`0x${saved}`)
  const id = random(5).toString('hex')
  await writeSettings(t.tx, { [SETTING.ulaGlobalId]: id })
  return BigInt(`0x${id}`)
}

/**
 * Where the framework reaches a node: its addresses on admin-category networks (IPv4 first), then
 * an `admin_address` hint (a machine that registered before it had an allocation).
 */
export async function adminAddressesOf(db: Queryable, nodeId: number): Promise<string[]> {
  const rows = await db
    .selectFrom('network_allocations')
    .innerJoin('networks', 'networks.id', 'network_allocations.network_id')
    .select(['network_allocations.address', 'network_allocations.family'])
    .where('network_allocations.node_id', '=', nodeId)
    .where('networks.category', '=', 'admin')
    .orderBy('network_allocations.family')
    .orderBy('networks.id')
    .execute()
  const node = await db.selectFrom('nodes').select('hint').where('id', '=', nodeId).executeTakeFirst()
  let hinted: string[]
  try {
    const hint: unknown = JSON.parse(node?.hint ?? '{}')
    const value = typeof hint === 'object' && hint !== null ? (hint as Record<string, unknown>).admin_address : undefined
    hinted = typeof value === 'string' ? [value] : Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : []
  } catch {
    hinted = []
  }
  return [...new Set([...rows.map((r) => r.address), ...hinted])]
}
