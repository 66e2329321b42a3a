// Binding a role to a node (Crowbar's NodeRole.create with requirement resolution) and removing
// a binding. Each requirement is satisfied, in order, by: a noderole of it (or of a role providing
// it) on the same node; for a cluster role, every peer in the deployment; unless it is implicit,
// one in this deployment, then in each parent deployment up the tree; else a new noderole on the
// same node.
import type { DeploymentRow, NodeRow, Tx } from '../store/database'
import { loadRoles, type RoleRecord } from './barclamps'
import { deepMerge, type JsonObject } from './attributes'
import { transact, type BindHook, type DomainContext, type TxContext } from './context'
import { ancestorsOf, commitNodeRoles, deploymentRow } from './deployments'
import { conflict, invalid, notFound } from '../model/errors'
import { activeJigsOf } from './jigs-known'
import { nodeRow } from './nodes'
import { STATE_CODE, stateFromCode } from './noderole-states'
import { providersOf } from './role-requirements'

interface BindScope {
  readonly t: TxContext
  readonly hooks: readonly BindHook[]
  readonly activeJigs: ReadonlySet<string>
  readonly deployment: DeploymentRow
  readonly ancestors: readonly DeploymentRow[]
  readonly node: NodeRow
  readonly roles: readonly RoleRecord[]
  /** Noderoles created by this bind, in creation order (parents before children). */
  readonly created: number[]
}

export interface BindOptions {
  /**
   * Framework binds (discovery roles, the admin node) go straight into a committed deployment and
   * are committed at once; operator binds need an open proposal.
   */
  readonly commitNow?: boolean
}

export async function bindNodeRole(
  ctx: DomainContext,
  input: { deployment_id: number; node_id: number; role: string },
  options: BindOptions = {}
): Promise<number> {
  return transact(ctx, async (t) => {
    const deployment = await deploymentRow(t.tx, input.deployment_id)
    if (deployment.state !== 'proposed' && !options.commitNow) {
      throw conflict(`deployment ${deployment.name} is committed: propose it before binding roles`)
    }
    const node = await nodeRow(t.tx, input.node_id)
    const roles = await loadRoles(t.tx)
    const role = roles.find((r) => r.name === input.role)
    if (!role) throw notFound(`no role named ${input.role}; install the barclamp that declares it`)
    const scope: BindScope = { t, hooks: ctx.bindHooks?.all ?? [], activeJigs: activeJigsOf(ctx), deployment, ancestors: await ancestorsOf(t.tx, deployment), node, roles, created: [] }
    const id = await bindRole(scope, role, [])
    if (options.commitNow && deployment.state !== 'proposed' && scope.created.length > 0) {
      await commitNodeRoles(t, deployment.id, scope.created)
    }
    return id
  })
}

async function bindRole(scope: BindScope, role: RoleRecord, path: readonly string[]): Promise<number> {
  const { t, node } = scope
  const existing = await t.tx
    .selectFrom('noderoles')
    .select('id')
    .where('role_id', '=', role.id)
    .where('node_id', '=', node.id)
    .executeTakeFirst()
  if (existing) return existing.id
  if (path.includes(role.name)) throw invalid(`role requirements form a cycle: ${[...path, role.name].join(' -> ')}`)
  if (role.abstract) throw invalid(`role ${role.name} is abstract: bind a role that provides it instead`)
  if (!scope.activeJigs.has(role.jig)) {
    throw conflict(`role ${role.name} runs with the ${role.jig} jig, which is not active on this installation`)
  }
  await refuseConflicts(scope, role)

  const parents: number[] = []
  for (const requirement of role.requires) {
    for (const id of await resolveRequirement(scope, role, requirement, [...path, role.name])) {
      if (!parents.includes(id)) parents.push(id)
    }
  }
  const parentRows =
    parents.length === 0 ? [] : await t.tx.selectFrom('noderoles').select('cohort').where('id', 'in', parents).execute()
  const cohort = parentRows.length === 0 ? 0 : 1 + Math.max(...parentRows.map((p) => p.cohort))

  const row = await t.tx
    .insertInto('noderoles')
    .values({
      deployment_id: scope.deployment.id,
      role_id: role.id,
      node_id: node.id,
      state: STATE_CODE.proposed,
      cohort,
      created_at: t.now,
      updated_at: t.now
    })
    .returning('id')
    .executeTakeFirstOrThrow()
  if (parents.length > 0) {
    await t.tx
      .insertInto('noderole_edges')
      .values(parents.map((p) => ({ parent_id: p, child_id: row.id })))
      .execute()
  }
  await t.tx
    .insertInto('deployment_roles')
    .values({ deployment_id: scope.deployment.id, role_id: role.id })
    .onConflict((oc) => oc.columns(['deployment_id', 'role_id']).doNothing())
    .execute()
  let sysdata: JsonObject = {}
  for (const hook of scope.hooks) {
    const data = await hook(t, { noderoleId: row.id, role: role.name, node: { id: node.id, name: node.name } })
    if (data) sysdata = deepMerge(sysdata, data)
  }
  if (Object.keys(sysdata).length > 0) {
    await t.tx.updateTable('noderoles').set({ sysdata: JSON.stringify(sysdata) }).where('id', '=', row.id).execute()
  }
  scope.created.push(row.id)
  t.emit({ kind: 'noderole', id: row.id, action: 'created', state: 'proposed' })
  return row.id
}

async function resolveRequirement(
  scope: BindScope,
  role: RoleRecord,
  requirement: string,
  path: readonly string[]
): Promise<number[]> {
  const { t, node, deployment } = scope
  const providers = providersOf(scope.roles, requirement)
  const required = providers[0]
  if (!required) throw invalid(`role ${role.name} requires ${requirement}, which no installed role provides`)
  const providerIds = providers.map((p) => p.id)
  const find = (tx: Tx) => tx.selectFrom('noderoles').select('id').where('role_id', 'in', providerIds).orderBy('id')

  const onNode = await find(t.tx).where('node_id', '=', node.id).executeTakeFirst()
  if (onNode) return [onNode.id]
  if (required.cluster) {
    const peers = await find(t.tx).where('deployment_id', '=', deployment.id).execute()
    if (peers.length > 0) return peers.map((p) => p.id)
  }
  if (!required.implicit) {
    for (const d of [deployment, ...scope.ancestors]) {
      const found = await find(t.tx).where('deployment_id', '=', d.id).executeTakeFirst()
      if (found) return [found.id]
    }
  }
  const bindable = providers.find((p) => !p.abstract)
  if (!bindable) throw invalid(`role ${role.name} requires ${requirement}, which only abstract roles provide`)
  return [await bindRole(scope, bindable, path)]
}

/** A role may not sit on a node beside a role it conflicts with, nor duplicate what one provides. */
async function refuseConflicts(scope: BindScope, role: RoleRecord): Promise<void> {
  const bound = await scope.t.tx
    .selectFrom('noderoles')
    .select('role_id')
    .where('node_id', '=', scope.node.id)
    .execute()
  for (const { role_id } of bound) {
    const other = scope.roles.find((r) => r.id === role_id)
    if (!other) continue
    if (role.conflicts.includes(other.name) || other.conflicts.includes(role.name)) {
      throw conflict(`role ${role.name} conflicts with role ${other.name}, already bound on ${scope.node.name}`)
    }
    const dup = role.provides.find((p) => other.name === p || other.provides.includes(p))
    if (dup) throw conflict(`node ${scope.node.name} already has ${other.name}, which provides ${dup} as ${role.name} would`)
  }
}

/**
 * Removes a noderole. Allowed for a leaf, for one whose descendants are all on its own node, or for
 * one whose descendants are all proposed and never run; the descendants go with it.
 */
export async function deleteNodeRole(ctx: DomainContext, id: number): Promise<{ deleted: number[] }> {
  return transact(ctx, async (t) => {
    const target = await t.tx.selectFrom('noderoles').selectAll().where('id', '=', id).executeTakeFirst()
    if (!target) throw notFound(`no noderole with id ${id}`)
    const all = await t.tx.selectFrom('noderoles').select(['id', 'node_id', 'state', 'run_count']).execute()
    const edges = await t.tx.selectFrom('noderole_edges').select(['parent_id', 'child_id']).execute()
    const byId = new Map(all.map((r) => [r.id, r]))
    const descendants: number[] = []
    const queue = edges.filter((e) => e.parent_id === id).map((e) => e.child_id)
    while (queue.length > 0) {
      const next = queue.shift() as number
      if (next === id || descendants.includes(next)) continue
      descendants.push(next)
      queue.push(...edges.filter((e) => e.parent_id === next).map((e) => e.child_id))
    }
    const doomed = [id, ...descendants]
    const running = doomed.find((d) => byId.get(d)?.state === STATE_CODE.transition)
    if (running !== undefined) throw conflict(`noderole ${running} is running; wait for its run to finish`)
    const rows = descendants.map((d) => byId.get(d)).filter((r) => r !== undefined)
    const sameNode = rows.every((r) => r.node_id === target.node_id)
    const untouched = rows.every((r) => stateFromCode(r.state) === 'proposed' && r.run_count === 0)
    if (!sameNode && !untouched) {
      const other = rows.find((r) => r.node_id !== target.node_id) ?? rows[0]
      throw conflict(
        `noderole ${id} has descendants on other nodes that are committed or have run (e.g. noderole ${other?.id}); remove those first`
      )
    }
    // Children first, so no edge ever points at a deleted row mid-way.
    for (const d of [...doomed].reverse()) {
      await t.tx.deleteFrom('noderoles').where('id', '=', d).execute()
      t.emit({ kind: 'noderole', id: d, action: 'deleted' })
    }
    return { deleted: doomed }
  })
}
