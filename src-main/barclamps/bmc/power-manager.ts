// Power through the nodes' BMCs (DESIGN.md §9), for the operator (buttons, bulk power-on), the
// framework (power on at commit, the install's reboot) and the poller that keeps each node's state
// current. Every operation ends within its client's bound with a result, never a throw; one node's
// operations run one at a time, and all of them share a bounded pool, so a BMC that times out holds
// one slot for its bound and never the annealer, the store, or another node's power.
import type { Logger } from '../../base/log'
import type { SecretBox } from '../../base/secret-box'
import type { DomainContext } from '../../domain/context'
import { updateNode } from '../../domain/nodes'
import type { BmcFailure, PowerAction, PowerResult } from '../../model'
import { BmcError, DEFAULT_BMC_TIMEOUT_MS, type BmcPower, type PowerState } from '../../services/bmc/bmc-power'
import { IpmiToolPower } from '../../services/bmc/ipmitool-power'
import { RedfishPower } from '../../services/bmc/redfish-power'
import { bmcRow, credentialsOf, poweredNodeIds, recordPower, type BmcCredentials } from './node-bmcs'

export interface PowerManagerOptions {
  readonly ctx: DomainContext
  readonly box: SecretBox
  readonly logger: Logger
  /** Bound on each BMC call (default 12 s). */
  readonly timeoutMs?: number
  /** BMC calls at once, all nodes together (default 8). */
  readonly concurrency?: number
  /** How often every BMC's state is read; default 30 s; 0: never (tests). */
  readonly pollMs?: number
  /** The ipmitool binary (default `ipmitool` on PATH). */
  readonly ipmitoolPath?: string
}

/** What the rest of the framework asks of power (the provisioner's install reboot, the node API). */
export interface NodePowerControl {
  act(nodeId: number, action: PowerAction): Promise<PowerResult>
  /** Boot from the network once and power cycle (or on, when off): the install's reboot. Undefined: the node has no usable BMC. */
  rebootThroughBmc(nodeId: number): Promise<PowerResult | undefined>
  /** Whether the node's BMC, read now, says it is off (a stale "alive" must not be believed); false when it has none or cannot tell. */
  saysOff(nodeId: number): Promise<boolean>
}

/** Operations one node may have waiting before more are refused as busy. */
const MAX_QUEUED_PER_NODE = 4

export class PowerManager implements NodePowerControl {
  private readonly perNode = new Map<number, { tail: Promise<unknown>; queued: number }>()
  private running = 0
  private readonly waiting: Array<() => void> = []
  private pollTimer: NodeJS.Timeout | undefined
  private polling: Promise<void> | undefined
  private stopped = false
  private readonly timeoutMs: number
  private readonly concurrency: number

  constructor(private readonly options: PowerManagerOptions) {
    this.timeoutMs = options.timeoutMs ?? DEFAULT_BMC_TIMEOUT_MS
    this.concurrency = options.concurrency ?? 8
  }

  /** Starts reading every BMC's state at the poll interval. */
  start(): void {
    const every = this.options.pollMs ?? 30_000
    if (every <= 0 || this.stopped) return
    const next = (): void => {
      this.pollTimer = setTimeout(() => {
        this.polling = this.pollOnce().finally(() => {
          this.polling = undefined
          if (!this.stopped) next()
        })
      }, every)
      this.pollTimer.unref()
    }
    next()
  }

  async stop(): Promise<void> {
    this.stopped = true
    if (this.pollTimer) clearTimeout(this.pollTimer)
    await this.polling
    await Promise.allSettled([...this.perNode.values()].map((q) => q.tail))
  }

  /** Reads every usable BMC's state once (nodes with an operation waiting are skipped: it will read it). */
  async pollOnce(): Promise<void> {
    const ids = await poweredNodeIds(this.options.ctx.db)
    await Promise.all(ids.filter((id) => !this.perNode.has(id)).map((id) => this.act(id, 'status')))
  }

  act(nodeId: number, action: PowerAction): Promise<PowerResult> {
    return this.queued(nodeId, action, (bmc) => this.perform(nodeId, bmc, action))
  }

  /** Several nodes at once, within the pool; one result per node, in the order asked. */
  actMany(nodeIds: readonly number[], action: PowerAction): Promise<PowerResult[]> {
    return Promise.all([...new Set(nodeIds)].map((id) => this.act(id, action)))
  }

  async rebootThroughBmc(nodeId: number): Promise<PowerResult | undefined> {
    // No BMC, or none with a password: the caller reboots another way (the run opens the password).
    if (!(await this.usable(nodeId))) return undefined
    return this.queued(nodeId, 'cycle', async (bmc) => {
      const state = await bmc.status()
      await bmc.pxeOnce()
      if (state === 'on') await bmc.cycle()
      else await bmc.on()
      return 'on'
    })
  }

  /**
   * Commit's part (node_role.rb): each node that is not alive and has a usable BMC is told to boot
   * from the network and powered on, if it is off. A node already on is left to boot.
   */
  async powerOnForWork(nodeIds: readonly number[]): Promise<PowerResult[]> {
    const { ctx, logger } = this.options
    if (nodeIds.length === 0) return []
    const dead = await ctx.db.selectFrom('nodes').innerJoin('node_bmcs', 'node_bmcs.node_id', 'nodes.id').select(['nodes.id', 'nodes.name']).where('nodes.id', 'in', [...nodeIds]).where('nodes.alive', '=', 0).where('node_bmcs.password_sealed', 'is not', null).execute()
    return Promise.all(
      dead.map(async (node) => {
        const result = await this.queued(node.id, 'on', async (bmc) => {
          if ((await bmc.status()) === 'on') return 'on'
          await bmc.pxeOnce()
          await bmc.on()
          return 'on'
        })
        if (result.ok) logger.info({ node: node.name, ms: result.ms }, 'commit: powered on through its BMC (the node was not alive)')
        else logger.warn({ node: node.name, error: result.error?.message }, 'commit: could not power on the node through its BMC')
        return result
      })
    )
  }

  /** Asks the BMC only when its last reading was "off" (a node reporting alive is usually on). */
  async saysOff(nodeId: number): Promise<boolean> {
    const row = await bmcRow(this.options.ctx.db, nodeId)
    if (row?.power_state !== 'off' || row.password_sealed === null) return false
    const r = await this.act(nodeId, 'status')
    return r.ok && r.state === 'off'
  }

  /** Whether the node has a BMC with a password stored. */
  private async usable(nodeId: number): Promise<boolean> {
    const row = await bmcRow(this.options.ctx.db, nodeId)
    return row !== undefined && row.password_sealed !== null
  }

  private async perform(nodeId: number, bmc: BmcPower, action: PowerAction): Promise<PowerState | undefined> {
    switch (action) {
      case 'status':
        return bmc.status()
      case 'on':
        await bmc.on()
        return 'on'
      case 'off':
        await bmc.off()
        await this.markDead(nodeId, 'powered off through its BMC')
        return 'off'
      case 'cycle':
        await bmc.cycle()
        return 'on'
      case 'reset':
        await bmc.reset()
        return 'on'
      case 'pxe_once':
        await bmc.pxeOnce()
        return undefined
    }
  }

  /**
   * Runs `work` against the node's BMC after the node's earlier operations and within the pool;
   * records what it read (or why it failed). Never rejects.
   */
  private queued(nodeId: number, action: PowerAction, work: (bmc: BmcPower) => Promise<PowerState | undefined>): Promise<PowerResult> {
    const queue = this.perNode.get(nodeId) ?? { tail: Promise.resolve(), queued: 0 }
    if (queue.queued >= MAX_QUEUED_PER_NODE) {
      return Promise.resolve({ node_id: nodeId, action, ok: false, ms: 0, error: { kind: 'busy', message: `node ${nodeId}'s BMC already has ${queue.queued} operations waiting: try again when they are done` } })
    }
    queue.queued++
    this.perNode.set(nodeId, queue)
    const result = queue.tail.then(() => this.withSlot(() => this.run(nodeId, action, work)))
    queue.tail = result
    void result.finally(() => {
      queue.queued--
      if (queue.queued === 0 && this.perNode.get(nodeId) === queue) this.perNode.delete(nodeId)
    })
    return result
  }

  private async run(nodeId: number, action: PowerAction, work: (bmc: BmcPower) => Promise<PowerState | undefined>): Promise<PowerResult> {
    const { ctx, box, logger } = this.options
    const started = performance.now()
    const ms = (): number => Math.round(performance.now() - started)
    let creds: BmcCredentials | { readonly unusable: string }
    try {
      creds = await credentialsOf(ctx.db, box, nodeId)
    } catch (err) {
      logger.error({ err, nodeId }, 'reading a BMC from the store failed')
      return { node_id: nodeId, action, ok: false, ms: ms(), error: { kind: 'protocol', message: 'the BMC settings could not be read from the store' } }
    }
    if ('unusable' in creds) return { node_id: nodeId, action, ok: false, ms: ms(), error: { kind: 'unconfigured', message: creds.unusable } }
    const bmc = this.clientFor(creds)
    let state: PowerState | undefined
    let error: BmcFailure | undefined
    try {
      state = await work(bmc)
    } catch (err) {
      error = err instanceof BmcError ? { kind: err.kind, message: err.message } : { kind: 'protocol', message: `BMC ${creds.address}: ${err instanceof Error ? err.message : String(err)}` }
    }
    const seen = bmc instanceof RedfishPower ? bmc.certificateFingerprint : undefined
    try {
      await recordPower(ctx.db, nodeId, ctx.clock().toISOString(), { ...(state ? { state } : {}), ...(error ? { error } : {}), ...(seen && !creds.certificateSha256 ? { certificateSha256: seen } : {}) })
      if (state === 'off' && action === 'status') await this.markDead(nodeId, 'its BMC says it is off')
    } catch (err) {
      logger.error({ err, nodeId }, 'recording a BMC reading failed')
    }
    if (error) return { node_id: nodeId, action, ok: false, ms: ms(), error }
    return { node_id: nodeId, action, ok: true, ms: ms(), ...(state ? { state } : {}) }
  }

  /** A node that is off is not alive, whatever a stale check said. */
  private async markDead(nodeId: number, why: string): Promise<void> {
    const node = await this.options.ctx.db.selectFrom('nodes').select(['alive', 'name']).where('id', '=', nodeId).executeTakeFirst()
    if (node?.alive !== 1) return
    await updateNode(this.options.ctx, nodeId, { alive: false })
    this.options.logger.info({ node: node.name }, `marked not alive: ${why}`)
  }

  private clientFor(c: BmcCredentials): BmcPower {
    const common = { host: c.address, port: c.port, user: c.username, password: c.password, timeoutMs: this.timeoutMs }
    if (c.protocol === 'redfish') return new RedfishPower({ ...common, ...(c.certificateSha256 ? { pinnedFingerprint: c.certificateSha256 } : {}) })
    return new IpmiToolPower({ ...common, ...(this.options.ipmitoolPath ? { ipmitoolPath: this.options.ipmitoolPath } : {}) })
  }

  private async withSlot<T>(work: () => Promise<T>): Promise<T> {
    if (this.running >= this.concurrency) await new Promise<void>((resolve) => this.waiting.push(resolve))
    this.running++
    try {
      return await work()
    } finally {
      this.running--
      this.waiting.shift()?.()
    }
  }
}
