// Reading the job queue for the API: runs, their state, and their captured output.
import type { Job } from '../model'
import { JobStateSchema } from '../model'
import { notFound } from '../model/errors'
import type { Queryable } from '../store/database'

type JobRow = Omit<Job, 'state'> & { state: string }

const toJob = (r: JobRow): Job => ({ ...r, state: JobStateSchema.catch('failed').parse(r.state) })
const COLUMNS = ['id', 'noderole_id', 'node_id', 'state', 'attempt', 'worker', 'created_at', 'started_at', 'finished_at'] as const

export async function listJobs(
  db: Queryable,
  filter: { state?: Job['state'] | undefined; noderole_id?: number | undefined; limit: number }
): Promise<Job[]> {
  let q = db.selectFrom('jobs').select(COLUMNS)
  if (filter.state) q = q.where('state', '=', filter.state)
  if (filter.noderole_id !== undefined) q = q.where('noderole_id', '=', filter.noderole_id)
  return (await q.orderBy('id', 'desc').limit(filter.limit).execute()).map(toJob)
}

export async function getJob(db: Queryable, id: number): Promise<Job & { output: string }> {
  const row = await db.selectFrom('jobs').select([...COLUMNS, 'output']).where('id', '=', id).executeTakeFirst()
  if (!row) throw notFound(`no job with id ${id}`)
  return { ...toJob(row), output: row.output }
}
