import { describe, expect, it } from 'vitest'
import { discoverPacket, MessageType, opt, Option } from './dhcp-codec'
import { dhcpBootEvent } from './dhcp-boot-event'
import { buildReply, type DhcpConfig } from './dhcp-policy'

const config: DhcpConfig = {
  serverAddress: '198.19.5.1',
  subnetMask: '255.255.255.0',
  router: null,
  dnsServers: [],
  domain: 'lab.test',
  leaseSeconds: 600,
  bootFiles: { bios: 'undionly.kpxe', uefi: 'ipxe.efi', uefiLocal: null },
  ipxeScriptUrl: (mac) => `http://198.19.5.1/boot/${mac}.ipxe`,
  proxy: false
}

describe('dhcpBootEvent', () => {
  it('gives the server a REQUEST names (option 54), and ours on a reply', () => {
    const request = discoverPacket('52:54:00:00:00:01', 7, [
      [Option.MESSAGE_TYPE, opt.u8(MessageType.REQUEST)],
      [Option.SERVER_ID, opt.ip('198.19.5.2')],
      [Option.REQUESTED_ADDRESS, opt.ip('198.19.5.200')]
    ])
    expect(dhcpBootEvent(request, 'in')).toMatchObject({ message: 'request', serverId: '198.19.5.2', address: '198.19.5.200' })
    const offer = buildReply(request, MessageType.OFFER, { address: '198.19.5.100', hostname: null, bootenv: 'discovery' }, config, { withAddress: true })
    expect(dhcpBootEvent(offer, 'out')).toMatchObject({ message: 'offer', serverId: '198.19.5.1', address: '198.19.5.100' })
    const discover = discoverPacket('52:54:00:00:00:01', 8, [[Option.MESSAGE_TYPE, opt.u8(MessageType.DISCOVER)]])
    expect(dhcpBootEvent(discover, 'in').serverId).toBeUndefined()
  })
})
