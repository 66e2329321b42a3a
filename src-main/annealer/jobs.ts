// Reading the job queue for the API: runs, their state, and their captured output.
import type { Job } from '../model'
import { JobStateSchema } from '../model'
import { notFound } from '../model/errors'
import type { Queryable } from '../store/database'

type JobRow = Omit<Job, 'state'> & { state: string }

const toJob = (r: JobRow): Job => ({ ...r, state: JobStateSchema.catch('failed').parse(r.state) })
const COLUMNS = ['id', 'noderole_id', 'node_id', 'state', 'attempt', 'worker', 'created_at', 'started_at', 'finished_at'] as const

export interface JobFilter {
  readonly state?: Job['state'] | undefined
  readonly noderole_id?: number | undefined
  readonly node_id?: number | undefined
  /** Jobs of the noderoles in this deployment. */
  readonly deployment_id?: number | undefined
  /** Paging: only jobs older than this one (ids grow with time). */
  readonly before_id?: number | undefined
  readonly limit: number
}

/**
 * Jobs newest first, every given filter applied (AND). A filter naming a node or deployment that
 * does not exist matches nothing: the answer is an empty list, as for any filter nothing matches.
 */
export async function listJobs(db: Queryable, filter: JobFilter): Promise<Job[]> {
  let q = db.selectFrom('jobs').select(COLUMNS)
  if (filter.state) q = q.where('state', '=', filter.state)
  if (filter.noderole_id !== undefined) q = q.where('noderole_id', '=', filter.noderole_id)
  if (filter.node_id !== undefined) q = q.where('node_id', '=', filter.node_id)
  if (filter.deployment_id !== undefined) {
    const deploymentId = filter.deployment_id
    q = q.where('noderole_id', 'in', (eb) => eb.selectFrom('noderoles').select('noderoles.id').where('noderoles.deployment_id', '=', deploymentId))
  }
  if (filter.before_id !== undefined) q = q.where('id', '<', filter.before_id)
  return (await q.orderBy('id', 'desc').limit(filter.limit).execute()).map(toJob)
}

export async function getJob(db: Queryable, id: number): Promise<Job & { output: string }> {
  const row = await db.selectFrom('jobs').select([...COLUMNS, 'output']).where('id', '=', id).executeTakeFirst()
  if (!row) throw notFound(`no job with id ${id}`)
  return { ...toJob(row), output: row.output }
}
