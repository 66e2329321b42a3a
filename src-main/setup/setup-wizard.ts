// The install wizard's main side (DESIGN.md §8): pending until the operator has chosen the
// interface, the admin network, the cluster domain and the admin node's name; completing it creates
// them in one transaction, commits the system deployment and starts the boot services there.
import { hostname } from 'node:os'
import type { z } from 'zod'
import type { BootStatusSchema, PreflightReport, SetupInput, SetupPlan, SetupResultSchema, SetupState } from '../model'
import { bootstrapAdmin, bootstrapDone } from '../barclamps/network/admin-bootstrap'
import type { DomainContext } from '../domain/context'
import { conflict, invalid } from '../model/errors'
import type { Logger } from '../base/log'
import { listHostInterfaces, type HostInterface } from './host-interfaces'
import { NO_INTERFACE, planSetup, proposalFor, unusableReason } from './setup-plan'
import { readSetting, SETTING, writeSettings } from '../store/settings'
import { defaultRouteInterfaces, runPreflight } from '../services/preflight/preflight'
import { officeNetworkRefusal } from '../services/preflight/preflight-policy'

export type BootStatus = z.infer<typeof BootStatusSchema>
export type SetupResult = z.infer<typeof SetupResultSchema>

/** What the wizard needs from the app: start the boot services on an interface, and how they run. */
export interface BootControl {
  /** Starts them there (throws with the reason if they cannot start); `confirmDefaultRoute`: the operator confirmed an office-facing interface. */
  start(iface: string, options?: { readonly confirmDefaultRoute?: boolean; readonly proxyDhcp?: boolean }): Promise<void>
  status(): BootStatus
}

export interface SetupWizardOptions {
  readonly ctx: DomainContext
  readonly boot: BootControl
  readonly logger: Logger
  /** This machine's interfaces (default: read afresh from the system on every call). */
  readonly interfaces?: () => readonly HostInterface[]
  /** This machine's host name, for the proposed admin node name. */
  readonly hostname?: string
  /** How long the preflight listens on the link (default its own, 2 s). */
  readonly preflightListenMs?: number
}

const ALREADY_DONE = 'setup is already done: the admin network and the admin node exist; change them in the Networks and Nodes views'

/** The interface the wizard chose, for the boot services on later starts; undefined if none was. */
export async function chosenInterface(ctx: DomainContext): Promise<string | undefined> {
  const chosen = await readSetting(ctx.db, SETTING.setupInterface)
  return chosen !== undefined && chosen !== NO_INTERFACE ? chosen : undefined
}

/** Whether the wizard's operator chose proxyDHCP (beside another DHCP server) for the chosen interface. */
export async function chosenProxyDhcp(ctx: DomainContext): Promise<boolean> {
  return (await readSetting(ctx.db, SETTING.setupDhcpMode)) === 'proxy'
}

/** Whether the wizard's operator confirmed that the chosen interface faces the office network. */
export async function chosenInterfaceConfirmed(ctx: DomainContext): Promise<boolean> {
  return (await readSetting(ctx.db, SETTING.setupConfirmDefaultRoute)) === 'true'
}

export class SetupWizard {
  private completing = false

  constructor(private readonly options: SetupWizardOptions) {}

  private interfaces(): readonly HostInterface[] {
    return (this.options.interfaces ?? listHostInterfaces)()
  }

  async state(): Promise<SetupState> {
    const host = this.options.hostname ?? hostname()
    return {
      state: (await bootstrapDone(this.options.ctx.db)) ? 'done' : 'pending',
      interfaces: this.interfaces().map((i) => ({
        name: i.name,
        loopback: i.loopback,
        addresses: i.addresses.map((a) => ({ address: a.address, prefix_length: a.prefixLength, subnet: a.subnet })),
        unusable: unusableReason(i),
        proposal: unusableReason(i) === null ? proposalFor(i, host) : null
      })),
      proposal: proposalFor(null, host),
      boot: this.options.boot.status()
    }
  }

  /** What the choices would create; throws the problems (400), each naming its field. Writes nothing. */
  async check(input: SetupInput): Promise<SetupPlan> {
    if (await bootstrapDone(this.options.ctx.db)) throw conflict(ALREADY_DONE)
    const plan = this.plan(input)
    this.refuseOfficeNetwork(plan, input)
    return plan
  }

  /** The network preflight of an interface the wizard offers; writes nothing, sends no REQUEST. */
  async preflight(iface: string): Promise<PreflightReport> {
    if (!this.interfaces().some((i) => i.name === iface)) {
      throw invalid(`interface: there is no interface named ${iface}; choose one of: ${this.interfaces().map((i) => i.name).join(', ')}`)
    }
    return runPreflight(iface, this.options.preflightListenMs === undefined ? {} : { listenMs: this.options.preflightListenMs })
  }

  /** An interface holding the default route faces the office network: served only when the operator says so. */
  private refuseOfficeNetwork(plan: SetupPlan, input: SetupInput): void {
    if (plan.interface === NO_INTERFACE || input.confirm_default_route === true) return
    if (defaultRouteInterfaces().includes(plan.interface)) throw conflict(officeNetworkRefusal(plan.interface, 'confirm_default_route: true'))
  }

  async complete(input: SetupInput): Promise<SetupResult> {
    // One completion at a time in this process; the store's unique keys refuse a second process's.
    if (this.completing) throw conflict('setup is being completed by another request; reload to see its outcome')
    this.completing = true
    try {
      const { ctx, logger } = this.options
      if (await bootstrapDone(ctx.db)) throw conflict(ALREADY_DONE)
      const plan = this.plan(input)
      this.refuseOfficeNetwork(plan, input)
      const created = await bootstrapAdmin(ctx, {
        v4Subnet: plan.v4_subnet,
        v6prefix: plan.v6prefix,
        domain: plan.domain,
        adminName: plan.admin_name,
        ...(plan.admin_address ? { adminAddress: plan.admin_address } : {}),
        layout: { router: plan.router, ranges: plan.ranges },
        interface: plan.interface
      })
      if (!created) throw conflict(ALREADY_DONE)
      // Later --wizard starts serve the interface again: the confirmation must outlive this request.
      if (input.confirm_default_route === true) await writeSettings(ctx.db, { [SETTING.setupConfirmDefaultRoute]: 'true' })
      if (input.dhcp_mode !== undefined) await writeSettings(ctx.db, { [SETTING.setupDhcpMode]: input.dhcp_mode })
      logger.info({ plan }, 'setup done: created the admin network and the admin node')
      if (plan.interface !== NO_INTERFACE) {
        try {
          await this.options.boot.start(plan.interface, {
            confirmDefaultRoute: input.confirm_default_route === true,
            ...(input.dhcp_mode !== undefined ? { proxyDhcp: input.dhcp_mode === 'proxy' } : {})
          })
        } catch (err) {
          // The setup stands (it is committed); the operator reads why the services did not start.
          logger.error({ err, interface: plan.interface }, 'boot services did not start after the setup')
        }
      }
      ctx.feed.publish({ kind: 'setup', id: 1, action: 'updated' })
      return { plan, boot: this.options.boot.status() }
    } finally {
      this.completing = false
    }
  }

  private plan(input: SetupInput): SetupPlan {
    const plan = planSetup(input, this.interfaces())
    if (Array.isArray(plan)) throw invalid(`setup is not valid: ${plan.join('; ')}`)
    return plan
  }
}
