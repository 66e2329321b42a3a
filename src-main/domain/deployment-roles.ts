// Deployment-role data: the attribute layer a deployment gives every noderole of one role in it
// (DESIGN.md §2, between the role's defaults and the ancestors' walls). Edited in the proposal like
// noderole data; commit copies it to committed, and noderoles of that role that had run run again.
import type { DeploymentRole } from '../model'
import type { Queryable, Tx } from '../store/database'
import { mergePatch, parseJsonObject, type JsonObject } from './attributes'
import { transact, type DomainContext } from './context'
import { deploymentRow } from './deployments'
import { conflict, notFound } from '../model/errors'
import type { DataWrite } from './noderoles'

async function rolesOf(db: Queryable | Tx, deploymentId: number, roleName?: string): Promise<DeploymentRole[]> {
  let q = db
    .selectFrom('deployment_roles as dr')
    .innerJoin('roles as r', 'r.id', 'dr.role_id')
    .select(['dr.deployment_id', 'dr.role_id', 'r.name as role', 'r.template', 'dr.proposed_data', 'dr.committed_data'])
    .where('dr.deployment_id', '=', deploymentId)
  if (roleName !== undefined) q = q.where('r.name', '=', roleName)
  const rows = await q.orderBy('r.id').execute()
  return rows.map((r) => ({
    deployment_id: r.deployment_id,
    role_id: r.role_id,
    role: r.role,
    role_defaults: parseJsonObject(r.template),
    proposed_data: parseJsonObject(r.proposed_data),
    committed_data: parseJsonObject(r.committed_data)
  }))
}

/** The roles a deployment has data for: every role bound in it, and any given data without a binding yet. */
export async function listDeploymentRoles(db: Queryable, deploymentId: number): Promise<DeploymentRole[]> {
  await deploymentRow(db, deploymentId)
  return rolesOf(db, deploymentId)
}

/** Sets (or merge-patches) a role's data in a deployment's open proposal. */
export async function setDeploymentRoleData(
  ctx: DomainContext,
  input: { deployment_id: number; role: string; data: JsonObject },
  write: DataWrite = 'replace'
): Promise<DeploymentRole> {
  return transact(ctx, async (t) => {
    const deployment = await deploymentRow(t.tx, input.deployment_id)
    const role = await t.tx.selectFrom('roles').select(['id', 'name']).where('name', '=', input.role).executeTakeFirst()
    if (!role) throw notFound(`no role named ${input.role}; install the barclamp that declares it`)
    if (deployment.state !== 'proposed') {
      throw conflict(`deployment ${deployment.name} is committed: propose it before editing its role data`)
    }
    await t.tx
      .insertInto('deployment_roles')
      .values({ deployment_id: deployment.id, role_id: role.id })
      .onConflict((oc) => oc.columns(['deployment_id', 'role_id']).doNothing())
      .execute()
    const row = await t.tx
      .selectFrom('deployment_roles')
      .select(['id', 'proposed_data'])
      .where('deployment_id', '=', deployment.id)
      .where('role_id', '=', role.id)
      .executeTakeFirstOrThrow()
    const next = write === 'replace' ? input.data : mergePatch(parseJsonObject(row.proposed_data), input.data)
    await t.tx.updateTable('deployment_roles').set({ proposed_data: JSON.stringify(next) }).where('id', '=', row.id).execute()
    t.emit({ kind: 'deployment', id: deployment.id, action: 'updated' })
    const [out] = await rolesOf(t.tx, deployment.id, role.name)
    if (!out) throw new Error(`deployment role ${role.name} vanished inside its own transaction`)
    return out
  })
}
