// IPv4 and IPv6 addresses as numbers (bigint), for range arithmetic. Pure; inputs are validated
// and every failure is a message, never a throw from deep inside.
import { createHash } from 'node:crypto'
import { isIPv4, isIPv6 } from 'node:net'

export type Family = 4 | 6

export interface Cidr {
  readonly family: Family
  readonly network: bigint
  readonly prefixLength: number
}

const BITS: Record<Family, number> = { 4: 32, 6: 128 }

export function parseAddress(address: string): { family: Family; value: bigint } | null {
  if (isIPv4(address)) {
    const value = address.split('.').reduce((acc, part) => (acc << 8n) + BigInt(Number(part)), 0n)
    return { family: 4, value }
  }
  if (!isIPv6(address) || address.includes('%')) return null
  let text = address.toLowerCase()
  // An embedded IPv4 tail (::ffff:1.2.3.4) becomes two hex groups.
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text)
  if (v4?.[1]) {
    const n = parseAddress(v4[1])
    if (!n) return null
    text = text.replace(v4[1], `${((n.value >> 16n) & 0xffffn).toString(16)}:${(n.value & 0xffffn).toString(16)}`)
  }
  const [head = '', tail] = text.split('::')
  const headGroups = head === '' ? [] : head.split(':')
  const tailGroups = tail === undefined || tail === '' ? [] : tail.split(':')
  const missing = 8 - headGroups.length - tailGroups.length
  const groups = tail === undefined ? headGroups : [...headGroups, ...Array<string>(missing).fill('0'), ...tailGroups]
  if (groups.length !== 8) return null
  const value = groups.reduce((acc, g) => (acc << 16n) + BigInt(parseInt(g, 16)), 0n)
  return { family: 6, value }
}

export function formatAddress(family: Family, value: bigint): string {
  if (family === 4) return [24n, 16n, 8n, 0n].map((s) => String((value >> s) & 0xffn)).join('.')
  const groups = Array.from({ length: 8 }, (_, i) => (value >> BigInt(112 - 16 * i)) & 0xffffn)
  // RFC 5952: compress the longest run (2+) of zero groups, leftmost on a tie.
  let bestStart = -1
  let bestLen = 0
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0n) {
      i++
      continue
    }
    let j = i
    while (j < 8 && groups[j] === 0n) j++
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i
      bestLen = j - i
    }
    i = j
  }
  const hex = groups.map((g) => g.toString(16))
  if (bestStart < 0) return hex.join(':')
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`
}

export function parseCidr(text: string): Cidr | string {
  const m = /^([^/\s]+)\/(\d{1,3})$/.exec(text.trim())
  if (!m?.[1] || !m[2]) return `"${text}" is not in address/prefix-length form (e.g. 192.168.124.0/24)`
  const addr = parseAddress(m[1])
  if (!addr) return `"${m[1]}" is not an IPv4 or IPv6 address`
  const prefixLength = Number(m[2])
  const bits = BITS[addr.family]
  if (prefixLength > bits) return `prefix length /${prefixLength} is too long for IPv${addr.family} (at most /${bits})`
  const host = (1n << BigInt(bits - prefixLength)) - 1n
  if ((addr.value & host) !== 0n) {
    return `"${text}" has host bits set; the network is ${formatAddress(addr.family, addr.value & ~host)}/${prefixLength}`
  }
  return { family: addr.family, network: addr.value, prefixLength }
}

export function formatCidr(c: Cidr): string {
  return `${formatAddress(c.family, c.network)}/${c.prefixLength}`
}

export function lastOf(c: Cidr): bigint {
  return c.network + (1n << BigInt(BITS[c.family] - c.prefixLength)) - 1n
}

export function contains(c: Cidr, family: Family, value: bigint): boolean {
  return family === c.family && value >= c.network && value <= lastOf(c)
}

/** The last 64 bits of md5(FQDN): a node's IPv6 interface ID on every network (DESIGN.md §5). */
export function interfaceId(fqdn: string): bigint {
  const digest = createHash('md5').update(fqdn).digest()
  return digest.subarray(8, 16).reduce((acc, byte) => (acc << 8n) + BigInt(byte), 0n)
}

/** RFC 4193 unique-local /64: fd + 40-bit global ID + 16-bit subnet ID. */
export function ulaPrefix(globalId: bigint, subnetId: number): Cidr {
  const network = ((0xfdn << 56n) | ((globalId & 0xff_ffff_ffffn) << 16n) | BigInt(subnetId & 0xffff)) << 64n
  return { family: 6, network, prefixLength: 64 }
}
