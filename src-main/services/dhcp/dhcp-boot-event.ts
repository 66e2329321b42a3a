// What the DHCP server tells its optional event sink (the boot flight recorder): each request it
// decoded and each reply it sent, with the PXE facts a boot timeline needs. Pure.
import { clientArch, ipOption, MessageType, messageType, Option, textOption, userClasses, type DhcpPacket } from './dhcp-codec'

export type DhcpMessageName = 'discover' | 'offer' | 'request' | 'decline' | 'ack' | 'nak' | 'release' | 'inform' | 'unknown'

export interface DhcpBootEvent {
  /** The client's hardware address, lower-case aa:bb:... */
  readonly mac: string
  readonly direction: 'in' | 'out'
  readonly message: DhcpMessageName
  readonly xid: number
  /** Option 93 (client architecture), when sent. */
  readonly arch?: number
  /** Option 60 (vendor class), when sent. */
  readonly vendorClass?: string
  /** Option 77 (user classes), when sent. */
  readonly userClass?: readonly string[]
  /** Option 50 or ciaddr: the address asked for (requests); yiaddr (replies). */
  readonly address?: string
  /** The boot file or URL given (replies). */
  readonly bootFile?: string
  /** Next-server (siaddr) of a reply that names a boot file. */
  readonly nextServer?: string
  /** Option 56 (a NAK's reason). */
  readonly reason?: string
  /** Option 54: the server a REQUEST names (another server's: the client took its offer); ours on replies. */
  readonly serverId?: string
}

const NAMES: Record<number, DhcpMessageName> = {
  [MessageType.DISCOVER]: 'discover',
  [MessageType.OFFER]: 'offer',
  [MessageType.REQUEST]: 'request',
  [MessageType.DECLINE]: 'decline',
  [MessageType.ACK]: 'ack',
  [MessageType.NAK]: 'nak',
  [MessageType.RELEASE]: 'release',
  [MessageType.INFORM]: 'inform'
}

/** Longest text taken from a client-chosen option. */
const TEXT_MAX = 128

/**
 * Where the DHCP server tells of a packet: the facts a budget decides on, and the event to build
 * only if it is kept (under a flood most are not, and building one parses the packet's options).
 */
export type DhcpEventSink = (mac: string, direction: 'in' | 'out', message: DhcpMessageName, event: () => DhcpBootEvent) => void

export function dhcpMessageName(p: DhcpPacket): DhcpMessageName {
  const type = messageType(p)
  return (type !== undefined ? NAMES[type] : undefined) ?? 'unknown'
}

export function dhcpBootEvent(p: DhcpPacket, direction: 'in' | 'out'): DhcpBootEvent {
  const arch = clientArch(p)
  const vendorClass = textOption(p, Option.VENDOR_CLASS)
  const userClass = userClasses(p)
  const address = direction === 'in' ? (ipOption(p, Option.REQUESTED_ADDRESS) ?? (p.ciaddr !== '0.0.0.0' ? p.ciaddr : undefined)) : p.yiaddr !== '0.0.0.0' ? p.yiaddr : undefined
  const bootFile = direction === 'out' ? p.file || textOption(p, Option.BOOTFILE) : undefined
  const reason = direction === 'out' ? textOption(p, Option.MESSAGE) : undefined
  const serverId = ipOption(p, Option.SERVER_ID)
  return {
    mac: p.chaddr,
    direction,
    message: dhcpMessageName(p),
    xid: p.xid,
    ...(arch !== undefined ? { arch } : {}),
    ...(vendorClass !== undefined && direction === 'in' ? { vendorClass: vendorClass.slice(0, TEXT_MAX) } : {}),
    ...(userClass.length > 0 && direction === 'in' ? { userClass: userClass.slice(0, 8).map((u) => u.slice(0, TEXT_MAX)) } : {}),
    ...(address ? { address } : {}),
    ...(bootFile ? { bootFile, ...(p.siaddr !== '0.0.0.0' ? { nextServer: p.siaddr } : {}) } : {}),
    ...(reason ? { reason } : {}),
    ...(serverId ? { serverId } : {})
  }
}
