// For tests: short names for the domain calls a scenario makes, so each test reads
// as the operator's steps. Every call goes through the real domain and store.
import { BarclampDefinitionSchema } from '../model'
import type { NodeRoleState } from '../model'
import { importBarclamp } from '../domain/barclamps'
import type { DomainContext } from '../domain/context'
import { commitDeployment, createDeployment, proposeDeployment, systemDeploymentId } from '../domain/deployments'
import { bindNodeRole } from '../domain/noderole-binding'
import { listNodeRoles } from '../domain/noderoles'
import { finishRun, startRun } from '../domain/noderole-runs'
import { createNode, updateNode } from '../domain/nodes'
import type { z } from 'zod'

export function scenario(ctx: DomainContext) {
  return {
    ctx,
    async node(name: string, alive = true) {
      const n = await createNode(ctx, { name, description: '', admin: false, alive, available: true, bootenv: 'local', hint: {} })
      return n.id
    },
    async deployment(name: string, parent?: number) {
      return (await createDeployment(ctx, { name, description: '', parent_id: parent })).id
    },
    system: () => systemDeploymentId(ctx.db),
    bind: (deployment_id: number, node_id: number, role: string, commitNow = false) =>
      bindNodeRole(ctx, { deployment_id, node_id, role }, { commitNow }),
    commit: (id: number) => commitDeployment(ctx, id),
    propose: (id: number) => proposeDeployment(ctx, id),
    kill: (nodeId: number) => updateNode(ctx, nodeId, { alive: false }),
    barclamp: (def: z.input<typeof BarclampDefinitionSchema>) => importBarclamp(ctx, BarclampDefinitionSchema.parse(def)),
    /** Runs a todo noderole to the given end, as the annealer would. */
    async run(id: number, ok = true, wall: Record<string, string> = {}) {
      await startRun(ctx, id)
      await finishRun(ctx, id, ok ? { ok: true, wall } : { ok: false, log: 'boom' })
    },
    /** `role@node` -> state for every noderole (optionally of one deployment). */
    async states(deployment_id?: number): Promise<Record<string, NodeRoleState>> {
      const nrs = await listNodeRoles(ctx.db, { deployment_id })
      return Object.fromEntries(nrs.map((nr) => [`${nr.role}@${nr.node.split('.')[0]}`, nr.state]))
    },
    async id(role: string, nodeId: number) {
      const nrs = await listNodeRoles(ctx.db, { node_id: nodeId })
      const found = nrs.find((nr) => nr.role === role)
      if (!found) throw new Error(`no ${role} on node ${nodeId}`)
      return found.id
    },
    async counts() {
      const count = async (table: 'noderoles' | 'snapshots' | 'deployments' | 'roles' | 'noderole_edges' | 'nodes') =>
        Number((await ctx.db.selectFrom(table).select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n)
      return {
        noderoles: await count('noderoles'),
        snapshots: await count('snapshots'),
        deployments: await count('deployments'),
        roles: await count('roles'),
        edges: await count('noderole_edges'),
        nodes: await count('nodes')
      }
    }
  }
}
