// The wizard's checks without a store: proposals, every refusal naming its field, and the layout
// valid choices produce. Interfaces are given as the tables `ip -j addr` would yield.
import { describe, expect, it } from 'vitest'
import type { SetupInput } from '../model'
import { interfacesFromIproute, interfacesFromNode, type HostInterface } from './host-interfaces'
import { planSetup, proposalFor } from './setup-plan'

const lo: HostInterface = { name: 'lo', loopback: true, addresses: [{ address: '127.0.0.1', prefixLength: 8, subnet: '127.0.0.0/8' }] }
const eth1: HostInterface = { name: 'eth1', loopback: false, addresses: [{ address: '10.1.2.5', prefixLength: 24, subnet: '10.1.2.0/24' }] }
const bare: HostInterface = { name: 'eth2', loopback: false, addresses: [] }
const tun: HostInterface = { name: 'tun0', loopback: false, addresses: [{ address: '10.9.9.9', prefixLength: 32, subnet: '10.9.9.9/32' }] }
const small: HostInterface = { name: 'eth3', loopback: false, addresses: [{ address: '10.7.7.2', prefixLength: 28, subnet: '10.7.7.0/28' }] }
const HOST = [lo, eth1, bare, tun, small]

const defaults = (over: Partial<SetupInput> = {}): SetupInput => ({ ...proposalFor(null, 'laptop'), ...over })

describe('install wizard plan', () => {
  it('proposes Crowbar’s defaults without an interface, and the interface’s subnet with one', () => {
    expect(proposalFor(null, 'laptop')).toEqual({
      interface: 'none',
      v4_subnet: '192.168.124.0/24',
      dhcp_first: '192.168.124.161',
      dhcp_last: '192.168.124.240',
      v6prefix: 'auto',
      domain: 'crowbar.lab',
      admin_name: 'laptop.crowbar.lab'
    })
    expect(proposalFor(eth1, 'laptop.example.com')).toMatchObject({
      interface: 'eth1',
      v4_subnet: '10.1.2.0/24',
      dhcp_first: '10.1.2.161',
      dhcp_last: '10.1.2.240',
      admin_name: 'laptop.crowbar.lab'
    })
    // Nothing to propose on an interface that cannot face the rack.
    expect(proposalFor(lo).interface).toBe('none')
  })

  it('plans the defaults as the non-interactive first start creates them', () => {
    expect(planSetup(defaults(), HOST)).toEqual({
      interface: 'none',
      v4_subnet: '192.168.124.0/24',
      admin_address: null,
      router: '192.168.124.1',
      ranges: [
        { name: 'admin', first: '192.168.124.10', last: '192.168.124.11' },
        { name: 'host', first: '192.168.124.81', last: '192.168.124.160' },
        { name: 'dhcp', first: '192.168.124.161', last: '192.168.124.240' }
      ],
      v6prefix: 'auto',
      domain: 'crowbar.lab',
      admin_name: 'laptop.crowbar.lab'
    })
  })

  it('puts the admin node at the interface’s address, keeps the host range clear of a custom dhcp range, and appends the domain', () => {
    const plan = planSetup(
      { interface: 'eth1', v4_subnet: '10.1.2.0/24', dhcp_first: '10.1.2.100', dhcp_last: '10.1.2.199', v6prefix: '2001:DB8:1:2:0::/64', domain: 'Rack.Lab.', admin_name: 'boss' },
      HOST
    )
    expect(plan).toEqual({
      interface: 'eth1',
      v4_subnet: '10.1.2.0/24',
      admin_address: '10.1.2.5',
      router: '10.1.2.1',
      ranges: [
        { name: 'admin', first: '10.1.2.5', last: '10.1.2.5' },
        { name: 'host', first: '10.1.2.81', last: '10.1.2.99' },
        { name: 'dhcp', first: '10.1.2.100', last: '10.1.2.199' }
      ],
      v6prefix: '2001:db8:1:2::/64',
      domain: 'rack.lab',
      admin_name: 'boss.rack.lab'
    })
    // A dhcp range over the whole usual host range: the host range moves to the largest stretch left.
    const wide = planSetup(defaults({ dhcp_first: '192.168.124.50', dhcp_last: '192.168.124.250', v6prefix: null, admin_name: 'a.b.crowbar.lab' }), HOST)
    expect(wide).toMatchObject({ ranges: [{ name: 'admin' }, { name: 'host', first: '192.168.124.12', last: '192.168.124.49' }, { name: 'dhcp' }], v6prefix: null, admin_name: 'a.b.crowbar.lab' })
  })

  it.each([
    ['v4_subnet', { v4_subnet: '10.0.0.0/33' }, 'v4_subnet: prefix length /33 is too long for IPv4 (at most /32)'],
    ['v4_subnet', { v4_subnet: '10.0.0.1/24' }, 'v4_subnet: "10.0.0.1/24" has host bits set; the network is 10.0.0.0/24'],
    ['v4_subnet', { v4_subnet: '2001:db8::/64' }, 'v4_subnet: 2001:db8::/64 is not an IPv4 subnet'],
    ['v4_subnet', { v4_subnet: '192.168.124.0/29' }, 'v4_subnet: /29 is too small'],
    ['v4_subnet', { interface: 'eth1' }, "v4_subnet: 192.168.124.0/24 does not hold eth1's address 10.1.2.5: use eth1's subnet 10.1.2.0/24"],
    ['v4_subnet', { interface: 'eth1', v4_subnet: '10.1.0.0/16', dhcp_first: '10.1.3.1', dhcp_last: '10.1.3.200' }, "v4_subnet: 10.1.0.0/16 is not eth1's subnet 10.1.2.0/24 (DHCP would hand out eth1's mask)"],
    ['v4_subnet', { v4_subnet: '0.0.0.0/4', dhcp_first: '1.0.0.1', dhcp_last: '1.0.0.9' }, 'v4_subnet: /4 is larger than an admin network needs'],
    ['interface', { interface: 'eth9' }, 'interface: there is no interface named eth9 on this machine; choose one of eth1, eth2, tun0, eth3, none'],
    ['interface', { interface: 'lo' }, 'interface: lo is the loopback interface'],
    ['interface', { interface: 'eth2' }, 'interface: eth2 has no IPv4 address'],
    ['interface', { interface: 'tun0' }, "interface: tun0's subnet 10.9.9.9/32 is too small"],
    ['dhcp_first', { dhcp_first: '' }, 'dhcp_first: give the first address of the dhcp range'],
    ['dhcp_first', { dhcp_first: '192.168.124.x' }, 'dhcp_first: 192.168.124.x is not an IPv4 address'],
    ['dhcp_last', { dhcp_last: '192.168.125.9' }, 'dhcp_last: 192.168.125.9 is outside v4_subnet 192.168.124.0/24'],
    ['dhcp_last', { dhcp_last: '192.168.124.255' }, 'dhcp_last: 192.168.124.255 is the network or broadcast address'],
    ['dhcp_last', { dhcp_first: '192.168.124.200', dhcp_last: '192.168.124.170' }, 'dhcp_last: 192.168.124.170 comes before dhcp_first 192.168.124.200'],
    ['dhcp_first', { dhcp_first: '192.168.124.1' }, 'dhcp_first: the dhcp range 192.168.124.1-192.168.124.240 holds the router 192.168.124.1'],
    ['dhcp_first', { dhcp_first: '192.168.124.11' }, "dhcp_first: the dhcp range 192.168.124.11-192.168.124.240 holds the admin node's address"],
    ['dhcp_first', { interface: 'eth3', v4_subnet: '10.7.7.0/28', dhcp_first: '10.7.7.3', dhcp_last: '10.7.7.14' }, 'dhcp_first: the dhcp range 10.7.7.3-10.7.7.14 leaves no addresses for the host range'],
    ['v6prefix', { v6prefix: '2001:db8::/48' }, 'v6prefix: 2001:db8::/48 is not an IPv6 /64; use "auto"'],
    ['v6prefix', { v6prefix: 'fd00::zz/64' }, 'v6prefix: "fd00::zz" is not an IPv4 or IPv6 address'],
    ['domain', { domain: 'crowbar_lab' }, 'domain: "crowbar_lab" is not a DNS name'],
    ['admin_name', { admin_name: 'admin.other.lab' }, 'admin_name: admin.other.lab is not in the cluster domain crowbar.lab'],
    ['admin_name', { admin_name: 'bad name' }, 'admin_name: "bad name" is not a host name'],
    ['admin_name', { admin_name: 'crowbar.lab' }, 'admin_name: crowbar.lab is not in the cluster domain crowbar.lab']
  ] as const)('refuses a bad %s: %j', (field, over, message) => {
    const problems = planSetup(defaults(over), HOST)
    expect(Array.isArray(problems)).toBe(true)
    expect(problems).toContainEqual(expect.stringContaining(message))
    expect((problems as string[])[0]?.startsWith(`${field}: `)).toBe(true)
  })

  it('reads interfaces from iproute2’s JSON and from Node’s table, marking the loopback', () => {
    const json = JSON.stringify([
      { ifname: 'lo', flags: ['LOOPBACK', 'UP'], link_type: 'loopback', addr_info: [{ family: 'inet', local: '127.0.0.1', prefixlen: 8 }, { family: 'inet6', local: '::1', prefixlen: 128 }] },
      { ifname: 'eth1', flags: ['BROADCAST', 'UP'], link_type: 'ether', addr_info: [{ family: 'inet', local: '10.1.2.5', prefixlen: 24 }] },
      { ifname: 'eth2', flags: ['BROADCAST'], link_type: 'ether', addr_info: [] }
    ])
    expect(interfacesFromIproute(json)).toEqual([lo, eth1, bare])
    expect(
      interfacesFromNode({
        lo: [{ address: '127.0.0.1', netmask: '255.0.0.0', family: 'IPv4', mac: '00:00:00:00:00:00', internal: true, cidr: '127.0.0.1/8' }],
        eth1: [
          { address: '10.1.2.5', netmask: '255.255.255.0', family: 'IPv4', mac: '02:00:00:00:00:01', internal: false, cidr: '10.1.2.5/24' },
          { address: 'fe80::1', netmask: 'ffff:ffff:ffff:ffff::', family: 'IPv6', mac: '02:00:00:00:00:01', internal: false, cidr: 'fe80::1/64', scopeid: 2 }
        ]
      })
    ).toEqual([lo, eth1])
  })
})
