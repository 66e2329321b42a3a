// Who gets what (pure): what a request asks for, which boot file a client gets (BIOS, UEFI, or an
// iPXE script URL so iPXE never chainloads itself), and the reply packet with its options.
import {
  clientArch,
  ipOption,
  MessageType,
  messageType,
  opt,
  Option,
  textOption,
  userClasses,
  type DhcpPacket
} from './dhcp-codec'

export interface DhcpConfig {
  /** Our address on the served interface: server identifier, next-server, DNS server. */
  readonly serverAddress: string
  readonly subnetMask: string
  readonly router: string | null
  readonly dnsServers: readonly string[]
  readonly domain: string
  readonly leaseSeconds: number
  readonly bootFiles: {
    readonly bios: string
    readonly uefi: string
    /**
     * What a UEFI firmware in bootenv `local` gets: a GRUB image that chainloads the installed
     * system's loader. Without a file edk2 waits ~60 s for a "valid offer", then tries HTTP boot
     * over IPv4 and IPv6 (~60 s each) before the disk; null when the asset is not there.
     */
    readonly uefiLocal: string | null
  }
  /** The HTTP URL of a client's iPXE script. */
  readonly ipxeScriptUrl: (mac: string) => string
  /** proxyDHCP: another server hands out addresses; we answer PXE boot information only. */
  readonly proxy: boolean
}

/** What the server knows of a client: a reservation (known node) or a lease from the pool. */
export interface ClientBinding {
  readonly address: string
  readonly hostname: string | null
  /** What the client boots next: discovery, an OS installer, or local (its disk). */
  readonly bootenv: string
}

export type RequestIntent =
  | { readonly kind: 'discover' }
  /** REQUEST naming us (or no one): the address the client wants. */
  | { readonly kind: 'request'; readonly address: string | null }
  /** REQUEST naming another server's offer: drop ours, say nothing. */
  | { readonly kind: 'other-server'; readonly serverId: string }
  | { readonly kind: 'release'; readonly address: string }
  | { readonly kind: 'decline'; readonly address: string | null }
  | { readonly kind: 'inform'; readonly address: string }
  | { readonly kind: 'ignore'; readonly reason: string }

export function intentOf(p: DhcpPacket, config: Pick<DhcpConfig, 'serverAddress'>): RequestIntent {
  if (p.op !== 1) return { kind: 'ignore', reason: 'not a BOOTREQUEST' }
  if (p.htype !== 1 || p.hlen !== 6) return { kind: 'ignore', reason: `hardware type ${p.htype}/${p.hlen} is not Ethernet` }
  const type = messageType(p)
  const serverId = ipOption(p, Option.SERVER_ID)
  switch (type) {
    case MessageType.DISCOVER:
      return { kind: 'discover' }
    case MessageType.REQUEST:
      if (serverId && serverId !== config.serverAddress) return { kind: 'other-server', serverId }
      return { kind: 'request', address: ipOption(p, Option.REQUESTED_ADDRESS) ?? (p.ciaddr !== '0.0.0.0' ? p.ciaddr : null) }
    case MessageType.RELEASE:
      return serverId && serverId !== config.serverAddress ? { kind: 'other-server', serverId } : { kind: 'release', address: p.ciaddr }
    case MessageType.DECLINE:
      return { kind: 'decline', address: ipOption(p, Option.REQUESTED_ADDRESS) ?? null }
    case MessageType.INFORM:
      return { kind: 'inform', address: p.ciaddr }
    default:
      return { kind: 'ignore', reason: `message type ${type ?? 'missing'} is not one a server answers` }
  }
}

export function isIpxe(p: DhcpPacket): boolean {
  return userClasses(p).includes('iPXE')
}

export function isPxeClient(p: DhcpPacket): boolean {
  return (textOption(p, Option.VENDOR_CLASS) ?? '').startsWith('PXEClient') || clientArch(p) !== undefined
}

/** The boot file for this client, or null to let its firmware boot the next device (the disk). */
export function bootFileFor(p: DhcpPacket, binding: ClientBinding | null, config: DhcpConfig): string | null {
  if (isIpxe(p)) return config.ipxeScriptUrl(p.chaddr)
  if (!isPxeClient(p)) return null
  const arch = clientArch(p) ?? 0
  // BIOS PXE given no file moves on to the disk at once; UEFI needs the local-boot loader.
  if (binding?.bootenv === 'local') return arch === 0 ? null : config.bootFiles.uefiLocal
  return arch === 0 ? config.bootFiles.bios : config.bootFiles.uefi
}

/** Builds OFFER/ACK (address set) or the proxyDHCP/INFORM answer (no address). */
export function buildReply(
  request: DhcpPacket,
  type: typeof MessageType.OFFER | typeof MessageType.ACK,
  binding: ClientBinding | null,
  config: DhcpConfig,
  options: { readonly withAddress: boolean }
): DhcpPacket {
  const o = new Map<number, Buffer>()
  o.set(Option.MESSAGE_TYPE, opt.u8(type))
  o.set(Option.SERVER_ID, opt.ip(config.serverAddress))
  if (options.withAddress) {
    o.set(Option.LEASE_TIME, opt.u32(config.leaseSeconds))
    o.set(Option.RENEWAL_TIME, opt.u32(Math.floor(config.leaseSeconds / 2)))
    o.set(Option.REBINDING_TIME, opt.u32(Math.floor((config.leaseSeconds * 7) / 8)))
  }
  if (!config.proxy) {
    o.set(Option.SUBNET_MASK, opt.ip(config.subnetMask))
    if (config.router) o.set(Option.ROUTER, opt.ip(config.router))
    if (config.dnsServers.length > 0) o.set(Option.DNS_SERVERS, opt.ips(config.dnsServers))
    if (config.domain) o.set(Option.DOMAIN_NAME, opt.text(config.domain))
    if (binding?.hostname) o.set(Option.HOSTNAME, opt.text(binding.hostname))
  }
  const file = bootFileFor(request, binding, config)
  if (file) o.set(Option.BOOTFILE, opt.text(file))
  if (file && !isIpxe(request)) o.set(Option.TFTP_SERVER, opt.text(config.serverAddress))
  if (isIpxe(request)) {
    // iPXE setting 176 (no-pxedhcp) = 1: do not wait for ProxyDHCP offers (saves ~3 s per boot).
    o.set(Option.IPXE_ENCAP, opt.encapsulated([[176, opt.u8(1)]]))
  }
  if (config.proxy && isPxeClient(request)) {
    // A proxyDHCP answer must say PXEClient; option 43 sub-option 6 = 8: boot from the file given.
    o.set(Option.VENDOR_CLASS, opt.text('PXEClient'))
    o.set(Option.VENDOR_SPECIFIC, opt.encapsulated([[6, opt.u8(8)]]))
  }
  const guid = request.options.get(Option.CLIENT_UUID)
  if (guid && config.proxy) o.set(Option.CLIENT_UUID, guid)
  return replyTo(request, {
    flags: request.flags,
    ciaddr: request.ciaddr,
    yiaddr: options.withAddress && binding ? binding.address : '0.0.0.0',
    siaddr: file && !isIpxe(request) ? config.serverAddress : '0.0.0.0',
    file: file ?? '',
    options: o
  })
}

/** A BOOTREPLY to `request`: its transaction, hardware address and relay, with these fields. */
function replyTo(
  request: DhcpPacket,
  fields: Pick<DhcpPacket, 'flags' | 'ciaddr' | 'yiaddr' | 'siaddr' | 'file' | 'options'>
): DhcpPacket {
  return { op: 2, htype: request.htype, hlen: request.hlen, hops: 0, xid: request.xid, secs: 0, giaddr: request.giaddr, chaddr: request.chaddr, sname: '', ...fields }
}

export function buildNak(request: DhcpPacket, config: DhcpConfig, message: string): DhcpPacket {
  return replyTo(request, {
    flags: request.flags | 0x8000,
    ciaddr: '0.0.0.0',
    yiaddr: '0.0.0.0',
    siaddr: '0.0.0.0',
    file: '',
    options: new Map([
      [Option.MESSAGE_TYPE, opt.u8(MessageType.NAK)],
      [Option.SERVER_ID, opt.ip(config.serverAddress)],
      [Option.MESSAGE, opt.text(message.slice(0, 200))]
    ])
  })
}

/** Where a reply goes: the relay, the client's own address when it has one, else broadcast. */
export function destinationOf(request: DhcpPacket, reply: DhcpPacket): { address: string; port: number } {
  if (request.giaddr !== '0.0.0.0') return { address: request.giaddr, port: 67 }
  const nak = messageType(reply) === MessageType.NAK
  if (!nak && request.ciaddr !== '0.0.0.0') return { address: request.ciaddr, port: 68 }
  // Without ARP for a client that has no address yet, a broadcast always arrives.
  return { address: '255.255.255.255', port: 68 }
}
