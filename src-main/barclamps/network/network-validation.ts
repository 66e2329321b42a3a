// Checks a network definition as a whole before anything is written: subnet and prefix well
// formed, each range inside its subnet and apart from the others, each router inside its subnet.
// Pure; returns every problem found, each naming the field and what to change.
import type { NetworkInput } from '../../model'
import { contains, formatCidr, lastOf, parseAddress, parseCidr, type Cidr, type Family } from '../../base/ip-address'

export interface ResolvedRange {
  readonly name: string
  readonly family: Family
  readonly first: bigint
  readonly last: bigint
}

export interface ValidNetwork {
  readonly v4: Cidr | null
  /** An explicit /64, 'auto' (resolved by the caller), or null. */
  readonly v6: Cidr | 'auto' | null
  readonly ranges: readonly ResolvedRange[]
  readonly routers: ReadonlyArray<{ family: Family; value: bigint; pref: number }>
}

export function validateNetwork(input: NetworkInput): ValidNetwork | string[] {
  const problems: string[] = []
  let v4: Cidr | null = null
  if (input.v4_subnet !== null) {
    const parsed = parseCidr(input.v4_subnet)
    if (typeof parsed === 'string') problems.push(`v4_subnet: ${parsed}`)
    else if (parsed.family !== 4) problems.push(`v4_subnet: ${input.v4_subnet} is not an IPv4 subnet`)
    else if (parsed.prefixLength > 30) problems.push(`v4_subnet: /${parsed.prefixLength} leaves no room for hosts; use /30 or shorter`)
    else v4 = parsed
  }
  let v6: Cidr | 'auto' | null = null
  if (input.v6prefix !== null) {
    if (input.v6prefix === 'auto') v6 = 'auto'
    else {
      const parsed = parseCidr(input.v6prefix)
      if (typeof parsed === 'string') problems.push(`v6prefix: ${parsed}; or use "auto"`)
      else if (parsed.family !== 6 || parsed.prefixLength !== 64) problems.push(`v6prefix: ${input.v6prefix} must be an IPv6 /64 (e.g. 2001:db8:1:2::/64) or "auto"`)
      else v6 = parsed
    }
  }
  if (input.v4_subnet === null && input.v6prefix === null) problems.push('v4_subnet: a network needs an IPv4 subnet, a v6prefix, or both')

  const subnetOf = (family: Family): Cidr | null => (family === 4 ? v4 : v6 === 'auto' ? null : v6)
  const ranges: ResolvedRange[] = []
  input.ranges.forEach((r, i) => {
    const where = `ranges[${i}] (${r.name})`
    const first = parseAddress(r.first)
    const last = parseAddress(r.last)
    if (!first || !last) {
      problems.push(`${where}: ${!first ? r.first : r.last} is not an IP address`)
      return
    }
    if (first.family !== last.family) {
      problems.push(`${where}: first and last are of different families`)
      return
    }
    const family = first.family
    if (first.value > last.value) problems.push(`${where}: first ${r.first} comes after last ${r.last}`)
    const subnet = subnetOf(family)
    if (family === 6 && v6 === 'auto') {
      problems.push(`${where}: an IPv6 range needs an explicit v6prefix, not "auto"`)
    } else if (!subnet) {
      problems.push(`${where}: the network has no IPv${family} ${family === 4 ? 'subnet' : 'prefix'} for it`)
    } else if (!contains(subnet, family, first.value) || !contains(subnet, family, last.value)) {
      problems.push(`${where}: ${r.first}-${r.last} is outside ${formatCidr(subnet)}`)
    } else if (family === 4 && (first.value === subnet.network || last.value === lastOf(subnet))) {
      problems.push(`${where}: must not include the network or broadcast address of ${formatCidr(subnet)}`)
    }
    if (ranges.some((o) => o.family === family && o.name === r.name)) problems.push(`${where}: a second IPv${family} range named ${r.name}`)
    const overlap = ranges.find((o) => o.family === family && first.value <= o.last && o.first <= last.value)
    if (overlap) problems.push(`${where}: overlaps range ${overlap.name}`)
    ranges.push({ name: r.name, family, first: first.value, last: last.value })
  })

  const routers: Array<{ family: Family; value: bigint; pref: number }> = []
  input.routers.forEach((r, i) => {
    const where = `routers[${i}]`
    const addr = parseAddress(r.address)
    if (!addr) {
      problems.push(`${where}: ${r.address} is not an IP address`)
      return
    }
    const subnet = subnetOf(addr.family)
    const auto = addr.family === 6 && v6 === 'auto'
    if (!auto && (!subnet || !contains(subnet, addr.family, addr.value))) {
      problems.push(`${where}: ${r.address} is outside the network's IPv${addr.family} ${addr.family === 4 ? 'subnet' : 'prefix'}`)
    }
    routers.push({ family: addr.family, value: addr.value, pref: r.pref })
  })
  return problems.length > 0 ? problems : { v4, v6, ranges, routers }
}
