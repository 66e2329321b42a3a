// A noderole: a role bound to a node in a deployment, with its run input's attribute layers.
import { z } from 'zod'
import { Id, JsonObjectSchema, Timestamp } from './primitives'
import { NodeRoleStateSchema } from './noderole-state'

export const NodeRoleSchema = z.object({
  id: Id,
  deployment_id: Id,
  role_id: Id,
  role: z.string(),
  node_id: Id,
  node: z.string(),
  state: NodeRoleStateSchema,
  cohort: z.number().int(),
  available: z.boolean(),
  parents: z.array(Id),
  children: z.array(Id),
  run_count: z.number().int(),
  created_at: Timestamp,
  updated_at: Timestamp
})
export type NodeRole = z.infer<typeof NodeRoleSchema>

export const AttributeLayersSchema = z.object({
  role_defaults: JsonObjectSchema,
  deployment_role: JsonObjectSchema,
  parents_wall: JsonObjectSchema,
  system: JsonObjectSchema,
  user: JsonObjectSchema
})

export const NodeRoleDetailSchema = NodeRoleSchema.extend({
  proposed_data: JsonObjectSchema,
  committed_data: JsonObjectSchema,
  wall: JsonObjectSchema,
  runlog: z.string(),
  attributes: z.object({ layers: AttributeLayersSchema, merged: JsonObjectSchema })
})
export type NodeRoleDetail = z.infer<typeof NodeRoleDetailSchema>
