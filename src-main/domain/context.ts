// What every domain operation needs: the store, a clock, and the feed that tells the UI what
// changed. Changes are buffered during a transaction and published only once it has committed.
import type { Kysely, Transaction } from 'kysely'
import type { ChangeEvent } from '../model'
import type { JsonObject } from './attributes'
import type { Database } from '../store/database'
import type { StoreKind } from '../store/store-kind'
import type { BindHookRegistry } from './bind-hooks'
import type { ChangeFeed } from './change-feed'
import type { CommitListeners } from './commit-listeners'

export type Clock = () => Date

export interface DomainContext {
  readonly db: Kysely<Database>
  readonly kind: StoreKind
  readonly clock: Clock
  readonly feed: ChangeFeed
  /** Barclamps that add system data to a noderole when it is bound (the network's addresses). */
  readonly bindHooks?: BindHookRegistry
  /**
   * The jigs this installation runs (app.ts: the names of the annealer's jigs); binding refuses a
   * role whose jig is not among them. Absent: the built-in jigs (BUILT_IN_JIGS).
   */
  readonly activeJigs?: ReadonlySet<string>
  /** Told of each committed proposal, after its transaction (the BMC barclamp powers nodes on). */
  readonly commits?: CommitListeners
  /** Set inside inOneTransaction: every `transact` joins this transaction instead of opening one. */
  readonly joined?: TxContext
}

export interface BoundNodeRole {
  readonly noderoleId: number
  readonly role: string
  readonly node: { readonly id: number; readonly name: string }
}

/** Runs inside the bind's transaction; what it returns is merged into the noderole's system data. */
export type BindHook = (t: TxContext, bound: BoundNodeRole) => Promise<JsonObject | undefined>

export interface TxContext {
  readonly tx: Transaction<Database>
  readonly kind: StoreKind
  readonly now: string
  emit(event: ChangeEvent): void
  /** Runs `work` once the outermost transaction has committed (never if it rolls back). */
  afterCommit(work: () => void): void
}

export async function transact<T>(ctx: DomainContext, work: (t: TxContext) => Promise<T>): Promise<T> {
  if (ctx.joined) return work(ctx.joined)
  const events: ChangeEvent[] = []
  const after: Array<() => void> = []
  const result = await ctx.db.transaction().execute((tx) =>
    work({ tx, kind: ctx.kind, now: ctx.clock().toISOString(), emit: (e) => events.push(e), afterCommit: (w) => after.push(w) })
  )
  for (const e of events) ctx.feed.publish(e)
  for (const w of after) w()
  return result
}

/**
 * Runs several domain operations as one: each one's `transact` joins a single transaction, so they
 * commit together or not at all (Kysely cannot nest transactions), and their change events are
 * published once it has committed.
 */
export async function inOneTransaction<T>(ctx: DomainContext, work: (joined: DomainContext) => Promise<T>): Promise<T> {
  if (ctx.joined) return work(ctx)
  return transact(ctx, (t) => work({ ...ctx, db: t.tx, joined: t }))
}
