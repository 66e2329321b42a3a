// A jig run in the queue, and the queue's state.
import { z } from 'zod'
import { Id, Timestamp } from './primitives'
import { WaitingReasonSchema } from './noderole'

export const JobStateSchema = z.enum(['queued', 'running', 'done', 'failed'])
export const JobSchema = z.object({
  id: Id,
  noderole_id: Id,
  node_id: Id,
  state: JobStateSchema,
  attempt: z.number().int(),
  worker: z.string().nullable(),
  created_at: Timestamp,
  started_at: Timestamp.nullable(),
  finished_at: Timestamp.nullable()
})
export type Job = z.infer<typeof JobSchema>
export const JobDetailSchema = JobSchema.extend({ output: z.string() })

export const AnnealerStatusSchema = z.object({
  max_jobs: z.number().int(),
  running: z.number().int(),
  queued: z.number().int(),
  /** Todo and blocked noderoles by why they wait (every reason present, 0 when none). */
  waiting: z.record(WaitingReasonSchema, z.number().int())
})
