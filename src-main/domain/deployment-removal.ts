// Taking work back: discarding an open proposal (its never-run noderoles go, edited data reverts),
// and deleting a deployment that nothing has run in. Both refuse when other noderoles depend on
// what would go, and change nothing then.
import type { Deployment } from '../model'
import { transact, type DomainContext, type TxContext } from './context'
import { deploymentRow, getDeployment } from './deployments'
import { conflict } from '../model/errors'
import { STATE_CODE } from './noderole-states'

async function refuseOutsideDependents(t: TxContext, doomed: readonly number[], what: string): Promise<void> {
  if (doomed.length === 0) return
  const outside = await t.tx
    .selectFrom('noderole_edges')
    .innerJoin('noderoles', 'noderoles.id', 'noderole_edges.child_id')
    .select(['noderoles.id', 'noderoles.deployment_id'])
    .where('noderole_edges.parent_id', 'in', [...doomed])
    .where('noderole_edges.child_id', 'not in', [...doomed])
    .executeTakeFirst()
  if (outside) {
    throw conflict(`noderole ${outside.id} in deployment ${outside.deployment_id} depends on ${what}; remove that binding first`)
  }
}

/** Discards the open proposal: noderoles bound in it go, proposed data reverts to committed. */
export async function discardProposal(ctx: DomainContext, id: number): Promise<Deployment> {
  return transact(ctx, async (t) => {
    const row = await deploymentRow(t.tx, id)
    if (row.state !== 'proposed') throw conflict(`deployment ${row.name} has no open proposal to discard`)
    const doomed = (
      await t.tx
        .selectFrom('noderoles')
        .select('id')
        .where('deployment_id', '=', id)
        .where('state', '=', STATE_CODE.proposed)
        .where('run_count', '=', 0)
        .execute()
    ).map((r) => r.id)
    await refuseOutsideDependents(t, doomed, 'a noderole of this proposal')
    for (let i = 0; i < doomed.length; i += 500) {
      await t.tx.deleteFrom('noderoles').where('id', 'in', doomed.slice(i, i + 500)).execute()
    }
    for (const nr of doomed) t.emit({ kind: 'noderole', id: nr, action: 'deleted' })
    await t.tx.updateTable('noderoles').set((eb) => ({ proposed_data: eb.ref('committed_data') })).where('deployment_id', '=', id).execute()
    await t.tx.updateTable('deployment_roles').set((eb) => ({ proposed_data: eb.ref('committed_data') })).where('deployment_id', '=', id).execute()
    await t.tx.updateTable('snapshots').set({ state: 'discarded' }).where('deployment_id', '=', id).where('state', '=', 'proposed').execute()
    await t.tx.updateTable('deployments').set({ state: 'committed', updated_at: t.now }).where('id', '=', id).execute()
    t.emit({ kind: 'deployment', id, action: 'updated' })
    return getDeployment(t.tx, id)
  })
}

/** Deletes a deployment with no child deployments and no noderole that has ever run. */
export async function deleteDeployment(ctx: DomainContext, id: number): Promise<{ deleted: number }> {
  return transact(ctx, async (t) => {
    const row = await deploymentRow(t.tx, id)
    if (row.system === 1) throw conflict('the system deployment cannot be deleted')
    const child = await t.tx.selectFrom('deployments').select('name').where('parent_id', '=', id).executeTakeFirst()
    if (child) throw conflict(`deployment ${row.name} has a child deployment (${child.name}); delete that first`)
    const noderoles = await t.tx.selectFrom('noderoles').select(['id', 'run_count', 'state']).where('deployment_id', '=', id).execute()
    const ran = noderoles.find((n) => n.run_count > 0 || n.state === STATE_CODE.transition)
    if (ran) throw conflict(`noderole ${ran.id} of deployment ${row.name} has run; remove its bindings one by one instead`)
    const doomed = noderoles.map((n) => n.id)
    await refuseOutsideDependents(t, doomed, `deployment ${row.name}`)
    // Nodes that lived in it go up to its parent, as Crowbar moves them back to system.
    await t.tx.updateTable('nodes').set({ deployment_id: row.parent_id ?? id, updated_at: t.now }).where('deployment_id', '=', id).execute()
    for (let i = 0; i < doomed.length; i += 500) {
      await t.tx.deleteFrom('noderoles').where('id', 'in', doomed.slice(i, i + 500)).execute()
    }
    await t.tx.deleteFrom('deployment_roles').where('deployment_id', '=', id).execute()
    await t.tx.deleteFrom('snapshots').where('deployment_id', '=', id).execute()
    await t.tx.deleteFrom('deployments').where('id', '=', id).execute()
    for (const nr of doomed) t.emit({ kind: 'noderole', id: nr, action: 'deleted' })
    t.emit({ kind: 'deployment', id, action: 'deleted' })
    return { deleted: id }
  })
}
