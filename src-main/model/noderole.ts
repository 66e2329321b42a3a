// A noderole: a role bound to a node in a deployment, with its run input's attribute layers.
import { z } from 'zod'
import { Id, JsonObjectSchema, Timestamp } from './primitives'
import { NodeRoleStateSchema } from './noderole-state'

/**
 * Why a todo or blocked noderole is not running yet: the first of these that applies, in this
 * order (DESIGN.md §2.1's runnable conditions, then the queue's limits). `ready`: nothing holds it.
 */
export const WAITING_REASONS = [
  'proposal_open',
  'node_dead',
  'node_unavailable',
  'noderole_unavailable',
  'jig_inactive',
  'node_error',
  'parent',
  'node_busy',
  'queue_full',
  'ready'
] as const
export const WaitingReasonSchema = z.enum(WAITING_REASONS)
export type WaitingReason = z.infer<typeof WaitingReasonSchema>

export const NodeRoleWaitingSchema = z.object({
  reason: WaitingReasonSchema,
  /** The operator's sentence: what holds it and what would free it. */
  message: z.string(),
  /** The noderole it waits for (node_error, parent, node_busy), when there is one. */
  noderole_id: Id.nullable()
})
export type NodeRoleWaiting = z.infer<typeof NodeRoleWaitingSchema>

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
  /** Why it waits: set for todo and blocked noderoles, null in every other state. */
  waiting: NodeRoleWaitingSchema.nullable(),
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
