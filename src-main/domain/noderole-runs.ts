// A jig run's two ends as the store sees them: start (todo/active -> transition) and finish
// (transition -> active with the new wall, or error with the log), each rippling through the graph.
import type { JsonObject } from './attributes'
import { transact, type DomainContext } from './context'
import { notFound } from './errors'
import { planFailure, planStart, planSuccess } from './noderole-graph'
import { applyPlan, loadGraph } from './noderole-graph-store'

export type RunResult =
  | { readonly ok: true; readonly wall: JsonObject; readonly log?: string }
  | { readonly ok: false; readonly log: string }

export async function startRun(ctx: DomainContext, id: number): Promise<void> {
  await transact(ctx, async (t) => {
    const nr = await t.tx.selectFrom('noderoles').select(['run_count']).where('id', '=', id).executeTakeFirst()
    if (!nr) throw notFound(`no noderole with id ${id}`)
    await applyPlan(t, planStart(await loadGraph(t.tx), id))
    await t.tx.updateTable('noderoles').set({ run_count: nr.run_count + 1 }).where('id', '=', id).execute()
  })
}

export async function finishRun(ctx: DomainContext, id: number, result: RunResult): Promise<void> {
  await transact(ctx, async (t) => {
    const nr = await t.tx
      .selectFrom('noderoles')
      .innerJoin('nodes', 'nodes.id', 'noderoles.node_id')
      .select(['nodes.alive'])
      .where('noderoles.id', '=', id)
      .executeTakeFirst()
    if (!nr) throw notFound(`no noderole with id ${id}`)
    const graph = await loadGraph(t.tx)
    if (result.ok) {
      await t.tx
        .updateTable('noderoles')
        .set({ wall: JSON.stringify(result.wall), runlog: result.log ?? '' })
        .where('id', '=', id)
        .execute()
      await applyPlan(t, planSuccess(graph, id, nr.alive === 1))
    } else {
      await t.tx.updateTable('noderoles').set({ runlog: result.log }).where('id', '=', id).execute()
      await applyPlan(t, planFailure(graph, id))
    }
  })
}
