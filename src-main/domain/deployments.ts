// Deployments: the tree under `system`, proposals (snapshots) and commit.
import { sql } from 'kysely'
import type { Deployment } from '../model'
import type { DeploymentRow, Queryable, Tx } from '../store/database'
import { transact, type DomainContext, type TxContext } from './context'
import { conflict, notFound } from '../model/errors'
import { isUniqueViolation } from '../store/unique-violation'
import { planCommit, planRerun } from './noderole-graph'
import { sameJson } from './attributes'
import { applyPlan, loadGraph } from './noderole-graph-store'
import { NODEROLE_STATES, type NodeRoleState } from '../model'
import { STATE_CODE, stateFromCode } from './noderole-states'
import { idList } from '../store/id-list'

export const SYSTEM_DEPLOYMENT = 'system'

type StateCounts = Record<NodeRoleState, number>

function deploymentState(row: DeploymentRow, counts: StateCounts): Deployment['state'] {
  if (row.state === 'proposed') return 'proposed'
  if (counts.error > 0) return 'error'
  const total = NODEROLE_STATES.reduce((n, s) => n + counts[s], 0)
  return counts.active === total ? 'active' : 'committed'
}

async function toDeployments(db: Queryable | Tx, rows: DeploymentRow[]): Promise<Deployment[]> {
  if (rows.length === 0) return []
  const ids = rows.map((r) => r.id)
  const counts = await db
    .selectFrom('noderoles')
    .select(['deployment_id', 'state', sql<number>`count(*)`.as('n')])
    .where('deployment_id', 'in', ids)
    .groupBy(['deployment_id', 'state'])
    .execute()
  const snapshots = await db
    .selectFrom('snapshots')
    .select(['id', 'deployment_id'])
    .where('deployment_id', 'in', ids)
    .where('state', '=', 'proposed')
    .execute()
  return rows.map((row) => {
    const c = Object.fromEntries(NODEROLE_STATES.map((s) => [s, 0])) as StateCounts
    for (const x of counts) if (x.deployment_id === row.id) c[stateFromCode(x.state)] = Number(x.n)
    return {
      id: row.id,
      name: row.name,
      description: row.description,
      parent_id: row.parent_id,
      system: row.system === 1,
      state: deploymentState(row, c),
      snapshot_id: snapshots.find((s) => s.deployment_id === row.id)?.id ?? null,
      noderole_states: c,
      created_at: row.created_at,
      updated_at: row.updated_at
    }
  })
}

export async function listDeployments(db: Queryable): Promise<Deployment[]> {
  const rows = await db.selectFrom('deployments').selectAll().orderBy('system', 'desc').orderBy('id').execute()
  return toDeployments(db, rows)
}

export async function deploymentRow(db: Queryable | Tx, id: number): Promise<DeploymentRow> {
  const row = await db.selectFrom('deployments').selectAll().where('id', '=', id).executeTakeFirst()
  if (!row) throw notFound(`no deployment with id ${id}`)
  return row
}

export async function getDeployment(db: Queryable | Tx, id: number): Promise<Deployment> {
  return (await toDeployments(db, [await deploymentRow(db, id)]))[0] as Deployment
}

export async function systemDeploymentId(db: Queryable | Tx): Promise<number> {
  const row = await db.selectFrom('deployments').select('id').where('system', '=', 1).executeTakeFirst()
  if (!row) throw new Error('the system deployment is missing: the store was not initialised')
  return row.id
}

/** Creates the root `system` deployment, committed, if the store has none (first start). */
export async function ensureSystemDeployment(ctx: DomainContext): Promise<number> {
  return transact(ctx, async (t) => {
    const found = await t.tx.selectFrom('deployments').select('id').where('system', '=', 1).executeTakeFirst()
    if (found) return found.id
    const row = await t.tx
      .insertInto('deployments')
      .values({
        name: SYSTEM_DEPLOYMENT,
        description: 'Bootstrap and discovery: the root of the deployment tree',
        parent_id: null,
        system: 1,
        state: 'committed',
        created_at: t.now,
        updated_at: t.now
      })
      .returning('id')
      .executeTakeFirstOrThrow()
    t.emit({ kind: 'deployment', id: row.id, action: 'created' })
    return row.id
  })
}

/** Ancestors from the parent up to the root. Bounded by the number of deployments. */
export async function ancestorsOf(tx: Tx, row: DeploymentRow): Promise<DeploymentRow[]> {
  const all = await tx.selectFrom('deployments').selectAll().execute()
  const byId = new Map(all.map((d) => [d.id, d]))
  const out: DeploymentRow[] = []
  let parent = row.parent_id === null ? undefined : byId.get(row.parent_id)
  while (parent && out.length < all.length) {
    out.push(parent)
    parent = parent.parent_id === null ? undefined : byId.get(parent.parent_id)
  }
  return out
}

async function openSnapshot(t: TxContext, deployment: DeploymentRow): Promise<void> {
  try {
    await t.tx
      .insertInto('snapshots')
      .values({ deployment_id: deployment.id, state: 'proposed', created_at: t.now, committed_at: null })
      .execute()
  } catch (err) {
    if (isUniqueViolation(err)) throw conflict(`deployment ${deployment.name} already has an open proposal: commit it first`)
    throw err
  }
  await t.tx.updateTable('deployments').set({ state: 'proposed', updated_at: t.now }).where('id', '=', deployment.id).execute()
}

/** Serialises writers of one deployment on PostgreSQL (SQLite's write lock already does). */
async function lockDeployment(t: TxContext, id: number): Promise<DeploymentRow> {
  if (t.kind === 'postgres') {
    const row = await t.tx.selectFrom('deployments').selectAll().where('id', '=', id).forUpdate().executeTakeFirst()
    if (!row) throw notFound(`no deployment with id ${id}`)
    return row
  }
  return deploymentRow(t.tx, id)
}

export async function createDeployment(
  ctx: DomainContext,
  input: { name: string; description: string; parent_id?: number | undefined }
): Promise<Deployment> {
  return transact(ctx, async (t) => {
    const parentId = input.parent_id ?? (await systemDeploymentId(t.tx))
    await deploymentRow(t.tx, parentId)
    let id: number
    try {
      const row = await t.tx
        .insertInto('deployments')
        .values({
          name: input.name,
          description: input.description,
          parent_id: parentId,
          system: 0,
          state: 'committed',
          created_at: t.now,
          updated_at: t.now
        })
        .returning('id')
        .executeTakeFirstOrThrow()
      id = row.id
    } catch (err) {
      if (isUniqueViolation(err)) throw conflict(`a deployment named ${input.name} already exists; choose another name`)
      throw err
    }
    // A new deployment starts with its proposal open: there is nothing committed to edit yet.
    await openSnapshot(t, await deploymentRow(t.tx, id))
    t.emit({ kind: 'deployment', id, action: 'created' })
    return getDeployment(t.tx, id)
  })
}

export async function proposeDeployment(ctx: DomainContext, id: number): Promise<Deployment> {
  return transact(ctx, async (t) => {
    const row = await lockDeployment(t, id)
    if (row.system === 1) {
      throw conflict('the system deployment can never be proposed; create a child deployment for new work')
    }
    if (row.state === 'proposed') throw conflict(`deployment ${row.name} already has an open proposal: commit it first`)
    await openSnapshot(t, row)
    t.emit({ kind: 'deployment', id, action: 'updated' })
    return getDeployment(t.tx, id)
  })
}

/** Commits the open proposal: data is copied to committed, proposed noderoles go to todo/blocked. */
export async function commitDeployment(ctx: DomainContext, id: number): Promise<Deployment> {
  return transact(ctx, async (t) => {
    const row = await lockDeployment(t, id)
    if (row.state !== 'proposed') throw conflict(`deployment ${row.name} has no open proposal: nothing to commit`)
    // Read before commitNodeRoles copies the data over: what the proposal changed must run again.
    const changed = await noderolesWithChangedData(t, id)
    await commitNodeRoles(t, id)
    await t.tx
      .updateTable('deployment_roles')
      .set((eb) => ({ committed_data: eb.ref('proposed_data') }))
      .where('deployment_id', '=', id)
      .execute()
    if (changed.length > 0) await applyPlan(t, planRerun(await loadGraph(t.tx), changed))
    await t.tx
      .updateTable('snapshots')
      .set({ state: 'committed', committed_at: t.now })
      .where('deployment_id', '=', id)
      .where('state', '=', 'proposed')
      .execute()
    await t.tx.updateTable('deployments').set({ state: 'committed', updated_at: t.now }).where('id', '=', id).execute()
    t.emit({ kind: 'deployment', id, action: 'updated' })
    const commits = ctx.commits
    if (commits) {
      const nodeIds = await nodesWithWork(t, id)
      t.afterCommit(() => commits.notify({ deploymentId: id, nodeIds }))
    }
    return getDeployment(t.tx, id)
  })
}

/** The nodes of the deployment's noderoles in todo or blocked: they have work to do. */
async function nodesWithWork(t: TxContext, deploymentId: number): Promise<number[]> {
  const rows = await t.tx
    .selectFrom('noderoles')
    .select('node_id')
    .distinct()
    .where('deployment_id', '=', deploymentId)
    .where('state', 'in', [STATE_CODE.todo, STATE_CODE.blocked])
    .execute()
  return rows.map((r) => r.node_id)
}

/**
 * Noderoles of the deployment, already committed once, whose run input the open proposal changes:
 * their own data, or the deployment-role data of their role. Compared as JSON values, so the same
 * data written again (or with its keys in another order) is no change.
 */
async function noderolesWithChangedData(t: TxContext, deploymentId: number): Promise<number[]> {
  const own = await t.tx
    .selectFrom('noderoles')
    .select(['id', 'proposed_data', 'committed_data'])
    .where('deployment_id', '=', deploymentId)
    .where('state', '!=', STATE_CODE.proposed)
    .whereRef('proposed_data', '!=', 'committed_data')
    .execute()
  const ids = new Set(own.filter((r) => !sameJson(r.proposed_data, r.committed_data)).map((r) => r.id))
  const roles = (
    await t.tx
      .selectFrom('deployment_roles')
      .select(['role_id', 'proposed_data', 'committed_data'])
      .where('deployment_id', '=', deploymentId)
      .whereRef('proposed_data', '!=', 'committed_data')
      .execute()
  ).filter((r) => !sameJson(r.proposed_data, r.committed_data))
  if (roles.length > 0) {
    const ofRoles = await t.tx
      .selectFrom('noderoles')
      .select('id')
      .where('deployment_id', '=', deploymentId)
      .where('state', '!=', STATE_CODE.proposed)
      .where('role_id', 'in', roles.map((r) => r.role_id))
      .execute()
    for (const r of ofRoles) ids.add(r.id)
  }
  return [...ids]
}

/** Copies each noderole's proposed data to committed and moves proposed ones to todo/blocked. */
export async function commitNodeRoles(t: TxContext, deploymentId: number, only?: readonly number[]): Promise<void> {
  // `only` may be a bulk bind's every new noderole: 500 ids a statement stays under both engines'
  // parameter limits.
  const parts: Array<readonly number[] | undefined> = []
  if (!only) parts.push(undefined)
  else for (let i = 0; i < only.length; i += 500) parts.push(only.slice(i, i + 500))
  const ids: number[] = []
  for (const part of parts) {
    let copy = t.tx
      .updateTable('noderoles')
      .set((eb) => ({ committed_data: eb.ref('proposed_data') }))
      .where('deployment_id', '=', deploymentId)
    if (part) copy = copy.where('id', 'in', idList(part))
    await copy.execute()
    let proposed = t.tx
      .selectFrom('noderoles')
      .select('id')
      .where('deployment_id', '=', deploymentId)
      .where('state', '=', STATE_CODE.proposed)
    if (part) proposed = proposed.where('id', 'in', idList(part))
    for (const r of await proposed.execute()) ids.push(r.id)
  }
  if (ids.length === 0) return
  await applyPlan(t, planCommit(await loadGraph(t.tx), ids))
}
