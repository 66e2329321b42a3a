// The provisioner-os-install role's behaviour around its script: the system data an install needs
// (bound at bind time), and once the noderole is active after a run on the installer, the node's
// bootenv set to `local`, the node marked not alive, and only then the reboot into the installed OS.
import { isJsonObject, parseJsonObject, type JsonObject } from '../../domain/attributes'
import type { DomainContext } from '../../domain/context'
import { updateNode } from '../../domain/nodes'
import type { NodeRoleHookEvent } from '../../annealer/role-hooks'
import type { AdminKeyPair } from '../../jigs/ssh/admin-keys'
import type { HostKeyPins } from '../../jigs/ssh/host-key-pins'
import { connectToNode, type SshConnection } from '../../jigs/ssh/ssh-exec'
import type { Logger } from '../../base/log'
import type { NodePowerControl } from '../bmc/power-manager'

export const OS_INSTALL_ROLE = 'provisioner-os-install'
export const OS_IMAGE = { name: 'debian-12', path: 'os/debian-12-amd64.tar.zst' } as const

export interface InstallTarget {
  readonly id: number
  /** The node's FQDN. */
  readonly name: string
}

/** The system data an install needs from the framework: where the API is, who the node is, the admin key. */
export function osInstallSystemData(node: InstallTarget, api: string | undefined, adminPublicKey: string): JsonObject {
  return {
    provisioner: {
      ...(api ? { install_api: api } : {}),
      install_node_id: node.id,
      install_fqdn: node.name,
      install_admin_key: adminPublicKey.trim()
    }
  }
}

/**
 * Whether the run that just went active installed the OS (it ran on the installer), so the node
 * must now boot from its disk. A run on the installed OS (the re-run after the node came back
 * alive) reports `ran_on: installed-os` and must not reboot anything.
 */
export function installedByThisRun(wall: JsonObject): boolean {
  const provisioner = wall.provisioner
  return isJsonObject(provisioner) && provisioner.ran_on === 'installer'
}

/** Detached and a second late, so the SSH session ends cleanly before the reset. */
export const REBOOT_COMMAND = "setsid sh -c 'sleep 1; sync; echo b > /proc/sysrq-trigger' </dev/null >/dev/null 2>&1 &"

export interface OsInstallDeps {
  readonly keyPair: AdminKeyPair
  readonly pins: HostKeyPins
  /** The node's admin addresses, in preference order (the network barclamp's). */
  readonly addressesOf: (nodeId: number) => Promise<string[]>
  readonly logger: Logger
  readonly connectTimeoutMs?: number
  /** Reboots through the node's BMC (PXE once, power cycle) where it has one (DESIGN.md §9). */
  readonly power?: NodePowerControl | undefined
}

/** The `on_active` hook: after a run that installed the OS, boot the node from its disk. */
export async function rebootIntoInstalledOs(event: NodeRoleHookEvent, ctx: DomainContext, deps: OsInstallDeps): Promise<void> {
  const row = await ctx.db.selectFrom('noderoles').select('wall').where('id', '=', event.noderoleId).executeTakeFirst()
  if (!row || !installedByThisRun(parseJsonObject(row.wall))) return
  // Bootenv first: DHCP reservations are re-read on the node event this publishes (the boot
  // services subscribe to the feed synchronously) and the iPXE script reads the bootenv per
  // request, so the reboot below can only boot the disk. Not alive: the annealer leaves the
  // node alone until the installed OS reports in, and its noderoles go back to todo/blocked.
  const node = await updateNode(ctx, event.nodeId, { bootenv: 'local', alive: false })
  const log = deps.logger.child({ node: node.name, noderole: event.noderoleId })
  const connected = await connectToNode(
    { nodeId: node.id, name: node.name, addresses: await deps.addressesOf(node.id) },
    { keyPair: deps.keyPair, pins: deps.pins, readyTimeoutMs: deps.connectTimeoutMs ?? 10_000 }
  )
  try {
    // The installed OS makes its own host key: the discovery image's pin must not refuse it.
    if (connected.connection) await deps.pins.forget(node.id)
    if (deps.power && (await rebootThroughBmc(deps.power, node.id, connected.connection, log))) return
    if (!connected.connection) {
      const why = connected.failures.map((f) => `${f.address}: ${f.message}`).join('; ')
      log.error({ failures: why }, 'OS installed but the node could not be reached to reboot it: power-cycle it (it boots from its disk)')
      return
    }
    const result = await connected.connection.exec(REBOOT_COMMAND, undefined, { timeoutMs: 15_000 })
    if (result.code !== 0) log.error({ code: result.code, stderr: result.stderr.trim() }, 'the reboot command failed: power-cycle the node')
    else log.info({ address: connected.connection.address }, 'OS installed: rebooting the node into it')
  } catch (err) {
    log.error({ err }, 'the reboot command failed: power-cycle the node')
  } finally {
    await connected.connection?.close()
  }
}

/**
 * The reboot through the node's BMC: the disk flushed first over SSH when the node answers (a power
 * cycle is a cut), then PXE once (the bootenv is `local` now: the boot script sends it to its disk)
 * and a power cycle. False when the node has no usable BMC or the BMC failed: the SSH reboot follows.
 */
async function rebootThroughBmc(power: NodePowerControl, nodeId: number, connection: SshConnection | undefined, log: Logger): Promise<boolean> {
  if (connection) {
    const synced = await connection.exec('sync', undefined, { timeoutMs: 30_000 }).catch(() => undefined)
    if (synced?.code !== 0) log.warn('sync before the BMC power cycle failed: rebooting anyway')
  }
  const result = await power.rebootThroughBmc(nodeId)
  if (!result) return false
  if (result.ok) {
    log.info({ ms: result.ms }, 'OS installed: rebooting the node into it through its BMC (PXE once, power cycle)')
    return true
  }
  log.warn({ error: result.error?.message }, 'the reboot through the BMC failed: rebooting over SSH instead')
  return false
}
