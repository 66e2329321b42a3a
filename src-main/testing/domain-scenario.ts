// For tests: short names for the domain calls a scenario makes, so each test reads
// as the operator's steps. Every call goes through the real domain and store; a run is finished by
// the job queue's completion, the same code the annealer uses.
import { BarclampDefinitionSchema } from '../model'
import type { NodeRoleState } from '../model'
import { importBarclamp } from '../domain/barclamps'
import type { DomainContext } from '../domain/context'
import { commitDeployment, createDeployment, proposeDeployment, systemDeploymentId } from '../domain/deployments'
import { bindNodeRole } from '../domain/noderole-binding'
import { listNodeRoles } from '../domain/noderoles'
import { JobQueue } from '../annealer/job-queue'
import { transact } from '../domain/context'
import { planStart } from '../domain/noderole-graph'
import { applyPlan, loadGraph } from '../domain/noderole-graph-store'
import { activeJigsOf } from '../domain/jigs-known'
import { createNode, updateNode } from '../domain/nodes'
import type { z } from 'zod'

/**
 * Starts one named noderole as a claim would (its todo/active -> transition move and a running job
 * row), whether or not the queue would pick it next: a scenario steps runs one at a time.
 */
async function startNamedRun(ctx: DomainContext, noderoleId: number) {
  return transact(ctx, async (t) => {
    const nr = await t.tx.selectFrom('noderoles').select(['node_id', 'run_count']).where('id', '=', noderoleId).executeTakeFirst()
    if (!nr) throw new Error(`no noderole with id ${noderoleId}`)
    await applyPlan(t, planStart(await loadGraph(t.tx), noderoleId))
    await t.tx.updateTable('noderoles').set({ run_count: nr.run_count + 1 }).where('id', '=', noderoleId).execute()
    const job = await t.tx
      .insertInto('jobs')
      .values({ noderole_id: noderoleId, node_id: nr.node_id, state: 'running', attempt: 1, worker: 'scenario', created_at: t.now, started_at: t.now, heartbeat_at: t.now })
      .returning('id')
      .executeTakeFirstOrThrow()
    return { jobId: job.id, noderoleId, nodeId: nr.node_id, attempt: 1 }
  })
}

export function scenario(ctx: DomainContext) {
  const queue = new JobQueue(ctx, 'scenario', [...activeJigsOf(ctx)])
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
      const job = await startNamedRun(ctx, id)
      await queue.complete([{ job, result: ok ? { ok: true, wall, log: '' } : { ok: false, log: 'boom' } }])
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
