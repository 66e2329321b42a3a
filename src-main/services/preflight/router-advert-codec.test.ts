// The router advertisement codec on a built RA (as radvd sends one) and on what is not one.
import { describe, expect, it } from 'vitest'
import { decodeRouterAdvertisement } from './router-advert-codec'

function ra(routerLifetime: number, flags: number): Buffer {
  const prefix = Buffer.alloc(32)
  prefix[0] = 3
  prefix[1] = 4
  prefix[2] = 64
  prefix[3] = 0xc0
  Buffer.from('20010db8000100000000000000000000', 'hex').copy(prefix, 16)
  const icmp = Buffer.concat([Buffer.from([134, 0, 0, 0, 64, flags, routerLifetime >> 8, routerLifetime & 0xff, 0, 0, 0, 0, 0, 0, 0, 0]), prefix])
  const ip = Buffer.alloc(40)
  ip[0] = 0x60
  ip.writeUInt16BE(icmp.length, 4)
  ip[6] = 58
  ip[7] = 255
  Buffer.from('fe80000000000000021122fffe334455', 'hex').copy(ip, 8)
  Buffer.from('ff020000000000000000000000000001', 'hex').copy(ip, 24)
  return Buffer.concat([ip, icmp])
}

describe('router advertisement codec', () => {
  it('reads the sender, router lifetime, M/O flags and prefixes', () => {
    expect(decodeRouterAdvertisement(ra(1800, 0x40))).toEqual({
      address: 'fe80::211:22ff:fe33:4455',
      router_lifetime: 1800,
      managed: false,
      other: true,
      prefixes: ['2001:db8:1::/64']
    })
  })

  it('ignores what is not an advertisement and truncated packets', () => {
    const solicitation = ra(0, 0)
    solicitation[40] = 133
    expect(decodeRouterAdvertisement(solicitation)).toBeNull()
    expect(decodeRouterAdvertisement(ra(0, 0).subarray(0, 50))).toBeNull()
    // A prefix option cut short is dropped; the advertisement still counts.
    expect(decodeRouterAdvertisement(ra(0, 0).subarray(0, 70))).toMatchObject({ prefixes: [] })
  })
})
