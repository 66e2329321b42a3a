// A network of the network barclamp: IPv4 and IPv6 ranges, routers and per-node allocations.
import { z } from 'zod'
import { Id, Timestamp } from './primitives'

export const NETWORK_CATEGORIES = ['admin', 'bmc', 'storage', 'public', 'private', 'other'] as const
export const NetworkRangeInputSchema = z
  .object({ name: z.string().regex(/^[a-z][a-z0-9_-]{0,30}$/, 'use a short lower-case name such as host or dhcp'), first: z.string().max(64), last: z.string().max(64) })
  .strict()
export const NetworkRouterInputSchema = z.object({ address: z.string().max(64), pref: z.number().int().min(0).max(65535).default(10) }).strict()
export const NetworkBondSchema = z
  .object({ mode: z.enum(['active-backup', 'balance-alb', '802.3ad']), interfaces: z.array(z.string().min(1).max(32)).min(1).max(8) })
  .strict()
export const NetworkInputSchema = z
  .object({
    name: z.string().regex(/^[a-z][a-z0-9-]{0,30}$/, 'use 1-31 lower-case letters, digits or "-", starting with a letter'),
    category: z.enum(NETWORK_CATEGORIES).default('other'),
    vlan: z.number().int().min(0).max(4094).default(0),
    bond: NetworkBondSchema.nullable().default(null),
    v4_subnet: z.string().max(64).nullable().default(null),
    /** 'auto' (an RFC 4193 unique-local /64), a /64 such as 2001:db8:1:2::/64, or null for no IPv6. */
    v6prefix: z.string().max(64).nullable().default(null),
    ranges: z.array(NetworkRangeInputSchema).max(64).default([]),
    routers: z.array(NetworkRouterInputSchema).max(16).default([])
  })
  .strict()
export type NetworkInput = z.infer<typeof NetworkInputSchema>

export const NetworkSchema = z.object({
  id: Id,
  name: z.string(),
  category: z.enum(NETWORK_CATEGORIES),
  vlan: z.number().int(),
  bond: NetworkBondSchema.nullable(),
  v4_subnet: z.string().nullable(),
  v6prefix_setting: z.string().nullable(),
  v6prefix: z.string().nullable(),
  ranges: z.array(z.object({ name: z.string(), family: z.union([z.literal(4), z.literal(6)]), first: z.string(), last: z.string() })),
  routers: z.array(z.object({ family: z.union([z.literal(4), z.literal(6)]), address: z.string(), pref: z.number().int() })),
  allocations: z.array(z.object({ node_id: Id, family: z.union([z.literal(4), z.literal(6)]), address: z.string(), range: z.string().nullable() })),
  /** The role that puts a node on this network (binding it allocates the node's addresses). */
  role: z.string(),
  created_at: Timestamp,
  updated_at: Timestamp
})
export type Network = z.infer<typeof NetworkSchema>
