// Role event hooks (Crowbar's on_<state> and on_node_*), run in-process after the change that
// fires them has committed, one at a time in the order the changes happened.
import type { ChangeEvent } from '../model'
import type { ChangeFeed } from '../domain/change-feed'
import type { DomainContext } from '../domain/context'
import type { NodeRoleState } from '../model'
import { toDisposable, type Disposable } from '../base/lifecycle'
import type { Logger } from '../base/log'

export interface NodeRoleHookEvent {
  readonly noderoleId: number
  readonly nodeId: number
  readonly role: string
  readonly state: NodeRoleState
}

export type NodeRoleHook = (event: NodeRoleHookEvent, ctx: DomainContext) => Promise<void> | void
export type NodeHook = (nodeId: number, ctx: DomainContext) => Promise<void> | void

export interface RoleHooks {
  readonly on_proposed?: NodeRoleHook
  readonly on_todo?: NodeRoleHook
  readonly on_transition?: NodeRoleHook
  readonly on_active?: NodeRoleHook
  readonly on_error?: NodeRoleHook
  readonly on_blocked?: NodeRoleHook
  readonly on_node_create?: NodeHook
  readonly on_node_change?: NodeHook
  readonly on_node_delete?: NodeHook
}

const NODE_HOOK = { created: 'on_node_create', updated: 'on_node_change', deleted: 'on_node_delete' } as const

/** Where barclamps register their role hooks; each registration is released by its Disposable. */
export interface RoleHookRegistry {
  register(role: string, hooks: RoleHooks): Disposable
}

export class RoleHookRunner implements RoleHookRegistry {
  /** Per role, every registration in order: several barclamps may hook the same role. */
  private readonly hooks = new Map<string, RoleHooks[]>()
  private unsubscribe: (() => void) | undefined
  private chain: Promise<void> = Promise.resolve()

  constructor(
    private readonly ctx: DomainContext,
    private readonly feed: ChangeFeed,
    private readonly logger: Logger
  ) {}

  register(role: string, hooks: RoleHooks): Disposable {
    const entry = { ...hooks }
    this.hooks.set(role, [...(this.hooks.get(role) ?? []), entry])
    return toDisposable(() => {
      const left = (this.hooks.get(role) ?? []).filter((h) => h !== entry)
      if (left.length > 0) this.hooks.set(role, left)
      else this.hooks.delete(role)
    })
  }

  start(): void {
    if (this.unsubscribe) return
    this.unsubscribe = this.feed.subscribe((event) => {
      if (this.hooks.size === 0) return
      this.chain = this.chain.then(() => this.dispatch(event))
    })
  }

  /** Resolves when every hook fired so far has run. */
  idle(): Promise<void> {
    return this.chain
  }

  async stop(): Promise<void> {
    this.unsubscribe?.()
    this.unsubscribe = undefined
    await this.chain
  }

  private async dispatch(event: ChangeEvent): Promise<void> {
    try {
      if (event.kind === 'node') {
        const name = NODE_HOOK[event.action]
        for (const [role, registered] of [...this.hooks]) {
          for (const hooks of registered) {
            const hook = hooks[name]
            if (hook) await this.guard(role, name, () => hook(event.id, this.ctx))
          }
        }
        return
      }
      if (event.kind !== 'noderole' || event.state === undefined) return
      const state = event.state
      const name = `on_${state}` as const
      if (![...this.hooks.values()].some((registered) => registered.some((h) => h[name]))) return
      const row = await this.ctx.db
        .selectFrom('noderoles')
        .innerJoin('roles', 'roles.id', 'noderoles.role_id')
        .select(['noderoles.node_id', 'roles.name'])
        .where('noderoles.id', '=', event.id)
        .executeTakeFirst()
      if (!row) return
      for (const hooks of this.hooks.get(row.name) ?? []) {
        const hook = hooks[name]
        if (hook) await this.guard(row.name, name, () => hook({ noderoleId: event.id, nodeId: row.node_id, role: row.name, state }, this.ctx))
      }
    } catch (err) {
      this.logger.error({ err, event }, 'role hook dispatch failed')
    }
  }

  private async guard(role: string, hook: string, run: () => Promise<void> | void): Promise<void> {
    try {
      await run()
    } catch (err) {
      // A broken hook is logged and the rest go on: one role must not stall the framework.
      this.logger.error({ err, role, hook }, 'role hook failed')
    }
  }
}
