// A deployment: a node of the deployment tree, with its committed state and open proposal.
import { z } from 'zod'
import { Id, Timestamp } from './primitives'
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
