// A node (a machine) and the addresses it holds on the networks.
import { z } from 'zod'
import { Id, JsonObjectSchema, Timestamp } from './primitives'

export const NodeSchema = z.object({
  id: Id,
  name: z.string(),
  description: z.string(),
  deployment_id: Id,
  admin: z.boolean(),
  alive: z.boolean(),
  available: z.boolean(),
  bootenv: z.string(),
  hint: JsonObjectSchema,
  discovery: JsonObjectSchema,
  created_at: Timestamp,
  updated_at: Timestamp,
  /** When the node was last seen alive; null if never. */
  last_seen_at: Timestamp.nullable()
})
export type Node = z.infer<typeof NodeSchema>

export const NodeAddressSchema = z.object({ network: z.string(), family: z.union([z.literal(4), z.literal(6)]), address: z.string() })
export const NodeWithAddressesSchema = NodeSchema.extend({ addresses: z.array(NodeAddressSchema) })
