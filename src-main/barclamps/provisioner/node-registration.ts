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
import { networkRoleName } from '../network/networks'

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
    address: z.string().max(64).optional()
  })
  .strict()
export type Registration = z.infer<typeof RegistrationSchema>

export interface Registered {
  readonly node_id: number
  readonly name: string
  readonly created: boolean
}

export function nameForMac(mac: string, domain: string): string {
  return `d${mac.replaceAll(':', '-')}.${domain}`
}

export async function registerNode(ctx: DomainContext, input: Registration, domain: string): Promise<Registered> {
  const discovery = { macs: input.macs, cpus: input.cpus ?? null, memory_mb: input.memory_mb ?? null, disks: input.disks ?? [] }
  const known = await ctx.db.selectFrom('node_macs').select('node_id').where('mac', 'in', input.macs).executeTakeFirst()
  if (known) {
    await transact(ctx, async (t) => {
      const node = await t.tx.selectFrom('nodes').select(['hint']).where('id', '=', known.node_id).executeTakeFirstOrThrow()
      const hint = { ...(JSON.parse(node.hint) as Record<string, unknown>), ...(input.address ? { admin_address: input.address } : {}) }
      await t.tx.updateTable('nodes').set({ discovery: JSON.stringify(discovery), hint: JSON.stringify(hint), updated_at: t.now }).where('id', '=', known.node_id).execute()
      await addMacs(t.tx, known.node_id, input.macs)
      t.emit({ kind: 'node', id: known.node_id, action: 'updated' })
    })
    const node = await updateNode(ctx, known.node_id, { alive: true })
    return { node_id: node.id, name: node.name, created: false }
  }
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
  await transact(ctx, async (t) => {
    await t.tx.updateTable('nodes').set({ discovery: JSON.stringify(discovery) }).where('id', '=', node.id).execute()
    await addMacs(t.tx, node.id, input.macs)
    t.emit({ kind: 'node', id: node.id, action: 'updated' })
  })
  const system = await systemDeploymentId(ctx.db)
  const roles = await loadRoles(ctx.db)
  const admin = await ctx.db.selectFrom('networks').select('name').where('category', '=', 'admin').orderBy('id').executeTakeFirst()
  const toBind = [
    ...(admin ? [networkRoleName(admin.name)] : []),
    ...roles.filter((r) => r.row.discovery === 1 && r.jig !== 'test').map((r) => r.name)
  ]
  for (const role of toBind) await bindNodeRole(ctx, { deployment_id: system, node_id: node.id, role }, { commitNow: true })
  return { node_id: node.id, name: node.name, created: true }
}

async function addMacs(tx: import('kysely').Transaction<import('../../store/database').Database>, nodeId: number, macs: readonly string[]): Promise<void> {
  for (const mac of macs) {
    await tx.insertInto('node_macs').values({ mac, node_id: nodeId }).onConflict((oc) => oc.column('mac').doUpdateSet({ node_id: nodeId })).execute()
  }
}
