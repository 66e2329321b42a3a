// bench:soak (issue 13, "Crash soak") — the headless app (`crowbar serve`) SIGKILLed at 20 seeded
// random moments while it anneals 1,000 test-jig noderoles and serves a DHCP lease storm from a
// network namespace; restarted each time on the same data dir. After each kill the store is read as
// the crash left it, and at the end: every noderole converged, no job lost, no IPv4 address held by
// two MACs, no ACKed lease lost. Writes bench/results/soak.json. Needs root (namespaces, port 67).
// SOAK_SEED replays a run's kill plan and the storm's choices (the timing is the machine's);
// SOAK_KILLS, SOAK_NODES, SOAK_ROLES, SOAK_DELAY_MS, SOAK_MAX_JOBS, SOAK_DHCP_RATE resize it;
// SOAK_FROM_SOURCE=1 runs src-main through tsx instead of bin/crowbar.js; SOAK_KEEP=1 keeps the
// data dir and the app's log (kept anyway when a check fails).
import { spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { createWriteStream, type WriteStream } from 'node:fs'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import type { OperationInput } from '../src-main/api/contract'
import { messageOf } from '../src-main/base/error-message'
import { cleanUp, cleanups, HERE, log, onExitSignal, run_state, sleep } from './boot-harness'
import { createBenchTopology, type BenchTopology } from './boot-topology'
import { builtIsStale, ROOT, SoakApp } from './soak-app'
import { LeaseLedger } from './soak-ledger'
import { between, seededRandom, type Random } from './soak-random'
import { readStore, type StoreView } from './soak-store'
import type { StormConfig, StormEvent } from './soak-storm'

const envNumber = (name: string, fallback: number): number => {
  const v = process.env[name]
  if (v === undefined || v === '') return fallback
  const n = Number(v)
  if (!Number.isFinite(n) || n < 0) throw new Error(`${name} must be a non-negative number, not "${v}"`)
  return n
}

const SEED = envNumber('SOAK_SEED', randomBytes(4).readUInt32BE(0))
const KILLS = envNumber('SOAK_KILLS', 20)
const NODES = envNumber('SOAK_NODES', 50)
const ROLES = envNumber('SOAK_ROLES', 20)
const DELAY_MS = envNumber('SOAK_DELAY_MS', 600)
const MAX_JOBS = envNumber('SOAK_MAX_JOBS', 10)
/** New storm MACs per second (each a DISCOVER/REQUEST, most later releasing); renewals are a third of it. */
const DHCP_RATE = envNumber('SOAK_DHCP_RATE', 200)
const FROM_SOURCE = process.env.SOAK_FROM_SOURCE === '1'
/** A kill during start-up (before or around "listening") this often; the others during the anneal. */
const STARTUP_KILL_SHARE = 0.2
/** Bounds: the whole run, one wait for an anneal threshold, the final convergence. */
const DEADLINE_MS = 9 * 60_000
const THRESHOLD_WAIT_MS = 60_000
const CONVERGE_WAIT_MS = 180_000
const POLL_MS = 300
const JOB_POLL_MS = 2_000
/** After a kill: the storm's last events reach the ledger before the store is compared with it. */
const DRAIN_MS = 300
const RESULTS = join(HERE, 'results', 'soak.json')

interface PlannedKill {
  readonly n: number
  readonly kind: 'anneal' | 'startup'
  /** anneal: the share of noderoles active before the kill may come. */
  readonly threshold: number
  /** anneal: after the threshold is reached; startup: after the spawn. */
  readonly delay_ms: number
}

interface KillRecord extends PlannedKill {
  readonly at_s: number
  /** Wall clock of the kill, to match the app's and the storm's logs. */
  readonly at: string
  readonly uptime_ms: number
  readonly listening: boolean
  readonly threshold_reached: boolean
  /** Active noderoles the API last showed before the kill, and what the crashed store holds. */
  readonly active_seen: number
  readonly active_in_store: number
  readonly running_jobs: number
  readonly queued_jobs: number
  readonly held_leases: number
  readonly leases_in_store: number
  /** Some noderole was not yet active when the process died. */
  readonly during_anneal: boolean
  readonly findings: readonly string[]
}

function plan(random: Random): PlannedKill[] {
  const kinds = Array.from({ length: KILLS }, (_, i) => (i > 0 && random() < STARTUP_KILL_SHARE ? ('startup' as const) : ('anneal' as const)))
  const thresholds = kinds.map(() => 0.02 + random() * 0.93).sort((a, b) => a - b)
  return kinds.map((kind, i) => ({
    n: i + 1,
    kind,
    threshold: kind === 'anneal' ? Number((thresholds[i] as number).toFixed(3)) : 0,
    delay_ms: kind === 'anneal' ? between(random, 0, 1_500) : between(random, 150, 3_500)
  }))
}

/** 20 roles a node, each requiring the one before, every fourth also the one three back (bench:anneal's shape). */
function soakBarclamp(): OperationInput<'importBarclamp'> {
  return {
    name: 'soak',
    description: 'bench:soak: test-jig chains for the crash soak',
    roles: Array.from({ length: ROLES }, (_, i) => {
      const requires = i === 0 ? [] : [`soak-${i}`]
      if (i >= 3 && i % 4 === 0) requires.push(`soak-${i - 2}`)
      return { name: `soak-${i + 1}`, jig: 'test', requires, flags: { implicit: true }, attributes: { test_jig: { delay_ms: DELAY_MS } } }
    })
  }
}

const elapsed = (start: number): number => Number(((performance.now() - start) / 1000).toFixed(1))

class Soak {
  readonly start = performance.now()
  readonly ledger = new LeaseLedger()
  readonly kills: KillRecord[] = []
  /** Job ids the API showed at some time: each must still be in the store at the end. */
  readonly jobsSeen = new Set<number>()
  readonly findings: string[] = []
  activeSeen = 0
  totalSeen = 0
  storm: ChildProcess | undefined
  stormExited: Promise<void> = Promise.resolve()
  stormStderr = ''

  readonly stormLog: WriteStream

  constructor(
    readonly t: BenchTopology,
    readonly app: SoakApp,
    readonly dbFile: string,
    stormLogFile: string
  ) {
    this.stormLog = createWriteStream(stormLogFile, { flags: 'a' })
  }

  find(text: string): void {
    this.findings.push(text)
    log(`  FINDING: ${text}`)
  }

  async progress(): Promise<{ active: number; total: number }> {
    const noderoles = await this.app.call('listNodeRoles', {})
    const active = noderoles.filter((nr) => nr.state === 'active').length
    this.activeSeen = active
    this.totalSeen = noderoles.length
    return { active, total: noderoles.length }
  }

  async pollJobs(): Promise<void> {
    for (const j of await this.app.call('listJobs', { limit: 1000 })) this.jobsSeen.add(j.id)
  }

  /** Waits (bounded) until `share` of the noderoles are active, sampling jobs on the way. */
  async waitForShare(share: number, limitMs: number): Promise<boolean> {
    const until = performance.now() + limitMs
    let lastJobs = 0
    for (let i = 0; i < Math.ceil(limitMs / POLL_MS) + 1 && performance.now() < until; i++) {
      const p = await this.progress()
      if (performance.now() - lastJobs > JOB_POLL_MS) {
        await this.pollJobs()
        lastJobs = performance.now()
      }
      if (p.total > 0 && p.active >= share * p.total) return true
      await sleep(POLL_MS)
    }
    return false
  }

  startStorm(config: StormConfig): Promise<void> {
    const child = spawn('ip', ['netns', 'exec', this.t.clientNs, process.execPath, '--import', 'tsx', join(HERE, 'soak-storm.ts'), JSON.stringify(config)], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe']
    })
    this.storm = child
    this.stormExited = new Promise((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) resolve()
      else child.once('exit', () => resolve())
    })
    child.stderr?.setEncoding('utf8')
    child.stderr?.on('data', (chunk: string) => {
      this.stormStderr = (this.stormStderr + chunk).slice(-4_000)
      this.stormLog.write(chunk)
    })
    const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream })
    lines.on('line', (line) => {
      try {
        this.ledger.apply(JSON.parse(line) as StormEvent, elapsed(this.start))
      } catch {
        this.stormStderr = `${this.stormStderr}\nunparsed: ${line.slice(0, 200)}`.slice(-4_000)
      }
    })
    const stop = (): Promise<void> => this.stopStorm()
    cleanups.push(stop)
    return (async () => {
      for (let i = 0; i < 100 && !this.ledger.ready; i++) {
        if (child.exitCode !== null) break
        await sleep(100)
      }
      if (!this.ledger.ready) throw new Error(`the DHCP storm client did not start: ${this.stormStderr || '(no output)'}`)
    })()
  }

  /** SIGTERM by PID: it stops starting exchanges, waits briefly for answers, reports, exits. */
  async stopStorm(): Promise<void> {
    const child = this.storm
    if (!child?.pid || child.exitCode !== null || child.signalCode !== null) return
    try {
      process.kill(child.pid, 'SIGTERM')
    } catch {
      return
    }
    if ((await Promise.race([this.stormExited.then(() => 'gone' as const), sleep(5_000).then(() => 'late' as const)])) === 'late') {
      try {
        process.kill(child.pid, 'SIGKILL')
      } catch {
        // gone meanwhile
      }
      await Promise.race([this.stormExited, sleep(2_000)])
    }
  }

  /** The crashed store against the API's last view and the storm's ledger. */
  checkpoint(view: StoreView, when: string): string[] {
    const out: string[] = []
    const active = view.states.active ?? 0
    if (active < this.activeSeen) out.push(`${when}: the API had shown ${this.activeSeen} active noderoles, the store holds ${active}`)
    if (view.transition_without_job > 0) out.push(`${when}: ${view.transition_without_job} noderoles in transition without a queued or running job`)
    if (view.live_job_not_in_transition > 0) out.push(`${when}: ${view.live_job_not_in_transition} queued/running jobs whose noderole is not in transition`)
    if (view.jobs.failed_other > 0) out.push(`${when}: ${view.jobs.failed_other} jobs failed other than by abandonment`)
    for (const d of view.doubled) out.push(`${when}: ${d.address} is held twice in the store (${d.how}: ${d.holders.join(', ')})`)
    const missing = this.ledger.check(view.leases, when)
    for (const m of missing.slice(0, 5)) out.push(`${when}: ACKed lease ${m.ip} of ${m.mac} lost: ${m.detail}`)
    if (missing.length > 5) out.push(`${when}: ... and ${missing.length - 5} more ACKed leases lost`)
    for (const line of out) this.find(line)
    return out
  }

  async kill(planned: PlannedKill): Promise<void> {
    let reached = false
    if (planned.kind === 'startup') {
      this.app.spawn()
      await sleep(planned.delay_ms)
    } else {
      if (!this.app.running) this.app.spawn()
      await this.app.ready()
      reached = await this.waitForShare(planned.threshold, THRESHOLD_WAIT_MS)
      await sleep(planned.delay_ms)
    }
    const listening = this.app.listened
    const uptime = Math.round(performance.now() - this.app.spawnedAt)
    const killedAt = new Date().toISOString()
    const ended = await this.app.kill()
    if (ended !== undefined) this.find(`life ${this.app.lives} ended on its own (${ended}) before kill ${planned.n}; stderr tail: ${this.app.tail().slice(-1_000)}`)
    const at = elapsed(this.start)
    await sleep(DRAIN_MS)
    const view = await readStore(this.dbFile)
    const findings = this.checkpoint(view, `after kill ${planned.n}`)
    const record: KillRecord = {
      ...planned,
      at_s: at,
      at: killedAt,
      uptime_ms: uptime,
      listening,
      threshold_reached: planned.kind === 'anneal' ? reached : false,
      active_seen: this.activeSeen,
      active_in_store: view.states.active ?? 0,
      running_jobs: view.jobs.running,
      queued_jobs: view.jobs.queued,
      held_leases: this.ledger.holding,
      leases_in_store: view.leases.size,
      during_anneal: (view.states.active ?? 0) < view.noderoles,
      findings
    }
    this.kills.push(record)
    log(
      `kill ${String(planned.n).padStart(2)} at ${at.toFixed(1).padStart(6)} s (${planned.kind}, ${uptime} ms into life ${this.app.lives}${listening ? '' : ', before listening'}): ` +
        `${record.active_in_store}/${view.noderoles} active, ${view.jobs.running} running + ${view.jobs.queued} queued jobs cut off; ` +
        `storm holds ${record.held_leases} leases, store has ${record.leases_in_store}; ACKs so far ${this.ledger.acks}${findings.length ? `; ${findings.length} findings` : ''}`
    )
  }
}

async function main(): Promise<number> {
  if (process.getuid?.() !== 0) throw new Error('bench:soak creates network namespaces and serves DHCP on port 67: run it as root')
  const random = seededRandom(SEED)
  const kills = plan(random)
  log(`bench:soak seed ${SEED}: ${KILLS} kills (${kills.filter((k) => k.kind === 'startup').length} during start-up), ${NODES} nodes x ${ROLES} roles, test jig ${DELAY_MS} ms, max ${MAX_JOBS} jobs, storm ${DHCP_RATE} new MACs/s`)

  const work = await mkdtemp(join(tmpdir(), 'crowbar-soak-'))
  let keepWork = process.env.SOAK_KEEP === '1'
  cleanups.push(async () => {
    if (!keepWork) await rm(work, { recursive: true, force: true })
  })
  const t = await createBenchTopology()
  cleanups.push(() => t.stop())
  const dataDir = join(work, 'data')
  await mkdir(dataDir)
  const stale = !FROM_SOURCE && (await builtIsStale())
  const app = new SoakApp({ dataDir, interface: t.ours.serverIf, fromSource: FROM_SOURCE, logFile: join(work, 'app.log'), logLevel: 'warn' })
  cleanups.push(() => app.close())
  const soak = new Soak(t, app, join(dataDir, 'crowbar.sqlite'), join(work, 'storm.log'))
  log(`namespace ${t.clientNs}; the app serves ${t.ours.serverIf} (${t.ours.serverAddress}); data dir ${dataDir}`)
  log(`app: ${FROM_SOURCE ? 'src-main through tsx' : `node bin/crowbar.js${stale ? ' (out/ is older than src-main: this measures the last build; `npm run build` first, or SOAK_FROM_SOURCE=1)' : ''}`}`)

  // ---- the first life: set up through the API, then a clean stop so the next life serves the wider pool.
  await app.start()
  await app.call('importBarclamp', soakBarclamp())
  const deployment = await app.call('createDeployment', { name: 'soak', description: 'bench:soak' })
  for (let i = 0; i < NODES; i++) {
    const node = await app.call('createNode', { name: `s${i}.soak.test`, alive: true, available: true, bootenv: 'local' })
    await app.call('bindNodeRole', { deployment_id: deployment.id, node_id: node.id, role: `soak-${ROLES}` })
  }
  await app.call('setAnnealer', { max_jobs: MAX_JOBS })
  const pool = await widenDhcpPool(app, t.ours.prefix)
  const holdCap = Math.max(1, Math.floor(pool * 0.6))
  const setup = await soak.progress()
  log(`setup: ${setup.total} noderoles (${NODES * ROLES} in deployment soak); dhcp pool ${pool} addresses, the storm holds at most ${holdCap}`)
  await app.stop()

  await soak.startStorm({
    iface: t.ours.clientIf,
    server: t.ours.serverAddress,
    holdCap,
    seed: (SEED ^ 0x5eed) >>> 0,
    newPerSecond: DHCP_RATE,
    renewPerSecond: DHCP_RATE / 3,
    macTag: between(random, 0, 0xffff),
    maxSeconds: DEADLINE_MS / 1000
  })

  // ---- the second life: commit; the anneal starts and the kills begin.
  app.spawn()
  await app.ready()
  for (let i = 0; i < 150 && soak.ledger.acks === 0; i++) await sleep(100)
  if (soak.ledger.acks === 0) throw new Error(`the storm got no ACK in 15 s: ${soak.stormStderr || JSON.stringify(soak.ledger.lastStats)}`)
  await app.call('commitDeployment', { id: deployment.id })
  const annealStart = performance.now()
  log(`committed at ${elapsed(soak.start)} s; storm: ${soak.ledger.acks} ACKs so far`)
  for (const k of kills) await soak.kill(k)

  // ---- the last life: wait (bounded) for every noderole to converge.
  await app.start()
  const until = performance.now() + CONVERGE_WAIT_MS
  let converged = false
  let lastJobs = 0
  for (let i = 0; i < Math.ceil(CONVERGE_WAIT_MS / POLL_MS) && performance.now() < until; i++) {
    const p = await soak.progress()
    if (performance.now() - lastJobs > JOB_POLL_MS) {
      await soak.pollJobs()
      lastJobs = performance.now()
    }
    const annealer = await app.call('getAnnealer', {})
    if (p.active === p.total && annealer.running === 0 && annealer.queued === 0) {
      converged = true
      break
    }
    await sleep(POLL_MS)
  }
  const annealSeconds = elapsed(annealStart)
  await soak.pollJobs()
  log(`${converged ? 'converged' : 'NOT converged'} ${annealSeconds} s after the commit: ${soak.activeSeen}/${soak.totalSeen} active`)
  // A little more storm on the last life, then its final count.
  await sleep(3_000)
  await soak.stopStorm()
  await app.stop()

  // ---- the end: the store, read-only, after the last (clean) stop.
  const view = await readStore(join(dataDir, 'crowbar.sqlite'))
  soak.checkpoint(view, 'at the end')
  const notActive = view.noderoles - (view.states.active ?? 0)
  if (notActive > 0) soak.find(`at the end: ${notActive} noderoles not active (${JSON.stringify(view.states)})`)
  const liveLeft = view.jobs.queued + view.jobs.running
  if (liveLeft > 0) soak.find(`at the end: ${liveLeft} jobs still queued or running`)
  if (view.abandoned_without_retry > 0) soak.find(`at the end: ${view.abandoned_without_retry} abandoned jobs never re-run`)
  if (view.active_without_done_job > 0) soak.find(`at the end: ${view.active_without_done_job} active noderoles with no finished job`)
  const seenMissing = [...soak.jobsSeen].filter((id) => !view.job_ids.has(id))
  if (seenMissing.length > 0) soak.find(`at the end: ${seenMissing.length} jobs the API had shown are gone from the store (${seenMissing.slice(0, 10).join(', ')})`)
  const jobsLost = view.transition_without_job + liveLeft + view.abandoned_without_retry + view.active_without_done_job + seenMissing.length
  const storeDoubles = new Set(view.doubled.map((d) => d.address))
  const doubled = new Set([...storeDoubles, ...soak.ledger.doubled.map((d) => d.ip)])
  const lost = soak.ledger.lost
  const leftovers = soak.ledger.leftovers(view.leases)
  const stats = soak.ledger.finalStats ?? soak.ledger.lastStats

  const result = {
    seed: SEED,
    kills: soak.kills.length,
    kills_during_anneal: soak.kills.filter((k) => k.during_anneal).length,
    noderoles: view.noderoles,
    converged: view.states.active ?? 0,
    jobs_lost: jobsLost,
    doubled_addresses: doubled.size,
    acked_leases: soak.ledger.acked,
    acked_lost: lost.length,
    duration_s: elapsed(soak.start),
    ok: soak.findings.length === 0 && converged,
    anneal_s: annealSeconds,
    app_lives: app.lives,
    app: FROM_SOURCE ? 'tsx src-main/cli/cli-main.ts serve' : 'node bin/crowbar.js serve',
    app_build_older_than_sources: stale,
    config: { nodes: NODES, roles: ROLES, delay_ms: DELAY_MS, max_jobs: MAX_JOBS, dhcp_new_per_s: DHCP_RATE, dhcp_pool: pool, storm_hold_cap: holdCap, startup_kill_share: STARTUP_KILL_SHARE },
    jobs: { ...view.jobs, transition_without_job: view.transition_without_job, live_left: liveLeft, abandoned_without_retry: view.abandoned_without_retry, active_without_done_job: view.active_without_done_job, seen_via_api: soak.jobsSeen.size, seen_missing: seenMissing.length },
    states: view.states,
    dhcp: {
      acks: soak.ledger.acks,
      renew_acks: soak.ledger.renewAcks,
      releases: soak.ledger.releases,
      held_at_end: soak.ledger.holding,
      leases_in_store: view.leases.size,
      reservations_in_store: view.reservations,
      /** Leases in the store nobody holds: released by the client but still there, or never seen ACKed. */
      leftover_released: leftovers.released.length,
      leftover_unacked: leftovers.unacked.length,
      leftover_samples: [...leftovers.released.slice(0, 30), ...leftovers.unacked.slice(0, 10)],
      doubled_in_store: storeDoubles.size,
      doubled_by_acks: soak.ledger.doubled.length,
      storm: stats ?? null
    },
    findings: soak.findings.slice(0, 50),
    lost_leases: lost.slice(0, 20),
    doubled_leases: [...view.doubled.slice(0, 10), ...soak.ledger.doubled.slice(0, 10)],
    kill_log: soak.kills
  }
  await mkdir(join(HERE, 'results'), { recursive: true })
  await writeFile(RESULTS, `${JSON.stringify(result, null, 2)}\n`)
  if (!result.ok) keepWork = true
  process.stdout.write(
    [
      ``,
      `bench:soak — seed ${SEED}: ${result.kills} SIGKILLs (${result.kills_during_anneal} while noderoles were still converging, ${soak.kills.filter((k) => k.kind === 'startup').length} during start-up) over ${result.duration_s} s, ${app.lives} lives of crowbar serve`,
      `  noderoles: ${result.converged}/${result.noderoles} active${converged ? `, converged ${annealSeconds} s after the commit` : ', NOT converged'}`,
      `  jobs:      ${view.jobs.total} (${view.jobs.done} done, ${view.jobs.abandoned} cut off by a kill and re-queued, ${view.jobs.failed_other} failed); lost: ${jobsLost}`,
      `  dhcp:      ${result.acked_leases} ACKed leases to ${stats?.macs ?? '?'} MACs (${soak.ledger.renewAcks} renewals ACKed, ${soak.ledger.releases} released, ` +
        `${stats?.naks ?? '?'} REQUESTs NAKed after a restart forgot their offer, ${stats?.gave_up ?? '?'} MACs gave up); ACKed and lost: ${lost.length}; addresses held by two MACs: ${doubled.size}`,
      `  verdict:   ${result.ok ? 'every check passed' : `${soak.findings.length} findings (first: ${soak.findings[0] ?? 'not converged'})`}`,
      `  written:   ${RESULTS}${keepWork ? `; data dir and app log kept in ${work}` : ''}`,
      ``
    ].join('\n')
  )
  return result.ok ? 0 : 1
}

/** Widens the admin network's dhcp range to .100-.250 (host .81-.99) so the storm has room; returns the pool size. */
async function widenDhcpPool(app: SoakApp, prefix: string): Promise<number> {
  const networks = await app.call('listNetworks', {})
  const admin = networks.find((n) => n.category === 'admin')
  if (!admin) throw new Error('the first start made no admin network')
  const keep = admin.ranges.filter((r) => r.name !== 'host' && r.name !== 'dhcp').map((r) => ({ name: r.name, first: r.first, last: r.last }))
  const size = (r: { first: string; last: string } | undefined): number =>
    r ? Number(r.last.split('.').pop()) - Number(r.first.split('.').pop()) + 1 : 0
  try {
    const updated = await app.call('updateNetwork', {
      id: admin.id,
      category: admin.category,
      vlan: admin.vlan,
      bond: admin.bond,
      v4_subnet: admin.v4_subnet,
      v6prefix: admin.v6prefix_setting,
      ranges: [...keep, { name: 'host', first: `${prefix}81`, last: `${prefix}99` }, { name: 'dhcp', first: `${prefix}100`, last: `${prefix}250` }],
      routers: admin.routers.map((r) => ({ address: r.address, pref: r.pref }))
    })
    return size(updated.ranges.find((r) => r.name === 'dhcp' && r.family === 4))
  } catch (err) {
    log(`could not widen the dhcp range (${messageOf(err)}): the storm uses the first start's`)
    return size(admin.ranges.find((r) => r.name === 'dhcp' && r.family === 4))
  }
}

process.once('SIGINT', onExitSignal)
process.once('SIGTERM', onExitSignal)
const deadline = setTimeout(() => {
  run_state.interrupted = true
  log(`bench:soak passed its ${DEADLINE_MS / 60_000} minute limit: stopping`)
  void cleanUp().finally(() => process.exit(1))
}, DEADLINE_MS)

void main()
  .then(
    (code) => code,
    (err: unknown) => {
      if (!run_state.interrupted) log(`bench:soak failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`)
      return 1
    }
  )
  .then(async (code) => {
    await cleanUp()
    clearTimeout(deadline)
    process.exit(code)
  })
