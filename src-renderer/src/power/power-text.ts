// Power states, BMC failures and power results in words, as the nodes table and a node's BMC panel
// show them (pure). A result names its node; a failure is the server's message, which names the BMC.
import type { BmcFailure, BmcProtocol, NodeBmc, NodePower, PowerAction, PowerResult } from '../../../src-main/model'
import { formatAgo } from '../time-format'

export const POWER_ACTION_LABELS: Record<PowerAction, string> = {
  status: 'Refresh',
  on: 'On',
  off: 'Off',
  cycle: 'Power cycle',
  reset: 'Reset',
  pxe_once: 'PXE once'
}

/** Off and cycle cut a running machine's power: they are asked twice. */
export const CONFIRMED_ACTIONS: ReadonlySet<PowerAction> = new Set<PowerAction>(['off', 'cycle'])

const ACTION_DONE: Record<PowerAction, string> = {
  status: 'read the power state',
  on: 'powered on',
  off: 'powered off',
  cycle: 'power cycled',
  reset: 'reset',
  pxe_once: 'set to boot from the network once'
}

const ACTION_DOING: Record<PowerAction, string> = {
  status: 'Reading the power state of',
  on: 'Powering on',
  off: 'Powering off',
  cycle: 'Power cycling',
  reset: 'Resetting',
  pxe_once: 'Setting PXE once on'
}

export const BMC_FAILURE_KINDS: Record<BmcFailure['kind'], string> = {
  auth: 'credentials refused',
  unreachable: 'unreachable',
  timeout: 'no answer',
  refused: 'refused',
  protocol: 'protocol error',
  busy: 'busy',
  unconfigured: 'not configured'
}

export const BMC_SOURCE_TEXT: Record<NodeBmc['source'], string> = {
  operator: 'entered by an operator',
  discovery: 'learnt by discovery',
  'bmc-configure': 'set by the bmc-configure role'
}

export const DEFAULT_BMC_PORTS: Record<BmcProtocol, number> = { ipmi: 623, redfish: 443 }

export interface PowerCellText {
  /** 'on', 'off', 'unknown', or '—' for a node without a BMC. */
  readonly label: string
  /** The last read's failure in words, shown under the state; null if it did not fail. */
  readonly failure: string | null
  /** Tooltip: when the state was read, and the failure's kind. */
  readonly title: string
}

/** `power` undefined: the node has no BMC. */
export function powerCellText(power: NodePower | undefined, now = Date.now()): PowerCellText {
  if (!power) return { label: '—', failure: null, title: 'no BMC enrolled' }
  const read = power.checked_at ? `read ${formatAgo(power.checked_at, now)}` : 'not read yet'
  if (!power.error) return { label: power.state, failure: null, title: `power ${power.state}, ${read}` }
  return { label: power.state, failure: power.error.message, title: `${BMC_FAILURE_KINDS[power.error.kind]}: ${power.error.message} (${read})` }
}

/** One result as a line: "n1.lab: powered on (now on)" or "n1.lab: BMC 10.0.2.15 refused the password". */
export function powerResultText(result: PowerResult, nodeName: string): string {
  if (!result.ok) return `${nodeName}: ${result.error?.message ?? `could not be ${ACTION_DONE[result.action]}, and the server gave no reason`}`
  if (result.action === 'status') return `${nodeName}: power is ${result.state ?? 'unknown'}`
  return `${nodeName}: ${ACTION_DONE[result.action]}${result.state ? ` (now ${result.state})` : ''}`
}

const nodes = (n: number): string => `${n} node${n === 1 ? '' : 's'}`

/** "Powering on 3 nodes…", or with a node's name "Powering on n1.lab…". */
export function powerProgressText(action: PowerAction, what: number | string): string {
  return `${ACTION_DOING[action]} ${typeof what === 'number' ? nodes(what) : what}…`
}

/** "2 of 3 nodes powered on; 1 failed." */
export function powerSummaryText(action: PowerAction, results: readonly PowerResult[]): string {
  const ok = results.filter((r) => r.ok).length
  const failed = results.length - ok
  return `${ok} of ${nodes(results.length)} ${ACTION_DONE[action]}${failed > 0 ? `; ${failed} failed` : ''}.`
}

/** Where the BMC listens, as an address reads with its port (IPv6 in brackets). */
export function bmcEndpointText(bmc: Pick<NodeBmc, 'address' | 'port'>): string {
  return bmc.address.includes(':') ? `[${bmc.address}]:${bmc.port}` : `${bmc.address}:${bmc.port}`
}

/** A SHA-256 fingerprint as colon-separated byte pairs, upper case, however it was written. */
export function fingerprintText(sha256: string): string {
  const hex = sha256.replace(/[^0-9a-f]/gi, '').toUpperCase()
  return hex.length === 64 ? (hex.match(/../g) ?? []).join(':') : sha256
}
