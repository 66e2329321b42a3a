// A boot event's key facts in one line (DHCP message and classes, TFTP file and transfer, HTTP
// request, node API call, install step), and the phase names and grouping the timeline shows.
import type { BootEvent, BootPhase, BootProgress } from '../../../src-main/model'

export const PHASE_LABELS: Record<BootPhase, string> = {
  pxe: 'PXE',
  discovery: 'discovery',
  install: 'install',
  local_disk: 'local disk',
  alive: 'alive'
}

const str = (v: unknown): string | null => (typeof v === 'string' && v !== '' ? v : null)
const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null)

function bytes(n: number | null): string | null {
  if (n === null) return null
  if (n < 1024) return `${n} B`
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`
  return `${(n / 1024 / 1024).toFixed(1)} MiB`
}

const joined = (parts: ReadonlyArray<string | null | false>): string => parts.filter((p): p is string => typeof p === 'string' && p !== '').join(' · ')

function dhcpText(d: Record<string, unknown>): string {
  const userClass = Array.isArray(d.user_class) ? d.user_class.filter((x): x is string => typeof x === 'string').join(',') : null
  return joined([
    str(d.address) && `address ${str(d.address)}`,
    num(d.arch) !== null && `arch ${num(d.arch)}`,
    str(d.vendor_class),
    userClass && `user class ${userClass}`,
    str(d.boot_file) && `boot file ${str(d.boot_file)}`,
    str(d.next_server) && `next server ${str(d.next_server)}`,
    str(d.reason)
  ])
}

function tftpText(event: string, d: Record<string, unknown>): string {
  const retransmits = num(d.retransmits)
  return joined([
    str(d.file),
    event === 'transfer_complete' && bytes(num(d.bytes)),
    num(d.ms) !== null && `${num(d.ms)} ms`,
    retransmits !== null && retransmits > 0 && `${retransmits} retransmit${retransmits === 1 ? '' : 's'}`,
    str(d.outcome),
    str(d.reason),
    num(d.code) !== null && `error ${num(d.code)}`,
    str(d.message),
    str(d.client) && `from ${str(d.client)}`
  ])
}

function httpText(d: Record<string, unknown>): string {
  return joined([
    str(d.path),
    num(d.status) !== null && `HTTP ${num(d.status)}`,
    bytes(num(d.bytes)),
    num(d.ms) !== null && `${num(d.ms)} ms`,
    str(d.client) && `from ${str(d.client)}`
  ])
}

function apiText(event: string, d: Record<string, unknown>): string {
  if (event === 'register') return joined([d.created === true ? 'new node' : d.created === false ? 'known node' : null, num(d.node_id) !== null && `node ${num(d.node_id)}`, str(d.client) && `from ${str(d.client)}`])
  if (event === 'alive') return joined([d.alive === true ? 'alive' : d.alive === false ? 'not alive' : null, str(d.client) && `from ${str(d.client)}`])
  if (event === 'bootenv') return joined([str(d.bootenv) && `bootenv ${str(d.bootenv)}`, str(d.client) && `from ${str(d.client)}`])
  return otherText(d)
}

/** An event this file does not know: its plain values, the client last. */
function otherText(d: Record<string, unknown>): string {
  const plain = Object.entries(d)
    .filter(([k, v]) => k !== 'client' && (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean'))
    .slice(0, 6)
    .map(([k, v]) => `${k} ${String(v)}`)
  return joined([...plain, str(d.client) && `from ${str(d.client)}`])
}

function installText(d: Record<string, unknown>): string {
  const percent = num(d.percent)
  return joined([str(d.step) && `${str(d.step)}${percent !== null ? ` ${percent}%` : ''}`, str(d.message)])
}

/** The event's key detail in one line; empty when it has none worth showing. */
export function bootEventSummary(e: Pick<BootEvent, 'source' | 'event' | 'detail'>): string {
  const d = e.detail
  switch (e.source) {
    case 'dhcp':
      return dhcpText(d)
    case 'tftp':
      return tftpText(e.event, d)
    case 'http':
      return httpText(d)
    case 'api':
      return apiText(e.event, d)
    case 'install':
      return installText(d)
  }
}

/** Events a person should look at: refusals, failures, errors. */
export function isTroubleEvent(e: Pick<BootEvent, 'source' | 'event' | 'detail'>): boolean {
  if (e.event === 'nak' || e.event === 'transfer_error' || e.event === 'error_sent' || e.event === 'ssh_unreachable') return true
  const status = num(e.detail.status)
  if (e.source === 'http' && status !== null && status >= 400) return true
  return e.source === 'install' && e.detail.step === 'failed'
}

export interface PhaseGroup {
  /** null: before the first phase the progress names (or no progress known). */
  readonly phase: BootPhase | null
  /** Oldest first. */
  readonly events: readonly BootEvent[]
}

/**
 * Splits a timeline (any order) into the phases the progress says began when; events are put in
 * the last phase that began at or before them. Without phase times, one group.
 */
export function groupByPhase(events: readonly BootEvent[], phases: BootProgress['phases'] | null): PhaseGroup[] {
  const oldestFirst = [...events].sort((a, b) => a.id - b.id)
  const starts = (Object.entries(phases ?? {}) as Array<[BootPhase, string | undefined]>)
    .filter((entry): entry is [BootPhase, string] => typeof entry[1] === 'string')
    .map(([phase, t]) => ({ phase, at: Date.parse(t) }))
    .sort((a, b) => a.at - b.at)
  const groups: Array<{ phase: BootPhase | null; events: BootEvent[] }> = []
  for (const e of oldestFirst) {
    const at = Date.parse(e.t)
    let phase: BootPhase | null = null
    for (const s of starts) if (s.at <= at) phase = s.phase
    const last = groups[groups.length - 1]
    if (last && last.phase === phase) last.events.push(e)
    else groups.push({ phase, events: [e] })
  }
  return groups
}

/** A boot event's time to the millisecond (a PXE boot's steps are milliseconds apart). */
export function formatEventTime(iso: string): string {
  const d = new Date(iso)
  if (Number.isNaN(d.getTime())) return iso
  const pad = (n: number, w = 2): string => String(n).padStart(w, '0')
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`
}
