// Why noderoles wait, in the renderer's words: a short label per reason for counts and card
// markers, the counts as one line, and which changes can change a reason (for live reloads).
import { WAITING_REASONS, type ChangeEvent, type WaitingReason } from '../../../src-main/model'

export const WAITING_LABELS: Readonly<Record<WaitingReason, string>> = {
  proposal_open: 'open proposal',
  node_dead: 'node dead',
  node_unavailable: 'node unavailable',
  noderole_unavailable: 'noderole unavailable',
  jig_inactive: 'jig inactive',
  node_error: 'node error',
  parent: 'parent',
  node_busy: 'node busy',
  queue_full: 'queue full',
  ready: 'ready'
}

/** The reasons with a count, in the order they are judged: [reason, count][]. */
export function waitingEntries(counts: Readonly<Record<WaitingReason, number>>): Array<readonly [WaitingReason, number]> {
  return WAITING_REASONS.filter((r) => counts[r] > 0).map((r) => [r, counts[r]] as const)
}

/** "3 node dead · 2 parent", or '' when nothing waits. */
export function waitingSummary(counts: Readonly<Record<WaitingReason, number>>): string {
  return waitingEntries(counts)
    .map(([r, n]) => `${n} ${WAITING_LABELS[r]}`)
    .join(' · ')
}

/**
 * A reason reads the noderole, its node, its deployment, its role's jig, the other noderoles on
 * its node and the queue: any of those changing may change it.
 */
export const waitingChange = (e: ChangeEvent): boolean =>
  e.kind === 'noderole' || e.kind === 'node' || e.kind === 'deployment' || e.kind === 'barclamp'
