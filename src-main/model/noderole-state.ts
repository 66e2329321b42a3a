// The noderole states of Crowbar 2.0, spelled once: the domain's state machine, the store's codes,
// the contract and the renderer all take the list from here.
import { z } from 'zod'

export const NODEROLE_STATES = ['error', 'active', 'todo', 'transition', 'blocked', 'proposed'] as const
export type NodeRoleState = (typeof NODEROLE_STATES)[number]
export const NodeRoleStateSchema = z.enum(NODEROLE_STATES)
