import { describe, expect, it } from 'vitest'
import { NODEROLE_STATES } from '../model'
import { IllegalTransition, nextState, STATE_CODE, stateFromCode } from './noderole-states'

describe('noderole state machine', () => {
  it('keeps Crowbar’s numeric codes', () => {
    expect(STATE_CODE).toEqual({ error: -1, active: 0, todo: 1, transition: 2, blocked: 3, proposed: 4 })
    for (const s of NODEROLE_STATES) expect(stateFromCode(STATE_CODE[s])).toBe(s)
    expect(() => stateFromCode(9)).toThrow(/unknown noderole state code 9/)
  })

  it('commit moves proposed to todo when parents are active, else blocked', () => {
    expect(nextState('proposed', { type: 'commit', parentsActive: true })).toBe('todo')
    expect(nextState('proposed', { type: 'commit', parentsActive: false })).toBe('blocked')
    expect(() => nextState('active', { type: 'commit', parentsActive: true })).toThrow(IllegalTransition)
  })

  it('goes to transition only from todo or active', () => {
    expect(nextState('todo', { type: 'start' })).toBe('transition')
    expect(nextState('active', { type: 'start' })).toBe('transition')
    for (const s of ['proposed', 'blocked', 'error', 'transition'] as const) {
      expect(() => nextState(s, { type: 'start' })).toThrow(`a noderole in state ${s} cannot take event start`)
    }
  })

  it('goes to active only from transition, and back to waiting if the node died meanwhile', () => {
    expect(nextState('transition', { type: 'succeed', nodeAlive: true, parentsActive: true })).toBe('active')
    expect(nextState('transition', { type: 'succeed', nodeAlive: false, parentsActive: true })).toBe('todo')
    expect(nextState('transition', { type: 'succeed', nodeAlive: false, parentsActive: false })).toBe('blocked')
    expect(() => nextState('todo', { type: 'succeed', nodeAlive: true, parentsActive: true })).toThrow(IllegalTransition)
  })

  it('retry is error to todo only', () => {
    expect(nextState('error', { type: 'retry', parentsActive: true })).toBe('todo')
    expect(nextState('error', { type: 'retry', parentsActive: false })).toBe('blocked')
    for (const s of ['proposed', 'blocked', 'todo', 'active', 'transition'] as const) {
      expect(() => nextState(s, { type: 'retry', parentsActive: true })).toThrow(IllegalTransition)
    }
  })

  it('a dead node leaves running jobs alone and sends the rest back to todo or blocked', () => {
    expect(nextState('transition', { type: 'node_dead', parentsActive: true })).toBe('transition')
    expect(nextState('active', { type: 'node_dead', parentsActive: true })).toBe('todo')
    expect(nextState('active', { type: 'node_dead', parentsActive: false })).toBe('blocked')
    expect(() => nextState('proposed', { type: 'node_dead', parentsActive: true })).toThrow(IllegalTransition)
  })

  it('unblocks only blocked noderoles when parents become active', () => {
    expect(nextState('blocked', { type: 'parents_active' })).toBe('todo')
    expect(() => nextState('proposed', { type: 'parents_active' })).toThrow(IllegalTransition)
  })
})
