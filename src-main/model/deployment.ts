// A deployment: a node of the deployment tree, with its committed state and open proposal.
import { z } from 'zod'
import { Id, JsonObjectSchema, Timestamp } from './primitives'
import { NodeRoleStateSchema } from './noderole-state'

export const DeploymentStateSchema = z.enum(['proposed', 'committed', 'active', 'error'])
export const DeploymentSchema = z.object({
  id: Id,
  name: z.string(),
  description: z.string(),
  parent_id: Id.nullable(),
  system: z.boolean(),
  /** proposed: a snapshot is open; else committed, active (all noderoles active) or error. */
  state: DeploymentStateSchema,
  /** The open proposal's snapshot id, if any. */
  snapshot_id: Id.nullable(),
  noderole_states: z.record(NodeRoleStateSchema, z.number().int()),
  created_at: Timestamp,
  updated_at: Timestamp
})
export type Deployment = z.infer<typeof DeploymentSchema>

/** One role's data in one deployment: the deployment_role attribute layer, proposed and committed. */
export const DeploymentRoleSchema = z.object({
  deployment_id: Id,
  role_id: Id,
  role: z.string(),
  /** The role's own defaults, for the editor to show beneath. */
  role_defaults: JsonObjectSchema,
  proposed_data: JsonObjectSchema,
  committed_data: JsonObjectSchema
})
export type DeploymentRole = z.infer<typeof DeploymentRoleSchema>
