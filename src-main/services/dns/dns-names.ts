// Names and addresses as the zone holds them: hostname syntax, "within this apex", and an address's
// canonical text with its reverse (PTR) owner name and the reverse zone that holds it. Pure.
import { formatIpv6, writeIpv4, writeIpv6 } from './dns-codec'

/** Reverse zones are /24 (IPv4) and /64 (IPv6): the sizes a rack's networks come in. */
const REVERSE_V4_OCTETS = 3
const REVERSE_V6_NIBBLES = 16

const HOST_LABEL = /^[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?$/

/** Lowercase, no trailing dot, hostname syntax; null when the text is not a usable name. */
export function normalizeName(text: string): string | null {
  const name = (text.endsWith('.') ? text.slice(0, -1) : text).toLowerCase()
  if (name === '' || name.length > 253) return null
  for (const label of name.split('.')) if (!HOST_LABEL.test(label)) return null
  return name
}

export function isWithin(name: string, apex: string): boolean {
  return name === apex || (name.endsWith(apex) && name.charCodeAt(name.length - apex.length - 1) === 0x2e)
}

export interface ParsedAddress {
  readonly family: 4 | 6
  readonly text: string
  readonly reverse: string
  readonly reverseApex: string
}

const addressBytes = Buffer.alloc(16)
/** `x.` for each of the 32 nibbles, filled back to front: one string per address, not 32. */
const nibbleText = Buffer.alloc(64, '.')

export function parseAddress(text: string): ParsedAddress | null {
  if (writeIpv4(text, 0, addressBytes)) {
    const octets = [...addressBytes.subarray(0, 4)]
    const reversed = octets.slice().reverse()
    return {
      family: 4,
      text: octets.join('.'),
      reverse: `${reversed.join('.')}.in-addr.arpa`,
      reverseApex: `${reversed.slice(4 - REVERSE_V4_OCTETS).join('.')}.in-addr.arpa`
    }
  }
  if (writeIpv6(text, 0, addressBytes)) {
    const digits = addressBytes.toString('hex')
    for (let i = 0; i < 32; i++) nibbleText.writeUInt8(digits.charCodeAt(31 - i), 2 * i)
    const reverse = `${nibbleText.toString('latin1')}ip6.arpa`
    return { family: 6, text: formatIpv6(addressBytes, 0), reverse, reverseApex: reverse.slice(2 * (32 - REVERSE_V6_NIBBLES)) }
  }
  return null
}

/** The PTR owner name of an address (`4.3.2.1.in-addr.arpa`, nibbles under `ip6.arpa`). */
export function reverseNameOf(address: string): string | null {
  return parseAddress(address)?.reverse ?? null
}
