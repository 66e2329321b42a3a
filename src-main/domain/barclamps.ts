// Barclamps and their roles: installing a barclamp validates its roles as a whole (known jigs,
// every requirement resolvable, no requirement cycle) before anything is written.
import type { Barclamp, BarclampDefinition, Role } from '../model'
import { ROLE_FLAGS } from '../model'
import type { RoleRow } from '../store/database'
import type { Queryable } from '../store/database'
import { parseJsonObject, parseStringArray } from './attributes'
import { transact, type DomainContext, type TxContext } from './context'
import { conflict, invalid } from '../model/errors'
import { KNOWN_JIGS } from './jigs-known'
import { findRequirementCycle, unresolvedRequirements, type RoleRequirementInfo } from './role-requirements'

export interface RoleRecord extends RoleRequirementInfo {
  readonly id: number
  readonly barclampId: number
  readonly jig: string
  readonly implicit: boolean
  readonly cluster: boolean
  readonly abstract: boolean
  readonly conflicts: readonly string[]
  readonly row: RoleRow
}

export function toRoleRecord(row: RoleRow): RoleRecord {
  return {
    id: row.id,
    barclampId: row.barclamp_id,
    name: row.name,
    jig: row.jig,
    requires: parseStringArray(row.requires),
    provides: parseStringArray(row.provides),
    conflicts: parseStringArray(row.conflicts),
    implicit: row.implicit === 1,
    cluster: row.cluster === 1,
    abstract: row.abstract === 1,
    row
  }
}

export async function loadRoles(db: Queryable): Promise<RoleRecord[]> {
  const rows = await db.selectFrom('roles').selectAll().orderBy('id').execute()
  return rows.map(toRoleRecord)
}

function toRole(row: RoleRow, barclamp: string): Role {
  return {
    id: row.id,
    name: row.name,
    barclamp,
    description: row.description,
    jig: row.jig,
    requires: parseStringArray(row.requires),
    provides: parseStringArray(row.provides),
    conflicts: parseStringArray(row.conflicts),
    precedes: parseStringArray(row.precedes),
    flags: Object.fromEntries(ROLE_FLAGS.map((f) => [f, row[f] === 1])) as Role['flags'],
    attributes: parseJsonObject(row.template),
    scripts: parseStringArray(row.scripts)
  }
}

export async function listRoles(db: Queryable): Promise<Role[]> {
  const rows = await db
    .selectFrom('roles')
    .innerJoin('barclamps', 'barclamps.id', 'roles.barclamp_id')
    .selectAll('roles')
    .select('barclamps.name as barclamp_name')
    .orderBy('roles.id')
    .execute()
  return rows.map((r) => toRole(r, r.barclamp_name))
}

export async function listBarclamps(db: Queryable): Promise<Barclamp[]> {
  const barclamps = await db.selectFrom('barclamps').selectAll().orderBy('id').execute()
  const roles = await db.selectFrom('roles').select(['name', 'barclamp_id']).orderBy('id').execute()
  return barclamps.map((b) => ({
    id: b.id,
    name: b.name,
    description: b.description,
    version: b.version,
    roles: roles.filter((r) => r.barclamp_id === b.id).map((r) => r.name)
  }))
}

/** Installs a barclamp, or updates it (same name): its roles are added or redefined. */
export async function importBarclamp(ctx: DomainContext, def: BarclampDefinition): Promise<Barclamp> {
  const names = def.roles.map((r) => r.name)
  const dup = names.find((n, i) => names.indexOf(n) !== i)
  if (dup) throw invalid(`barclamp ${def.name} declares role "${dup}" twice`)
  const unknownJig = def.roles.find((r) => !(KNOWN_JIGS as readonly string[]).includes(r.jig))
  if (unknownJig) {
    throw invalid(`role ${unknownJig.name} names jig "${unknownJig.jig}"; known jigs are ${KNOWN_JIGS.join(', ')}`)
  }

  const id = await transact(ctx, async (t) => {
    const existing = await loadRoles(t.tx)
    const existingBarclamp = await t.tx.selectFrom('barclamps').selectAll().where('name', '=', def.name).executeTakeFirst()
    const foreign = existing.find((r) => names.includes(r.name) && r.barclampId !== existingBarclamp?.id)
    if (foreign) throw conflict(`role ${foreign.name} already belongs to another barclamp; role names are global`)

    // Judge the role set as it will be after the import.
    const after: RoleRequirementInfo[] = [
      ...existing.filter((r) => !names.includes(r.name)),
      ...def.roles.map((r) => ({ name: r.name, requires: r.requires, provides: r.provides }))
    ]
    const missing = unresolvedRequirements(after)
    if (missing.length > 0) {
      const m = missing[0] as { role: string; requires: string }
      throw invalid(`role ${m.role} requires "${m.requires}", which no installed role provides or is being installed`)
    }
    const cycle = findRequirementCycle(after)
    if (cycle) throw invalid(`role requirements form a cycle: ${cycle.join(' -> ')}`)

    let barclampId: number
    if (existingBarclamp) {
      barclampId = existingBarclamp.id
      await t.tx
        .updateTable('barclamps')
        .set({ description: def.description, version: def.version })
        .where('id', '=', barclampId)
        .execute()
    } else {
      const row = await t.tx
        .insertInto('barclamps')
        .values({ name: def.name, description: def.description, version: def.version })
        .returning('id')
        .executeTakeFirstOrThrow()
      barclampId = row.id
    }
    for (const r of def.roles) {
      const values = {
        name: r.name,
        barclamp_id: barclampId,
        description: r.description,
        jig: r.jig,
        requires: JSON.stringify(r.requires),
        provides: JSON.stringify(r.provides),
        conflicts: JSON.stringify(r.conflicts),
        precedes: JSON.stringify(r.precedes),
        template: JSON.stringify(r.attributes),
        scripts: JSON.stringify(r.scripts),
        ...Object.fromEntries(ROLE_FLAGS.map((f) => [f, r.flags[f] ? 1 : 0]))
      }
      const found = existing.find((e) => e.name === r.name)
      if (found) await t.tx.updateTable('roles').set(values).where('id', '=', found.id).execute()
      else await t.tx.insertInto('roles').values(values).execute()
    }
    t.emit({ kind: 'barclamp', id: barclampId, action: existingBarclamp ? 'updated' : 'created' })
    return barclampId
  })
  const all = await listBarclamps(ctx.db)
  return all.find((b) => b.id === id) as Barclamp
}

export interface RuntimeRole {
  readonly barclamp: { readonly name: string; readonly description: string; readonly version: string }
  readonly name: string
  readonly description: string
  readonly jig: string
  /** Satisfied on its own node only (DESIGN.md: a role that requires it never looks elsewhere). */
  readonly implicit: boolean
  /** What to tell the user when another barclamp owns the name (default: choose another name). */
  readonly whenTaken?: string
}

/**
 * Makes sure a role a barclamp creates while running (the network barclamp's one per network)
 * exists, creating its barclamp the first time; refuses a name another barclamp already owns.
 */
export async function ensureRuntimeRole(t: TxContext, role: RuntimeRole): Promise<void> {
  let barclamp = await t.tx.selectFrom('barclamps').select('id').where('name', '=', role.barclamp.name).executeTakeFirst()
  barclamp ??= await t.tx.insertInto('barclamps').values(role.barclamp).returning('id').executeTakeFirstOrThrow()
  const existing = await t.tx.selectFrom('roles').select(['id', 'barclamp_id']).where('name', '=', role.name).executeTakeFirst()
  if (existing && existing.barclamp_id !== barclamp.id) throw conflict(`role ${role.name} already belongs to another barclamp; ${role.whenTaken ?? 'choose another name'}`)
  if (existing) return
  await t.tx
    .insertInto('roles')
    .values({ name: role.name, barclamp_id: barclamp.id, description: role.description, jig: role.jig, implicit: role.implicit ? 1 : 0 })
    .execute()
}
