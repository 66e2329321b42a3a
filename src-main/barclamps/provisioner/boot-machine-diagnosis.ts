// The boot diagnosis and progress read from the store: one machine's timeline (plus its node, and a
// bounded SSH probe of a registered node, whose failure goes on the timeline), and every node's
// progress in a fixed number of queries. The rules themselves are pure (boot-diagnosis.ts).
import type { DomainContext } from '../../domain/context'
import type { BootDiagnosis, BootEvent, BootMachineQuery, BootProgress } from '../../model'
import { invalid, notFound } from '../../model/errors'
import { listBootEvents } from '../../store/boot-events'
import { listNodeBootEventsOfKinds, nodeBootSpans } from '../../store/boot-progress-events'
import { adminAddressesOf } from '../network/allocations'
import { DEFAULT_DIAGNOSIS_TIMEOUTS, diagnose, type BootFacts, type DiagnosisTimeouts } from './boot-diagnosis'
import { bootProgress, PROGRESS_EVENT_KINDS } from './boot-progress'
import type { BootRecorder } from './boot-recorder'
import { probeSsh, type SshReachability } from './ssh-reachability'

/** The per-MAC cap of the recorder: a timeline is read whole. */
const TIMELINE_LIMIT = 1000

export interface BootDiagnosisOptions {
  /** Where an SSH probe's failure is recorded; absent: not recorded. */
  readonly recorder?: BootRecorder | undefined
  /** The nodes' SSH port; default 22. */
  readonly sshPort?: number | undefined
  /** Default: a real TCP connect bounded at 2 s. */
  readonly probe?: ((address: string, port: number) => Promise<SshReachability>) | undefined
  /** The rules' time-outs (tests shorten them); default DEFAULT_DIAGNOSIS_TIMEOUTS. */
  readonly timeouts?: Partial<DiagnosisTimeouts> | undefined
}

export async function diagnoseMachine(ctx: DomainContext, query: BootMachineQuery, options: BootDiagnosisOptions = {}): Promise<BootDiagnosis> {
  if (query.node_id === undefined && query.mac === undefined && query.address === undefined) {
    throw invalid('name the machine: node_id, mac (e.g. ?mac=52:54:00:12:34:56), or address for a client known only by its address')
  }
  const db = ctx.db
  const read = (): Promise<BootEvent[]> => listBootEvents(db, { ...query, limit: TIMELINE_LIMIT })
  let events = await read()
  let nodeId = query.node_id ?? events.find((e) => e.node_id !== null)?.node_id ?? null
  if (nodeId === null && query.mac !== undefined) {
    nodeId = (await db.selectFrom('node_macs').select('node_id').where('mac', '=', query.mac).executeTakeFirst())?.node_id ?? null
  }
  const node = nodeId === null ? undefined : await db.selectFrom('nodes').select(['id', 'name', 'admin']).where('id', '=', nodeId).executeTakeFirst()
  if (query.node_id !== undefined && !node) throw notFound(`no node ${query.node_id}`)
  const facts: { ssh?: BootFacts['ssh']; serverIds?: string[] } = {}
  // The admin node holds the served address (our DHCP server identifier), so a REQUEST naming
  // another server is known as such even when no reply of ours is on the timeline.
  const admins = await db.selectFrom('nodes').select('id').where('admin', '=', 1).limit(4).execute()
  const ours = (await Promise.all(admins.map((a) => adminAddressesOf(db, a.id)))).flat()
  if (ours.length > 0) facts.serverIds = ours
  if (node && node.admin !== 1) {
    const address = (await adminAddressesOf(db, node.id))[0]
    if (address) {
      const port = options.sshPort ?? 22
      const reach = await (options.probe ?? ((a: string, p: number) => probeSsh(a, p, 2000)))(address, port)
      facts.ssh = { node: node.name, address, port, reachable: reach.reachable, ...(reach.error ? { error: reach.error } : {}) }
      if (!reach.reachable && options.recorder && !alreadyRecorded(events, address)) {
        await options.recorder.forNode(node.id, 'api', 'ssh_unreachable', { address, port, error: reach.error ?? 'unreachable' })
        await options.recorder.flush()
        events = await read()
      }
    }
  }
  const mac = query.mac ?? events[0]?.mac ?? null
  return {
    mac,
    node_id: node?.id ?? null,
    progress: bootProgress(events, { node_id: node?.id ?? null, mac }),
    findings: diagnose(events, facts, ctx.clock(), { ...DEFAULT_DIAGNOSIS_TIMEOUTS, ...options.timeouts })
  }
}

/** A failed probe of this address is the newest word from the node API: not recorded again. */
function alreadyRecorded(newestFirst: readonly BootEvent[], address: string): boolean {
  const last = newestFirst.find((e) => e.source === 'api' || e.source === 'install')
  return last?.event === 'ssh_unreachable' && last.detail.address === address
}

/** Every node's boot progress: three queries whatever the number of nodes. */
export async function allBootProgress(ctx: DomainContext): Promise<BootProgress[]> {
  const db = ctx.db
  const nodes = await db.selectFrom('nodes').select('id').orderBy('id').execute()
  const spans = await nodeBootSpans(db)
  const byNode = new Map<number, BootEvent[]>()
  for (const e of await listNodeBootEventsOfKinds(db, PROGRESS_EVENT_KINDS)) {
    if (e.node_id === null) continue
    const list = byNode.get(e.node_id)
    if (list) list.push(e)
    else byNode.set(e.node_id, [e])
  }
  return nodes.map((n) => {
    const span = spans.get(n.id)
    return bootProgress(byNode.get(n.id) ?? [], { node_id: n.id, mac: span?.mac ?? null, lastEventAt: span?.last_t ?? null })
  })
}
