import { describe, expect, it } from 'vitest'
import type { Network } from '../../../src-main/model'
import { emptyForm, formFromNetwork, settingsFromForm } from './network-form'

const admin: Network = {
  id: 1,
  name: 'admin',
  category: 'admin',
  vlan: 0,
  bond: null,
  v4_subnet: '192.168.124.0/24',
  v6prefix_setting: 'auto',
  v6prefix: 'fd00:1:2:1::/64',
  ranges: [{ name: 'host', family: 4, first: '192.168.124.81', last: '192.168.124.160' }],
  routers: [{ family: 4, address: '192.168.124.1', pref: 10 }],
  allocations: [],
  role: 'network-admin',
  created_at: '2026-01-01T00:00:00Z',
  updated_at: '2026-01-01T00:00:00Z'
}

describe('network form', () => {
  it('round-trips a network to the settings the API takes, keeping the v6prefix setting (auto)', () => {
    expect(settingsFromForm(formFromNetwork(admin))).toEqual({
      category: 'admin',
      vlan: 0,
      bond: null,
      v4_subnet: '192.168.124.0/24',
      v6prefix: 'auto',
      ranges: [{ name: 'host', first: '192.168.124.81', last: '192.168.124.160' }],
      routers: [{ address: '192.168.124.1', pref: 10 }]
    })
  })

  it('sends empty subnet and prefix fields as null (no IPv4, no IPv6)', () => {
    const s = settingsFromForm({ ...emptyForm(), name: 'storage', v4_subnet: '  ', v6prefix: '' })
    expect(s.v4_subnet).toBeNull()
    expect(s.v6prefix).toBeNull()
  })

  it('refuses a VLAN or router preference that is not a whole number, saying which', () => {
    expect(() => settingsFromForm({ ...emptyForm(), vlan: 'ten' })).toThrow('VLAN must be a whole number from 0 to 4094')
    expect(() => settingsFromForm({ ...emptyForm(), routers: [{ address: '10.0.0.1', pref: '-1' }] })).toThrow("router 1's preference")
  })
})
