// The BMC form to the setNodeBmc input: defaults left to the server, the password only when typed.
import { describe, expect, it } from 'vitest'
import type { NodeBmc } from '../../../src-main/model'
import { bmcInputFromForm, formFromBmc, withProtocol } from './bmc-form'

const bmc: NodeBmc = {
  node_id: 4,
  protocol: 'ipmi',
  address: '10.0.2.15',
  port: 623,
  username: 'admin',
  has_password: true,
  mac: null,
  source: 'operator',
  certificate_sha256: null,
  power: { node_id: 4, state: 'unknown', checked_at: null, error: null }
}

describe('BMC form', () => {
  it('starts from the stored BMC with an empty password, which keeps the stored one', () => {
    const form = formFromBmc(bmc)
    expect(form).toEqual({ protocol: 'ipmi', address: '10.0.2.15', port: '623', username: 'admin', password: '' })
    expect(bmcInputFromForm(4, form)).toEqual({ id: 4, protocol: 'ipmi', address: '10.0.2.15', port: 623, username: 'admin' })
  })

  it('sends a typed password as typed and leaves an empty port to the protocol’s default', () => {
    const form = { ...formFromBmc(null), address: ' 127.0.0.1 ', username: 'root', password: ' s3cret ' }
    expect(bmcInputFromForm(7, form)).toEqual({ id: 7, protocol: 'ipmi', address: '127.0.0.1', username: 'root', password: ' s3cret ' })
  })

  it('refuses a port that is not a port number, in words', () => {
    expect(() => bmcInputFromForm(1, { ...formFromBmc(bmc), port: '70000' })).toThrow('the BMC port must be a whole number from 1 to 65535, not "70000"')
    expect(() => bmcInputFromForm(1, { ...formFromBmc(bmc), port: 'ipmi' })).toThrow('not "ipmi"')
  })

  it('moves a default port with the protocol and keeps a chosen one', () => {
    expect(withProtocol(formFromBmc(bmc), 'redfish')).toMatchObject({ protocol: 'redfish', port: '' })
    expect(withProtocol({ ...formFromBmc(bmc), port: '8443' }, 'redfish')).toMatchObject({ protocol: 'redfish', port: '8443' })
  })
})
