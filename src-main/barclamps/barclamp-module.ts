// The one shape of a barclamp: its definition (roles), the hooks it adds to binding and to its
// roles' events, and what it runs while the app runs. Every built-in barclamp is one such module;
// app.ts composes the list and `startBarclamps` brings them up, each released by one Disposable.
import type { z } from 'zod'
import { DisposableStore, type Disposable } from '../base/lifecycle'
import type { Logger } from '../base/log'
import type { RoleHookRegistry, RoleHooks } from '../annealer/role-hooks'
import type { BindHookRegistry } from '../domain/bind-hooks'
import { importBarclamp } from '../domain/barclamps'
import type { BindHook, DomainContext } from '../domain/context'
import type { AdminKeyPair } from '../jigs/ssh/admin-keys'
import type { HostKeyPins } from '../jigs/ssh/host-key-pins'
import { BarclampDefinitionSchema } from '../model'
import type { BootRouter } from '../services/http/boot-router'
import type { BootRecorder } from './provisioner/boot-recorder'
import type { PowerManager } from './bmc/power-manager'
import type { SecretBox } from '../base/secret-box'
import type { SecretInputs } from '../jigs/secret-inputs'

export type BarclampDefinitionInput = z.input<typeof BarclampDefinitionSchema>

/** What a barclamp may use while it runs. */
export interface BarclampContext {
  readonly domain: DomainContext
  readonly hooks: RoleHookRegistry
  readonly bindHooks: BindHookRegistry
  /** What HTTP boot serves to booting machines (scripts, answer files, the node-facing API). */
  readonly bootRoutes: BootRouter
  readonly adminKeys: AdminKeyPair
  readonly hostKeys: HostKeyPins
  /** The node-facing API's base URL while the boot services run, else undefined. */
  readonly bootUrl: () => string | undefined
  /** The boot flight recorder, when this app keeps one (the node-facing API writes to it). */
  readonly bootRecorder?: BootRecorder | undefined
  /** Power through the nodes' BMCs (the bmc barclamp runs it; the provisioner reboots through it). */
  readonly power?: PowerManager | undefined
  /** Secrets a role's scripts get for one run (the script jig's; never stored). */
  readonly secrets?: SecretInputs | undefined
  /** Seals what the store keeps secret (BMC passwords), with the data directory's key. */
  readonly credentialBox?: SecretBox | undefined
  readonly logger: Logger
}

export interface BarclampModule {
  /** For logs and errors. */
  readonly name: string
  /**
   * The barclamp's roles, installed (or updated) at every start. Absent for a module whose roles
   * another barclamp declares (the DHCP and DNS database roles are the `crowbar` barclamp's, as
   * in Crowbar 2.0's core).
   */
  readonly definition?: BarclampDefinitionInput
  /** Adds system data to every noderole bound while the app runs. */
  readonly bindHook?: BindHook
  /** Role name -> its event hooks. */
  readonly roleHooks?: Readonly<Record<string, RoleHooks>>
  /** Hooks and routes that need the running app; everything registered is released by the result. */
  start?(ctx: BarclampContext): Promise<Disposable> | Disposable
}

/**
 * Installs each module's definition, registers its hooks and starts it, in list order. The result
 * releases everything, newest first; a failure part way releases what had started and rethrows.
 */
export async function startBarclamps(modules: readonly BarclampModule[], ctx: BarclampContext): Promise<Disposable> {
  const store = new DisposableStore()
  try {
    for (const m of modules) {
      if (m.definition) await importBarclamp(ctx.domain, BarclampDefinitionSchema.parse(m.definition))
      if (m.bindHook) store.add(ctx.bindHooks.register(m.bindHook))
      for (const [role, hooks] of Object.entries(m.roleHooks ?? {})) store.add(ctx.hooks.register(role, hooks))
      if (m.start) store.add(await m.start(ctx))
    }
  } catch (err) {
    await store.dispose().catch(() => undefined)
    throw err
  }
  return store
}
