// The noderole state machine of Crowbar 2.0: the states, their numeric codes, and the one table of
// allowed moves. Pure: (current, event) -> next, or an IllegalTransition error.
import { NODEROLE_STATES, type NodeRoleState } from '../model'

/** Crowbar's numeric encoding, kept in the store so ordering and queries match the original. */
export const STATE_CODE: Readonly<Record<NodeRoleState, number>> = {
  error: -1,
  active: 0,
  todo: 1,
  transition: 2,
  blocked: 3,
  proposed: 4
}

export function stateFromCode(code: number): NodeRoleState {
  const state = NODEROLE_STATES.find((s) => STATE_CODE[s] === code)
  if (!state) throw new Error(`unknown noderole state code ${code}`)
  return state
}

export type NodeRoleEvent =
  /** The deployment's snapshot is committed. */
  | { readonly type: 'commit'; readonly parentsActive: boolean }
  /** The annealer hands the noderole to a jig. */
  | { readonly type: 'start' }
  /** The jig run succeeded. */
  | { readonly type: 'succeed'; readonly nodeAlive: boolean; readonly parentsActive: boolean }
  /** The jig run failed (or a synchronous hook refused the move). */
  | { readonly type: 'fail' }
  /** The operator retries an errored noderole. */
  | { readonly type: 'retry'; readonly parentsActive: boolean }
  /**
   * Its committed data changed (a proposal edited its data or its deployment-role data), or the
   * operator asked for a re-run: an active or errored noderole runs again with what it now has.
   */
  | { readonly type: 'rerun'; readonly parentsActive: boolean }
  /** The noderole's node was marked dead. */
  | { readonly type: 'node_dead'; readonly parentsActive: boolean }
  /** An ancestor left `active` (error, re-run, dead node): this noderole must wait. */
  | { readonly type: 'ancestor_regressed' }
  /** Every parent is now active. */
  | { readonly type: 'parents_active' }

export class IllegalTransition extends Error {
  override readonly name = 'IllegalTransition'
  constructor(
    readonly from: NodeRoleState,
    readonly event: NodeRoleEvent['type']
  ) {
    super(`a noderole in state ${from} cannot take event ${event}`)
  }
}

type Move<E extends NodeRoleEvent> = (event: E) => NodeRoleState
type MoveTable = {
  readonly [T in NodeRoleEvent['type']]: Partial<Record<NodeRoleState, Move<Extract<NodeRoleEvent, { type: T }>>>>
}

const todoOrBlocked = (e: { parentsActive: boolean }): NodeRoleState => (e.parentsActive ? 'todo' : 'blocked')

/** Every allowed move. A (state, event) pair missing here is illegal. */
const MOVES: MoveTable = {
  commit: { proposed: todoOrBlocked },
  // To transition only from todo or active (an active noderole may be re-run).
  start: { todo: () => 'transition', active: () => 'transition' },
  // To active only from transition; a node that died meanwhile sends it back to wait.
  succeed: { transition: (e) => (e.nodeAlive ? 'active' : todoOrBlocked(e)) },
  fail: { transition: () => 'error', todo: () => 'error', blocked: () => 'error' },
  retry: { error: todoOrBlocked },
  // todo and blocked noderoles run with the new data anyway: only finished ones go back.
  rerun: { active: todoOrBlocked, error: todoOrBlocked },
  // A running job finishes on its own; everything else committed waits for the node to return.
  node_dead: {
    active: todoOrBlocked,
    todo: todoOrBlocked,
    blocked: todoOrBlocked,
    error: todoOrBlocked,
    transition: () => 'transition'
  },
  ancestor_regressed: { active: () => 'blocked', todo: () => 'blocked', error: () => 'blocked', blocked: () => 'blocked' },
  parents_active: { blocked: () => 'todo' }
}

export function nextState(current: NodeRoleState, event: NodeRoleEvent): NodeRoleState {
  const move = MOVES[event.type][current] as Move<NodeRoleEvent> | undefined
  if (!move) throw new IllegalTransition(current, event.type)
  return move(event)
}
