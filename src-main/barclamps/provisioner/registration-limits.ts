// Bounds on registrations of new machines, so a host on the rack network cannot fill the store or
// the admin range with fake nodes: a rate per source address, and a cap on discovered nodes still
// waiting for the operator. Re-registrations of a known node (with its secret) are not limited.
import type { Kysely } from 'kysely'
import { rateLimited } from '../../model/errors'
import type { Database } from '../../store/database'
import { readSetting, SETTING } from '../../store/settings'

export const DEFAULT_MAX_UNAPPROVED_NODES = 32

export interface RateOptions {
  /** Registrations a source may make at once. */
  readonly burst: number
  /** Then one more every this many ms. */
  readonly refillMs: number
  /** Sources remembered; the least recently seen is forgotten first. */
  readonly maxSources: number
}

/** A rack's worth booting together from one relay still fits; a flood from one host does not. */
export const DEFAULT_RATE: RateOptions = { burst: 20, refillMs: 3_000, maxSources: 4096 }

/** A token bucket per source address, in memory, bounded in the sources it holds. */
export class RegistrationRate {
  private readonly buckets = new Map<string, { tokens: number; at: number }>()

  constructor(
    private readonly now: () => number,
    private readonly options: RateOptions = DEFAULT_RATE
  ) {}

  /** Takes one registration for `source`; throws a rate_limited error, saying when to retry, when none is left. */
  take(source: string): void {
    const now = this.now()
    const { burst, refillMs, maxSources } = this.options
    const held = this.buckets.get(source)
    const tokens = held ? Math.min(burst, held.tokens + (now - held.at) / refillMs) : burst
    this.buckets.delete(source)
    if (tokens < 1) {
      this.buckets.set(source, { tokens, at: now })
      const waitS = Math.ceil(((1 - tokens) * refillMs) / 1000)
      throw rateLimited(`too many registrations from ${source}: at most ${burst} at once and one every ${refillMs / 1000} s after; retry in ${waitS} s`)
    }
    this.buckets.set(source, { tokens: tokens - 1, at: now })
    if (this.buckets.size > maxSources) {
      const oldest = this.buckets.keys().next().value
      if (oldest !== undefined) this.buckets.delete(oldest)
    }
  }

  get sources(): number {
    return this.buckets.size
  }
}

/** Throws when the discovered nodes waiting for the operator already reach the cap. */
export async function checkUnapprovedCap(db: Kysely<Database>): Promise<void> {
  const setting = Number(await readSetting(db, SETTING.maxUnapprovedNodes))
  const max = Number.isInteger(setting) && setting > 0 ? setting : DEFAULT_MAX_UNAPPROVED_NODES
  const row = await db
    .selectFrom('nodes')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('admin', '=', 0)
    .where((eb) =>
      eb.not(
        eb.exists(
          eb
            .selectFrom('noderoles')
            .innerJoin('deployments', 'deployments.id', 'noderoles.deployment_id')
            .select('noderoles.id')
            .whereRef('noderoles.node_id', '=', 'nodes.id')
            .where('deployments.system', '=', 0)
        )
      )
    )
    .executeTakeFirstOrThrow()
  const waiting = Number(row.n)
  if (waiting >= max) {
    throw rateLimited(
      `${waiting} discovered nodes are waiting for the operator (bound in no deployment but the system one), the most allowed (${SETTING.maxUnapprovedNodes} = ${max}): bind or delete some, then this machine registers on its next try`
    )
  }
}
