// An IPv6 Router Advertisement (RFC 4861) from an Ethernet frame's IPv6 payload: who sent it, its
// router lifetime, M/O flags and on-link prefixes. Pure; input is hostile: length checks before
// reads, a bounded option walk, nothing throws. Extension headers are not followed (RAs carry none).
import { formatAddress } from '../../base/ip-address'
import type { Ipv6RouterSeen } from '../../model/preflight'

export const IPV6_ETHERTYPE = 0x86dd
const ICMPV6 = 58
const ROUTER_ADVERTISEMENT = 134
const PREFIX_INFORMATION = 3
const MAX_OPTIONS = 64

const address6 = (b: Buffer): string => formatAddress(6, BigInt(`0x${b.toString('hex')}`))

/** The advertisement in an IPv6 packet, or null if it is not one (or is malformed). */
export function decodeRouterAdvertisement(packet: Buffer): Ipv6RouterSeen | null {
  if (packet.length < 40 + 16 || packet[0] === undefined || packet[0] >> 4 !== 6 || packet[6] !== ICMPV6) return null
  const payloadLength = packet.readUInt16BE(4)
  const icmp = packet.subarray(40, 40 + Math.min(payloadLength, packet.length - 40))
  if (icmp.length < 16 || icmp[0] !== ROUTER_ADVERTISEMENT || icmp[1] !== 0) return null
  const flags = icmp[5] ?? 0
  const prefixes: string[] = []
  let at = 16
  for (let n = 0; n < MAX_OPTIONS && at + 2 <= icmp.length; n++) {
    const length = (icmp[at + 1] ?? 0) * 8
    if (length === 0 || at + length > icmp.length) break
    if (icmp[at] === PREFIX_INFORMATION && length === 32) {
      prefixes.push(`${address6(icmp.subarray(at + 16, at + 32))}/${icmp[at + 2] ?? 0}`)
    }
    at += length
  }
  return {
    address: address6(packet.subarray(8, 24)),
    router_lifetime: icmp.readUInt16BE(6),
    managed: (flags & 0x80) !== 0,
    other: (flags & 0x40) !== 0,
    prefixes
  }
}
