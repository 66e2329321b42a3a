// Choosing the interface that faces the rack, also before anything is plugged into it. Root.
import { afterEach, describe, expect, it } from 'vitest'
import { BootServicesError, interfaceAddress } from './interface-address'
import { createTestLink, run, type TestLink } from '../../testing/test-link'

describe('the served interface', () => {
  let link: TestLink | undefined
  afterEach(async () => {
    await link?.stop()
    link = undefined
  })

  it('is found with its subnet even without carrier (Node lists only running interfaces)', async () => {
    link = await createTestLink()
    await link.exec('ip', ['link', 'set', link.peerIf, 'down'])
    expect(interfaceAddress(link.hostIf)).toEqual({ address: link.hostAddress, netmask: '255.255.255.0', prefixLength: 24, subnet: link.subnet })
  })

  it('says what is wrong with a missing interface or one without an IPv4 address', async () => {
    expect(() => interfaceAddress('nosuch0')).toThrow(BootServicesError)
    expect(() => interfaceAddress('nosuch0')).toThrow('there is no network interface named nosuch0')
    link = await createTestLink()
    await run('ip', ['-4', 'addr', 'flush', 'dev', link.hostIf])
    expect(() => interfaceAddress(link?.hostIf ?? '')).toThrow(`interface ${link.hostIf} has no IPv4 address`)
  })
})
