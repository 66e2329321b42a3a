// The wizard form's pure parts: error messages split by field, steps, and the input sent to the API.
import { describe, expect, it } from 'vitest'
import { fieldErrors, firstStepWithError, formFromProposal, inputFromForm, withInterface } from './setup-form'

const proposal = {
  interface: 'none',
  v4_subnet: '192.168.124.0/24',
  dhcp_first: '192.168.124.161',
  dhcp_last: '192.168.124.240',
  v6prefix: 'auto',
  domain: 'crowbar.lab',
  admin_name: 'laptop.crowbar.lab'
}

describe('install wizard form', () => {
  it('splits the API’s message into one message per field, keeping "; " inside a message', () => {
    expect(
      fieldErrors('setup is not valid: v4_subnet: prefix length /33 is too long for IPv4 (at most /32); v6prefix: "x" is not an IPv4 or IPv6 address; use "auto", a /64 such as 2001:db8:1:2::/64, or none; admin_name: "a b" is not a host name')
    ).toEqual({
      fields: {
        v4_subnet: 'prefix length /33 is too long for IPv4 (at most /32)',
        v6prefix: '"x" is not an IPv4 or IPv6 address; use "auto", a /64 such as 2001:db8:1:2::/64, or none',
        admin_name: '"a b" is not a host name'
      },
      other: null
    })
    expect(fieldErrors('invalid input for checkSetup: domain: Too big: expected string to have <=253 characters')).toEqual({
      fields: { domain: 'Too big: expected string to have <=253 characters' },
      other: null
    })
    expect(fieldErrors('setup is already done: the admin network and the admin node exist')).toEqual({ fields: {}, other: 'setup is already done: the admin network and the admin node exist' })
  })

  it('goes back to the first step with an error', () => {
    expect(firstStepWithError({ domain: 'x', dhcp_last: 'y' })).toBe(1)
    expect(firstStepWithError({ interface: 'x' })).toBe(0)
    expect(firstStepWithError({})).toBe(3)
  })

  it('turns the IPv6 choice into auto, none or the /64 given, and takes an interface’s network', () => {
    const form = formFromProposal(proposal)
    expect(inputFromForm(form)).toEqual(proposal)
    expect(inputFromForm({ ...form, v6mode: 'none' }).v6prefix).toBeNull()
    expect(inputFromForm({ ...form, v6mode: 'given', v6given: ' 2001:db8::/64 ' }).v6prefix).toBe('2001:db8::/64')
    const chosen = withInterface({ ...form, domain: 'typed.lab' }, { ...proposal, interface: 'eth1', v4_subnet: '10.1.2.0/24', dhcp_first: '10.1.2.161', dhcp_last: '10.1.2.240' })
    expect(chosen).toMatchObject({ interface: 'eth1', v4_subnet: '10.1.2.0/24', dhcp_first: '10.1.2.161', domain: 'typed.lab' })
  })
})
