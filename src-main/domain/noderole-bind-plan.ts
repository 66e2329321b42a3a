// Binding planned in memory (Crowbar's NodeRole.create with requirement resolution, DESIGN.md
// §2.1): which noderoles binding a role to nodes creates, their parents and first cohorts, and
// which clients of a cluster role gain a new peer. Pure: noderole-binding.ts loads what the rules
// read, then writes what the plan says.
import type { RoleRecord } from './barclamps'
import { conflict } from '../model/errors'
import { providersOf } from './role-requirements'

/** A stored noderole that a bind may find. */
export interface KnownNodeRole {
  readonly id: number
  readonly roleId: number
  readonly nodeId: number
  readonly deploymentId: number
  readonly cohort: number
}

export interface BindNode {
  readonly id: number
  readonly name: string
}

export interface PlannedNodeRole {
  /** Stands for the id until the row is written: above every stored id, in creation order. */
  readonly key: number
  readonly role: RoleRecord
  readonly node: BindNode
  /** Parent ids or keys, in resolution order. */
  readonly parents: readonly number[]
  /** 1 + the highest parent cohort when planned; raised later if a new cluster peer sits above it. */
  cohort: number
}

/** A new peer of a cluster role, and a noderole of the deployment whose role requires it. */
export interface ClusterEdge {
  readonly peer: number
  readonly client: number
}

/** Stored ids stay far below this (a database would need 2^50 inserts to reach it). */
export const PLANNED_KEY_BASE = 2 ** 50

export const isPlannedKey = (id: number): boolean => id >= PLANNED_KEY_BASE

/**
 * The role ids whose stored noderoles in the deployment (and its ancestors) the bind may read,
 * besides everything on the nodes themselves: `first` for "the first one in this deployment, then
 * each parent deployment", `all` for "every one in this deployment" (cluster peers and the clients
 * a new peer joins).
 */
export function bindReads(roles: readonly RoleRecord[], role: RoleRecord): { first: number[]; all: number[] } {
  const first = new Set<number>()
  const all = new Set<number>()
  const mayCreate = new Map<string, RoleRecord>([[role.name, role]])
  for (const r of mayCreate.values()) {
    for (const requirement of r.requires) {
      const providers = providersOf(roles, requirement)
      const required = providers[0]
      if (!required) continue
      if (required.cluster) providers.forEach((p) => all.add(p.id))
      if (!required.implicit) providers.forEach((p) => first.add(p.id))
      const bindable = providers.find((p) => !p.abstract)
      if (bindable && !mayCreate.has(bindable.name)) mayCreate.set(bindable.name, bindable)
    }
  }
  for (const r of mayCreate.values()) {
    if (!r.cluster) continue
    for (const client of clientRolesOf(roles, r)) all.add(client.id)
  }
  return { first: [...first], all: [...all] }
}

/** Roles that require a cluster role by its name or by a name it provides. */
function clientRolesOf(roles: readonly RoleRecord[], cluster: RoleRecord): RoleRecord[] {
  const names = new Set([cluster.name, ...cluster.provides])
  return roles.filter((r) => r.id !== cluster.id && r.requires.some((q) => names.has(q)))
}

const ascending = (a: number, b: number): number => a - b

export interface BindPlanScope {
  readonly roles: readonly RoleRecord[]
  readonly activeJigs: ReadonlySet<string>
  readonly deploymentId: number
  /** The deployment, then its ancestors up to the root. */
  readonly chain: readonly number[]
}

/**
 * Binds one node after another, as separate binds in that order would: each bind sees the
 * noderoles the earlier ones created. Throws the rule's CrowbarError on the first refusal.
 */
export class BindPlanner {
  readonly created: PlannedNodeRole[] = []
  readonly clusterEdges: ClusterEdge[] = []
  private readonly roleById: ReadonlyMap<number, RoleRecord>
  private readonly providers = new Map<string, RoleRecord[]>()
  private readonly clientRoles = new Map<number, RoleRecord[]>()
  private readonly seen = new Set<number>()
  private readonly roleOf = new Map<number, number>()
  private readonly cohortOf = new Map<number, number>()
  /** `role/node` -> id: a node holds a role at most once. */
  private readonly onNode = new Map<string, number>()
  private readonly ofNode = new Map<number, number[]>()
  /** `deployment/role` -> the lowest id. */
  private readonly firstIn = new Map<string, number>()
  /** role -> ids in this deployment, ascending. */
  private readonly inDeployment = new Map<number, number[]>()

  constructor(private readonly scope: BindPlanScope) {
    this.roleById = new Map(scope.roles.map((r) => [r.id, r]))
  }

  /** Adds stored noderoles (any order, repeats ignored); call before the first bind. */
  know(rows: Iterable<KnownNodeRole>): void {
    for (const row of rows) {
      if (this.seen.has(row.id)) continue
      this.seen.add(row.id)
      this.index(row.id, row.roleId, row.nodeId, row.deploymentId, row.cohort)
    }
    for (const list of this.inDeployment.values()) list.sort(ascending)
    for (const list of this.ofNode.values()) list.sort(ascending)
  }

  cohort(id: number): number | undefined {
    return this.cohortOf.get(id)
  }

  /** The noderole of `role` on `node`: the one it already holds, else a new one. */
  bind(node: BindNode, role: RoleRecord): number {
    return this.bindRole(node, role, [])
  }

  private index(id: number, roleId: number, nodeId: number, deploymentId: number, cohort: number): void {
    this.roleOf.set(id, roleId)
    this.cohortOf.set(id, cohort)
    this.onNode.set(`${roleId}/${nodeId}`, Math.min(id, this.onNode.get(`${roleId}/${nodeId}`) ?? id))
    push(this.ofNode, nodeId, id)
    const key = `${deploymentId}/${roleId}`
    this.firstIn.set(key, Math.min(id, this.firstIn.get(key) ?? id))
    if (deploymentId === this.scope.deploymentId) push(this.inDeployment, roleId, id)
  }

  private providersOf(requirement: string): RoleRecord[] {
    let found = this.providers.get(requirement)
    if (!found) {
      found = providersOf(this.scope.roles, requirement)
      this.providers.set(requirement, found)
    }
    return found
  }

  private bindRole(node: BindNode, role: RoleRecord, path: readonly string[]): number {
    const existing = this.onNode.get(`${role.id}/${node.id}`)
    if (existing !== undefined) return existing
    if (path.includes(role.name)) throw conflict(`role requirements form a cycle: ${[...path, role.name].join(' -> ')}`)
    if (role.abstract) throw conflict(`role ${role.name} is abstract: bind a role that provides it instead`)
    if (!this.scope.activeJigs.has(role.jig)) {
      throw conflict(`role ${role.name} runs with the ${role.jig} jig, which is not active on this installation`)
    }
    this.refuseConflicts(node, role)
    const parents: number[] = []
    const taken = new Set<number>()
    for (const requirement of role.requires) {
      for (const id of this.resolve(node, role, requirement, [...path, role.name])) {
        if (taken.has(id)) continue
        taken.add(id)
        parents.push(id)
      }
    }
    return this.add(node, role, parents)
  }

  /** A role may not sit on a node beside a role it conflicts with, nor duplicate what one provides. */
  private refuseConflicts(node: BindNode, role: RoleRecord): void {
    for (const id of this.ofNode.get(node.id) ?? []) {
      const other = this.roleById.get(this.roleOf.get(id) ?? 0)
      if (!other) continue
      if (role.conflicts.includes(other.name) || other.conflicts.includes(role.name)) {
        throw conflict(`role ${role.name} conflicts with role ${other.name}, already bound on ${node.name}`)
      }
      // Provides both ways: a role beside one that stands in for it, whichever came first.
      if (other.provides.includes(role.name)) {
        throw conflict(`node ${node.name} already has ${other.name}, which provides ${role.name}: bind one or the other`)
      }
      if (role.provides.includes(other.name)) {
        throw conflict(`node ${node.name} already has ${other.name}, which ${role.name} provides: bind one or the other`)
      }
      const dup = role.provides.find((p) => other.provides.includes(p))
      if (dup) throw conflict(`node ${node.name} already has ${other.name}, which provides ${dup} as ${role.name} would`)
    }
  }

  private resolve(node: BindNode, role: RoleRecord, requirement: string, path: readonly string[]): number[] {
    const providers = this.providersOf(requirement)
    const required = providers[0]
    if (!required) throw conflict(`role ${role.name} requires ${requirement}, which no installed role provides`)
    const lowest = (ids: Array<number | undefined>): number | undefined => {
      const found = ids.filter((id) => id !== undefined)
      return found.length > 0 ? Math.min(...found) : undefined
    }
    const here = lowest(providers.map((p) => this.onNode.get(`${p.id}/${node.id}`)))
    if (here !== undefined) return [here]
    if (required.cluster) {
      const peers = providers.flatMap((p) => this.inDeployment.get(p.id) ?? [])
      if (peers.length > 0) return providers.length > 1 ? peers.sort(ascending) : peers
    }
    if (!required.implicit) {
      for (const d of this.scope.chain) {
        const found = lowest(providers.map((p) => this.firstIn.get(`${d}/${p.id}`)))
        if (found !== undefined) return [found]
      }
    }
    const bindable = providers.find((p) => !p.abstract)
    if (!bindable) throw conflict(`role ${role.name} requires ${requirement}, which only abstract roles provide`)
    return [this.bindRole(node, bindable, path)]
  }

  private add(node: BindNode, role: RoleRecord, parents: number[]): number {
    const key = PLANNED_KEY_BASE + this.created.length
    let cohort = 0
    for (const p of parents) cohort = Math.max(cohort, 1 + (this.cohortOf.get(p) ?? 0))
    // Clients are read before the new peer is indexed: a role never requires itself.
    if (role.cluster) {
      const clients = this.clientRolesOfCached(role).flatMap((r) => this.inDeployment.get(r.id) ?? [])
      for (const client of clients.sort(ascending)) this.clusterEdges.push({ peer: key, client })
    }
    this.index(key, role.id, node.id, this.scope.deploymentId, cohort)
    this.created.push({ key, role, node, parents, cohort })
    return key
  }

  private clientRolesOfCached(role: RoleRecord): RoleRecord[] {
    let found = this.clientRoles.get(role.id)
    if (!found) {
      found = clientRolesOf(this.scope.roles, role)
      this.clientRoles.set(role.id, found)
    }
    return found
  }
}

function push<K>(map: Map<K, number[]>, key: K, value: number): void {
  const list = map.get(key)
  if (list) list.push(value)
  else map.set(key, [value])
}
