// The preflight's recommendation from its findings, and what an OFFER tells it, without sockets.
import { describe, expect, it } from 'vitest'
import type { DhcpServerSeen } from '../../model/preflight'
import { decode, encode, MessageType, opt, Option } from '../dhcp/dhcp-codec'
import { describeOffer, PXE_VENDOR_CLASS, pxeDiscover } from './dhcp-offers'
import { recommend, type PreflightFindings } from './preflight-policy'

const quiet: PreflightFindings = {
  interface: 'eth1',
  link: { exists: true, up: true, carrier: true, mtu: 1500, mac: '02:00:00:00:00:01' },
  addresses: [{ family: 4, address: '10.0.0.5', prefix_length: 24 }],
  default_route: false,
  dhcp_servers: [],
  ipv6_routers: [],
  lldp: null,
  listened_ms: 2000,
  unchecked: []
}
const server = (over: Partial<DhcpServerSeen>): DhcpServerSeen => ({
  server: '10.0.0.1',
  offered: '10.0.0.50',
  subnet: '10.0.0.0/24',
  router: '10.0.0.1',
  dns_servers: [],
  domain: null,
  lease_seconds: 3600,
  boot_file: null,
  next_server: null,
  vendor_class: null,
  options: [],
  ...over
})

describe('preflight recommendation', () => {
  it('recommends full DHCP on a quiet link', () => {
    expect(recommend(quiet)).toEqual({ dhcp: 'full', reason: 'no other DHCP server answered a PXE DISCOVER on eth1 within 2 s: serve full DHCP (addresses and boot files).' })
  })

  it('recommends proxyDHCP where another server hands out addresses, naming it and its subnet', () => {
    expect(recommend({ ...quiet, dhcp_servers: [server({})] })).toEqual({
      dhcp: 'proxy',
      reason: 'the DHCP server at 10.0.0.1 already hands out addresses on 10.0.0.0/24: use proxyDHCP so it keeps doing that and we only add the boot file.'
    })
  })

  it('warns when that server already hands out a PXE boot file, and when the interface faces the office', () => {
    const r = recommend({ ...quiet, default_route: true, dhcp_servers: [server({ boot_file: 'pxelinux.0' })] })
    expect(r.dhcp).toBe('proxy')
    expect(r.reason).toContain('It already hands out PXE boot file pxelinux.0 (10.0.0.1)')
    expect(r.reason).toContain("eth1 holds this machine's default route")
  })

  it('recommends full DHCP beside a proxyDHCP server that gives no addresses, and says it competes', () => {
    const r = recommend({ ...quiet, dhcp_servers: [server({ server: '10.0.0.9', offered: null, subnet: null, boot_file: 'ipxe.efi' })] })
    expect(r.dhcp).toBe('full')
    expect(r.reason).toContain('10.0.0.9 answers PXE clients with boot file ipxe.efi (proxyDHCP)')
  })
})

describe('preflight DHCP offers', () => {
  it('sends a DISCOVER that looks like PXE firmware and never a REQUEST', () => {
    const d = decode(encode(pxeDiscover('02:00:00:00:00:01', 7)))
    expect(d.ok && d.packet.options.get(Option.MESSAGE_TYPE)).toEqual(Buffer.from([MessageType.DISCOVER]))
    expect(d.ok && d.packet.options.get(Option.VENDOR_CLASS)?.toString()).toBe(PXE_VENDOR_CLASS)
  })

  it('describes an OFFER to our transaction: server, address, subnet, boot file; ignores others', () => {
    const offer = {
      ...pxeDiscover('02:00:00:00:00:01', 7),
      op: 2 as const,
      yiaddr: '10.0.0.50',
      siaddr: '10.0.0.1',
      file: 'pxelinux.0',
      options: new Map([
        [Option.MESSAGE_TYPE, opt.u8(MessageType.OFFER)],
        [Option.SERVER_ID, opt.ip('10.0.0.1')],
        [Option.SUBNET_MASK, opt.ip('255.255.255.0')],
        [Option.DNS_SERVERS, opt.ips(['10.0.0.1', '10.0.0.2'])],
        [Option.LEASE_TIME, opt.u32(600)]
      ])
    }
    expect(describeOffer(offer, 7)).toMatchObject({
      server: '10.0.0.1',
      offered: '10.0.0.50',
      subnet: '10.0.0.0/24',
      dns_servers: ['10.0.0.1', '10.0.0.2'],
      lease_seconds: 600,
      boot_file: 'pxelinux.0',
      next_server: '10.0.0.1'
    })
    expect(describeOffer(offer, 8)).toBeNull()
  })
})
