// A change the renderer should react to; published after the transaction that made it commits.
import { z } from 'zod'
import { Id } from './primitives'
import { NodeRoleStateSchema } from './noderole-state'

export const ChangeEventSchema = z.object({
  /** 'setup' (id 1): the install wizard was completed. */
  kind: z.enum(['deployment', 'node', 'noderole', 'barclamp', 'network', 'setup']),
  id: Id,
  action: z.enum(['created', 'updated', 'deleted']),
  state: NodeRoleStateSchema.optional()
})
export type ChangeEvent = z.infer<typeof ChangeEventSchema>
