// A change the renderer should react to; published after the transaction that made it commits.
import { z } from 'zod'
import { Id } from './primitives'
import { NodeRoleStateSchema } from './noderole-state'

export const ChangeEventSchema = z.object({
  /** 'setup' (id 1): the install wizard was completed. */
  /** 'boot_event': the boot flight recorder wrote events for `mac` (id: the newest event's id). */
  kind: z.enum(['deployment', 'node', 'noderole', 'barclamp', 'network', 'setup', 'boot_event']),
  id: Id,
  action: z.enum(['created', 'updated', 'deleted']),
  state: NodeRoleStateSchema.optional(),
  /** boot_event: the machine's MAC, and its node once it registered. */
  mac: z.string().optional(),
  node_id: Id.nullable().optional()
})
export type ChangeEvent = z.infer<typeof ChangeEventSchema>
