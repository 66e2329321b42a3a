// The DHCP side of the preflight in pure functions: the PXE-looking DISCOVER we broadcast (vendor
// class PXEClient, BIOS architecture) and what another server's OFFER to it tells us.
import type { DhcpServerSeen } from '../../model/preflight'
import { MessageType, Option, discoverPacket, ipOption, messageType, opt, textOption, type DhcpPacket } from '../dhcp/dhcp-codec'
import { subnetOfMask } from './link-facts'

/** What PXE firmware sends, so servers that answer PXE clients only (or differently) show it. */
export const PXE_VENDOR_CLASS = 'PXEClient:Arch:00000:UNDI:002001'

export function pxeDiscover(mac: string, xid: number): DhcpPacket {
  return discoverPacket(mac, xid, [
    [Option.PARAMETER_LIST, Buffer.from([1, 3, 6, 15, 28, 43, 51, 54, 60, 66, 67])],
    [Option.VENDOR_CLASS, opt.text(PXE_VENDOR_CLASS)],
    [Option.CLIENT_ARCH, opt.u16(0)],
    [Option.CLIENT_NDI, Buffer.from([1, 2, 1])]
  ])
}

/** An OFFER answering our DISCOVER (same xid), described; null for anything else. */
export function describeOffer(p: DhcpPacket, xid: number): DhcpServerSeen | null {
  if (p.op !== 2 || p.xid !== xid || messageType(p) !== MessageType.OFFER) return null
  const offered = p.yiaddr !== '0.0.0.0' ? p.yiaddr : null
  const mask = ipOption(p, Option.SUBNET_MASK)
  const dns = p.options.get(Option.DNS_SERVERS)
  const dnsServers: string[] = []
  for (let i = 0; dns && i + 4 <= dns.length && i < 64; i += 4) dnsServers.push([...dns.subarray(i, i + 4)].join('.'))
  const lease = p.options.get(Option.LEASE_TIME)
  const bootFile = p.file !== '' ? p.file : (textOption(p, Option.BOOTFILE) ?? null)
  const nextServer = p.siaddr !== '0.0.0.0' ? p.siaddr : (textOption(p, Option.TFTP_SERVER) ?? null)
  return {
    server: ipOption(p, Option.SERVER_ID) ?? p.siaddr,
    offered,
    subnet: offered && mask ? subnetOfMask(offered, mask) : null,
    router: ipOption(p, Option.ROUTER) ?? null,
    dns_servers: dnsServers,
    domain: textOption(p, Option.DOMAIN_NAME) ?? null,
    lease_seconds: lease && lease.length === 4 ? lease.readUInt32BE(0) : null,
    boot_file: bootFile,
    next_server: nextServer,
    vendor_class: textOption(p, Option.VENDOR_CLASS) ?? null,
    options: [...p.options.keys()]
  }
}
