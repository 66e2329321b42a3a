// What a booted discovery image tells the framework: the machine's MACs and inventory. A new
// machine becomes a node (named after its first MAC, as Crowbar did), alive, on the admin network,
// with the discovery roles bound and committed in the system deployment.
import { z } from 'zod'
import type { DomainContext } from '../../domain/context'
import { transact } from '../../domain/context'
import { systemDeploymentId } from '../../domain/deployments'
import { bindNodeRole } from '../../domain/noderole-binding'
import { createNode, updateNode } from '../../domain/nodes'
import { loadRoles } from '../../domain/barclamps'
import { conflict, forbidden } from '../../model/errors'
import { networkRoleName } from '../network/networks'
import { issueNodeSecret, requireNodeSecret } from './node-credentials'
import { checkUnapprovedCap } from './registration-limits'
import { enrolledNodeByBmc, recordDiscoveredBmc } from '../bmc/node-bmcs'

const Mac = z
  .string()
  .transform((s) => s.toLowerCase().replaceAll('-', ':'))
  .pipe(z.string().regex(/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/, 'a MAC address such as 52:54:00:12:34:56'))

export const RegistrationSchema = z
  .object({
    macs: z.array(Mac).min(1).max(64),
    hostname: z.string().max(253).optional(),
    cpus: z.number().int().min(0).max(100_000).optional(),
    memory_mb: z.number().int().min(0).optional(),
    disks: z
      .array(
        z
          .object({
            name: z.string().max(64),
            size_bytes: z.number().int().min(0),
            /** /sys/block/NAME/removable (USB sticks, virtual media); images before it send none. */
            removable: z.boolean().optional()
          })
          .strict()
      )
      .max(256)
      .optional(),
    /** The address the image got by DHCP, so the framework can reach it before its allocation is used. */
    address: z.string().max(64).optional(),
    /**
     * The network interfaces, for conduits (conduits.ts): the kernel's name, MAC, link speed in
     * Mb/s (null: unknown, no link or a virtual NIC), PCI path (the bus order) and carrier.
     */
    nics: z
      .array(
        z
          .object({
            name: z.string().regex(/^[A-Za-z0-9._-]{1,15}$/, 'an interface name such as eth0'),
            mac: Mac,
            speed_mbps: z.number().int().min(1).max(10_000_000).nullable(),
            bus_path: z.string().regex(/^[0-9a-fA-F:.]{1,32}$/, 'a PCI path such as 0000:00:03.0').nullable(),
            link: z.boolean().nullable()
          })
          .strict()
      )
      .max(64)
      .optional(),
    /** The hardware model (DMI product name), for interface maps. */
    model: z.string().max(128).optional(),
    /**
     * The machine's BMC as the image read it in band (`ipmitool lan print`): its MAC, its LAN
     * address (absent or 0.0.0.0: none set yet) and where that address comes from. Absent: the
     * machine has no BMC the image could talk to (no /dev/ipmi0).
     */
    bmc: z
      .object({
        mac: Mac.optional(),
        address: z.string().regex(/^\d{1,3}(\.\d{1,3}){3}$/, 'an IPv4 address').optional(),
        ip_source: z.string().max(32).optional(),
        channel: z.number().int().min(0).max(15).optional()
      })
      .strict()
      .optional()
  })
  .strict()
export type Registration = z.infer<typeof RegistrationSchema>

export interface Registered {
  readonly node_id: number
  readonly name: string
  readonly created: boolean
  /**
   * The node's secret for its later calls (alive, bootenv, re-registration): given when the node
   * is created or claims a record that has none, never again (only its hash is kept).
   */
  readonly secret?: string
}

/** Who is registering: the credential it sent, and where from (for the rate, never for trust). */
export interface Registrant {
  readonly authorization: string | undefined
  readonly source: string
  /** Takes one registration of a new machine from `source`, or throws rate_limited. */
  readonly takeNew: (source: string) => void
}

export function nameForMac(mac: string, domain: string): string {
  return `d${mac.replaceAll(':', '-')}.${domain}`
}

/**
 * A machine's registration. New MACs make a new node (rate-limited per source, and capped while
 * many discovered nodes wait for the operator), with a new secret. MACs of a known node update it,
 * only with that node's secret (or, if it has none, the registration claims it and gets one). A
 * MAC is never moved from one node to another: the operator merges or deletes.
 */
export async function registerNode(ctx: DomainContext, input: Registration, domain: string, who: Registrant): Promise<Registered> {
  const discovery = { macs: input.macs, cpus: input.cpus ?? null, memory_mb: input.memory_mb ?? null, disks: input.disks ?? [], nics: input.nics ?? [], model: input.model ?? null }
  const owners = await ctx.db.selectFrom('node_macs').innerJoin('nodes', 'nodes.id', 'node_macs.node_id').select(['node_macs.mac', 'nodes.id', 'nodes.name']).where('node_macs.mac', 'in', input.macs).execute()
  const ownerIds = [...new Set(owners.map((o) => o.id))]
  if (ownerIds.length > 1) {
    const which = owners.map((o) => `${o.mac} is node ${o.id} (${o.name})'s`).join(', ')
    throw conflict(`this registration names MACs of ${ownerIds.length} nodes (${which}); a registration never moves a MAC from one node to another: merge or delete them through the operator API`)
  }
  const knownId = ownerIds[0] ?? (input.bmc ? await enrolledNodeByBmc(ctx.db, input.bmc) : undefined)
  if (knownId !== undefined) return reregister(ctx, knownId, input, discovery, who)
  who.takeNew(who.source)
  await checkUnapprovedCap(ctx.db)
  const first = input.macs[0] as string
  const node = await createNode(ctx, {
    name: nameForMac(first, domain),
    description: 'Discovered',
    admin: false,
    alive: true,
    available: true,
    bootenv: 'discovery',
    hint: input.address ? { admin_address: input.address } : {}
  })
  let secret = ''
  await transact(ctx, async (t) => {
    await t.tx.updateTable('nodes').set({ discovery: JSON.stringify(discovery) }).where('id', '=', node.id).execute()
    await addMacs(t.tx, node.id, input.macs)
    secret = await issueNodeSecret(t.tx, node.id, t.now)
    if (input.bmc) await recordDiscoveredBmc(t.tx, node.id, input.bmc, t.now)
    t.emit({ kind: 'node', id: node.id, action: 'updated' })
  })
  await bindDiscoveryRoles(ctx, node.id)
  return { node_id: node.id, name: node.name, created: true, secret }
}

/**
 * Binds the admin network's role and the discovery roles to a node that has just become a
 * discovered machine (new, or an operator's record claimed by its first registration), committed
 * in the system deployment. Roles the node already has are left as they are.
 */
async function bindDiscoveryRoles(ctx: DomainContext, nodeId: number): Promise<void> {
  const system = await systemDeploymentId(ctx.db)
  const roles = await loadRoles(ctx.db)
  const admin = await ctx.db.selectFrom('networks').select('name').where('category', '=', 'admin').orderBy('id').executeTakeFirst()
  const bound = new Set(
    (await ctx.db.selectFrom('noderoles').innerJoin('roles', 'roles.id', 'noderoles.role_id').select('roles.name').where('noderoles.node_id', '=', nodeId).execute()).map((r) => r.name)
  )
  const toBind = [
    ...(admin ? [networkRoleName(admin.name)] : []),
    ...roles.filter((r) => r.row.discovery === 1 && r.jig !== 'test').map((r) => r.name)
  ].filter((role) => !bound.has(role))
  for (const role of toBind) await bindNodeRole(ctx, { deployment_id: system, node_id: nodeId, role }, { commitNow: true })
}

async function reregister(ctx: DomainContext, nodeId: number, input: Registration, discovery: Record<string, unknown>, who: Registrant): Promise<Registered> {
  const row = await ctx.db.selectFrom('nodes').select(['admin', 'name', 'api_secret_hash']).where('id', '=', nodeId).executeTakeFirstOrThrow()
  if (row.admin === 1) throw forbidden(`${input.macs.join(', ')} belong to the admin node ${row.name}, which never registers over the node-facing API`)
  // A record with a secret answers only to it; one without (made by the operator, or reset) is
  // claimed by this registration, which gets the secret, at the new-machine rate.
  if (row.api_secret_hash !== null) await requireNodeSecret(ctx.db, nodeId, who.authorization)
  else who.takeNew(who.source)
  let secret: string | undefined
  await transact(ctx, async (t) => {
    const node = await t.tx.selectFrom('nodes').select(['hint', 'api_secret_hash']).where('id', '=', nodeId).executeTakeFirstOrThrow()
    const hint = { ...(JSON.parse(node.hint) as Record<string, unknown>), ...(input.address ? { admin_address: input.address } : {}) }
    await t.tx.updateTable('nodes').set({ discovery: JSON.stringify(discovery), hint: JSON.stringify(hint), updated_at: t.now }).where('id', '=', nodeId).execute()
    await addMacs(t.tx, nodeId, input.macs)
    if (node.api_secret_hash === null) secret = await issueNodeSecret(t.tx, nodeId, t.now)
    if (input.bmc) await recordDiscoveredBmc(t.tx, nodeId, input.bmc, t.now)
    t.emit({ kind: 'node', id: nodeId, action: 'updated' })
  })
  // Claimed: an operator's record (enrolled by its BMC, say) becomes a discovered machine.
  if (secret !== undefined) await bindDiscoveryRoles(ctx, nodeId)
  const node = await updateNode(ctx, nodeId, { alive: true })
  return { node_id: node.id, name: node.name, created: false, ...(secret ? { secret } : {}) }
}

/** Adds the MACs no node has; a MAC another node took meanwhile stays that node's. */
async function addMacs(tx: import('kysely').Transaction<import('../../store/database').Database>, nodeId: number, macs: readonly string[]): Promise<void> {
  for (const mac of macs) {
    await tx.insertInto('node_macs').values({ mac, node_id: nodeId }).onConflict((oc) => oc.column('mac').doNothing()).execute()
  }
}
