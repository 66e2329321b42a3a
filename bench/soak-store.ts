// bench:soak's look into the store: the app's SQLite file opened read-only (between lives, and at
// the end) to count what a crash may have broken: noderoles and their jobs, DHCP leases and
// reservations. Plain SQL over the sqlite3 package; the table shapes are src-main/store/migrations.
import sqlite3 from 'sqlite3'
import { STATE_CODE } from '../src-main/domain/noderole-states'

export interface JobCounts {
  readonly total: number
  readonly queued: number
  readonly running: number
  readonly done: number
  /** Closed by recovery after a crash ("[abandoned: ...]"), a new attempt queued. */
  readonly abandoned: number
  /** Failed by their jig (the soak's test jig never fails): each one is a finding. */
  readonly failed_other: number
}

export interface StoreView {
  readonly noderoles: number
  readonly states: Readonly<Record<string, number>>
  readonly jobs: JobCounts
  /** Noderoles in transition with no queued or running job: a run nobody will do. */
  readonly transition_without_job: number
  /** Queued or running jobs whose noderole is not in transition. */
  readonly live_job_not_in_transition: number
  /** Abandoned jobs with no later job for their noderole. */
  readonly abandoned_without_retry: number
  /** Active noderoles no job ever finished. */
  readonly active_without_done_job: number
  readonly job_ids: ReadonlySet<number>
  /** MAC -> leased address. */
  readonly leases: ReadonlyMap<string, string>
  /** Known nodes' MACs with an IPv4 allocation (what DHCP reserves for them). */
  readonly reservations: number
  /** Addresses held twice in the store: two leases, a lease on another MAC's reservation, two allocations. */
  readonly doubled: ReadonlyArray<{ readonly address: string; readonly holders: readonly string[]; readonly how: string }>
}

const STATE_NAME = new Map<number, string>(Object.entries(STATE_CODE).map(([name, code]) => [code, name]))

function all<T>(db: sqlite3.Database, query: string): Promise<T[]> {
  return new Promise((resolve, reject) => db.all(query, (err: Error | null, rows: T[]) => (err ? reject(err) : resolve(rows))))
}

function open(file: string): Promise<sqlite3.Database> {
  return new Promise((resolve, reject) => {
    const db = new sqlite3.Database(file, sqlite3.OPEN_READONLY, (err) => (err ? reject(err) : resolve(db)))
  })
}

function close(db: sqlite3.Database): Promise<void> {
  return new Promise((resolve) => db.close(() => resolve()))
}

const count = async (db: sqlite3.Database, query: string): Promise<number> => Number((await all<{ n: number }>(db, query))[0]?.n ?? 0)

/** Reads the store read-only. With the app down this is the state its crash left. */
export async function readStore(file: string): Promise<StoreView> {
  const db = await open(file)
  try {
    // One read transaction: every count below sees the same moment, even if the app is running.
    await all(db, 'BEGIN')
    const T = STATE_CODE.transition
    const states: Record<string, number> = {}
    let noderoles = 0
    for (const r of await all<{ state: number; n: number }>(db, 'SELECT state, COUNT(*) AS n FROM noderoles GROUP BY state')) {
      states[STATE_NAME.get(r.state) ?? String(r.state)] = r.n
      noderoles += r.n
    }
    const jobStates = new Map((await all<{ state: string; n: number }>(db, 'SELECT state, COUNT(*) AS n FROM jobs GROUP BY state')).map((r) => [r.state, r.n]))
    const abandoned = await count(db, `SELECT COUNT(*) AS n FROM jobs WHERE state = 'failed' AND output LIKE '%[abandoned:%'`)
    const jobs: JobCounts = {
      total: [...jobStates.values()].reduce((a, b) => a + b, 0),
      queued: jobStates.get('queued') ?? 0,
      running: jobStates.get('running') ?? 0,
      done: jobStates.get('done') ?? 0,
      abandoned,
      failed_other: (jobStates.get('failed') ?? 0) - abandoned
    }
    const transitionWithoutJob = await count(
      db,
      `SELECT COUNT(*) AS n FROM noderoles nr WHERE nr.state = ${T}
         AND NOT EXISTS (SELECT 1 FROM jobs j WHERE j.noderole_id = nr.id AND j.state IN ('queued', 'running'))`
    )
    const liveNotInTransition = await count(
      db,
      `SELECT COUNT(*) AS n FROM jobs j JOIN noderoles nr ON nr.id = j.noderole_id WHERE j.state IN ('queued', 'running') AND nr.state != ${T}`
    )
    const abandonedWithoutRetry = await count(
      db,
      `SELECT COUNT(*) AS n FROM jobs a WHERE a.state = 'failed' AND a.output LIKE '%[abandoned:%'
         AND NOT EXISTS (SELECT 1 FROM jobs b WHERE b.noderole_id = a.noderole_id AND b.id > a.id)`
    )
    const activeWithoutDone = await count(
      db,
      `SELECT COUNT(*) AS n FROM noderoles nr WHERE nr.state = ${STATE_CODE.active}
         AND NOT EXISTS (SELECT 1 FROM jobs j WHERE j.noderole_id = nr.id AND j.state = 'done')`
    )
    const jobIds = new Set((await all<{ id: number }>(db, 'SELECT id FROM jobs')).map((r) => r.id))
    const leaseRows = await all<{ mac: string; address: string }>(db, 'SELECT mac, address FROM dhcp_leases')
    const reservations = await all<{ mac: string; address: string }>(
      db,
      'SELECT m.mac AS mac, a.address AS address FROM node_macs m JOIN network_allocations a ON a.node_id = m.node_id AND a.family = 4'
    )
    const doubledAllocations = await all<{ address: string; nodes: string }>(
      db,
      `SELECT address, GROUP_CONCAT(node_id) AS nodes FROM network_allocations WHERE family = 4 GROUP BY network_id, address HAVING COUNT(*) > 1`
    )
    await all(db, 'COMMIT')

    const doubled: Array<{ address: string; holders: string[]; how: string }> = []
    const byAddress = new Map<string, string[]>()
    for (const l of leaseRows) byAddress.set(l.address, [...(byAddress.get(l.address) ?? []), l.mac])
    for (const [address, macs] of byAddress) if (macs.length > 1) doubled.push({ address, holders: macs, how: 'two leases' })
    for (const r of reservations) {
      const leased = byAddress.get(r.address)?.filter((mac) => mac !== r.mac) ?? []
      if (leased.length > 0) doubled.push({ address: r.address, holders: [r.mac, ...leased], how: 'a lease on another MAC’s reservation' })
    }
    for (const a of doubledAllocations) doubled.push({ address: a.address, holders: a.nodes.split(',').map((n) => `node ${n}`), how: 'two allocations' })

    return {
      noderoles,
      states,
      jobs,
      transition_without_job: transitionWithoutJob,
      live_job_not_in_transition: liveNotInTransition,
      abandoned_without_retry: abandonedWithoutRetry,
      active_without_done_job: activeWithoutDone,
      job_ids: jobIds,
      leases: new Map(leaseRows.map((l) => [l.mac, l.address])),
      reservations: reservations.length,
      doubled
    }
  } finally {
    await close(db)
  }
}
