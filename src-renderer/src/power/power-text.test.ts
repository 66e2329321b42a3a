// Power states, BMC failures and power results in words (pure).
import { describe, expect, it } from 'vitest'
import type { NodePower, PowerResult } from '../../../src-main/model'
import { bmcEndpointText, fingerprintText, powerCellText, powerProgressText, powerResultText, powerSummaryText } from './power-text'

const NOW = Date.parse('2026-12-04T10:00:00.000Z')
const power = (p: Partial<NodePower>): NodePower => ({ node_id: 1, state: 'on', checked_at: '2026-12-04T09:59:30.000Z', error: null, ...p })
const result = (r: Partial<PowerResult>): PowerResult => ({ node_id: 1, action: 'on', ok: true, ms: 120, ...r })

describe('power text', () => {
  it('shows a dash for a node without a BMC, and the state with when it was read otherwise', () => {
    expect(powerCellText(undefined, NOW)).toEqual({ label: '—', failure: null, title: 'no BMC enrolled' })
    expect(powerCellText(power({}), NOW)).toEqual({ label: 'on', failure: null, title: 'power on, read 30 s ago' })
    expect(powerCellText(power({ state: 'unknown', checked_at: null }), NOW).title).toBe('power unknown, not read yet')
  })

  it('puts a failed read’s message under the state and its kind in the tooltip', () => {
    const failed = power({ state: 'unknown', error: { kind: 'auth', message: 'BMC 10.0.2.15 refused the password for user admin' } })
    expect(powerCellText(failed, NOW)).toEqual({
      label: 'unknown',
      failure: 'BMC 10.0.2.15 refused the password for user admin',
      title: 'credentials refused: BMC 10.0.2.15 refused the password for user admin (read 30 s ago)'
    })
  })

  it('says what each result did, or the node and the BMC’s failure', () => {
    expect(powerResultText(result({ state: 'on' }), 'n1.lab')).toBe('n1.lab: powered on (now on)')
    expect(powerResultText(result({ action: 'status', state: 'off' }), 'n1.lab')).toBe('n1.lab: power is off')
    expect(powerResultText(result({ action: 'pxe_once' }), 'n1.lab')).toBe('n1.lab: set to boot from the network once')
    expect(powerResultText(result({ ok: false, error: { kind: 'auth', message: 'BMC 10.0.2.15 refused the password' } }), 'n1.lab')).toBe('n1.lab: BMC 10.0.2.15 refused the password')
    expect(powerResultText(result({ ok: false, action: 'cycle' }), 'n1.lab')).toBe('n1.lab: could not be power cycled, and the server gave no reason')
  })

  it('counts a bulk action while it runs and after', () => {
    expect(powerProgressText('on', 3)).toBe('Powering on 3 nodes…')
    expect(powerProgressText('on', 1)).toBe('Powering on 1 node…')
    expect(powerProgressText('cycle', 'n1.lab')).toBe('Power cycling n1.lab…')
    expect(powerSummaryText('on', [result({}), result({ node_id: 2, ok: false }), result({ node_id: 3 })])).toBe('2 of 3 nodes powered on; 1 failed.')
    expect(powerSummaryText('on', [result({})])).toBe('1 of 1 node powered on.')
  })

  it('writes a BMC’s address with its port, IPv6 in brackets, and a fingerprint in byte pairs', () => {
    expect(bmcEndpointText({ address: '10.0.2.15', port: 623 })).toBe('10.0.2.15:623')
    expect(bmcEndpointText({ address: 'fd00::15', port: 443 })).toBe('[fd00::15]:443')
    expect(fingerprintText('ab'.repeat(32))).toBe(Array(32).fill('AB').join(':'))
    expect(fingerprintText('not a fingerprint')).toBe('not a fingerprint')
  })
})
