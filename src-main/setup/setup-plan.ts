// The install wizard's choices checked as a whole before anything is written, and turned into what
// the first start creates. Pure: every problem found is returned, each starting with its field.
import type { SetupInput, SetupPlan } from '../model'
import { adminFqdn, DEFAULT_ADMIN_SUBNET, DEFAULT_CLUSTER_DOMAIN, layoutFor } from '../barclamps/network/admin-bootstrap'
import { contains, formatAddress, formatCidr, lastOf, parseAddress, parseCidr, type Cidr } from '../base/ip-address'
import type { HostInterface } from './host-interfaces'

export const NO_INTERFACE = 'none'
/** Room for a router, the admin node, a host range and a dhcp range. */
const SMALLEST_PREFIX = 28
/** Larger than a /8 is a typo, not an admin network (and far beyond what one DHCP server leases). */
const LARGEST_PREFIX = 8
const LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/

interface Span {
  readonly first: bigint
  readonly last: bigint
}

const v4 = (value: bigint): string => formatAddress(4, value)
const spanText = (s: Span): string => (s.first === s.last ? v4(s.first) : `${v4(s.first)}-${v4(s.last)}`)
const overlaps = (a: Span, b: Span): boolean => a.first <= b.last && b.first <= a.last

function isDnsName(name: string): boolean {
  return name.length <= 253 && name.split('.').every((label) => LABEL.test(label))
}

/** Why this interface cannot face the rack, or null if it can. */
export function unusableReason(iface: HostInterface): string | null {
  if (iface.loopback) return `${iface.name} is the loopback interface: choose the one that faces the rack, or none`
  const address = iface.addresses[0]
  if (!address) {
    return `${iface.name} has no IPv4 address: give it its address on the admin network (e.g. \`ip addr add 192.168.124.10/24 dev ${iface.name}\`), or choose none`
  }
  if (address.prefixLength > SMALLEST_PREFIX) {
    return `${iface.name}'s subnet ${address.subnet} is too small for an admin network (/${SMALLEST_PREFIX} or larger): give it an address in a larger one, or choose none`
  }
  return null
}

/** The wizard's first proposal: the defaults, or the interface's subnet with its address for the admin node. */
export function proposalFor(iface: HostInterface | null, host?: string): SetupInput {
  const address = iface && unusableReason(iface) === null ? iface.addresses[0] : undefined
  const subnet = address?.subnet ?? DEFAULT_ADMIN_SUBNET
  const dhcp = layoutFor(subnet, address?.address).ranges.find((r) => r.name === 'dhcp')
  const domain = DEFAULT_CLUSTER_DOMAIN
  const fqdn = adminFqdn(domain, host)
  return {
    interface: address && iface ? iface.name : NO_INTERFACE,
    v4_subnet: subnet,
    dhcp_first: dhcp?.first ?? '',
    dhcp_last: dhcp?.last ?? '',
    v6prefix: 'auto',
    domain,
    admin_name: fqdn.endsWith(`.${domain}`) ? fqdn : `${fqdn.split('.')[0] ?? 'admin'}.${domain}`
  }
}

/** The largest stretch of `within` that none of `taken` touches. */
function largestFree(within: Span, taken: readonly Span[]): Span | null {
  let gaps: Span[] = [within]
  for (const t of taken) {
    gaps = gaps.flatMap((g) => {
      if (!overlaps(g, t)) return [g]
      const parts: Span[] = []
      if (g.first < t.first) parts.push({ first: g.first, last: t.first - 1n })
      if (t.last < g.last) parts.push({ first: t.last + 1n, last: g.last })
      return parts
    })
  }
  return gaps.reduce<Span | null>((best, g) => (!best || g.last - g.first > best.last - best.first ? g : best), null)
}

function checkSubnet(input: SetupInput, problems: string[]): Cidr | null {
  const cidr = parseCidr(input.v4_subnet)
  if (typeof cidr === 'string') problems.push(`v4_subnet: ${cidr}`)
  else if (cidr.family !== 4) problems.push(`v4_subnet: ${input.v4_subnet} is not an IPv4 subnet`)
  else if (cidr.prefixLength > SMALLEST_PREFIX) {
    problems.push(`v4_subnet: /${cidr.prefixLength} is too small for a router, the admin node, hosts and a dhcp range; use /${SMALLEST_PREFIX} or shorter (e.g. /24)`)
  } else if (cidr.prefixLength < LARGEST_PREFIX) {
    problems.push(`v4_subnet: /${cidr.prefixLength} is larger than an admin network needs; use /${LARGEST_PREFIX} or longer (e.g. /24)`)
  } else return cidr
  return null
}

/** The interface's address inside the subnet (the admin node's), or null without an interface. */
function checkInterface(input: SetupInput, interfaces: readonly HostInterface[], subnet: Cidr | null, problems: string[]): string | null {
  if (input.interface === NO_INTERFACE) return null
  const iface = interfaces.find((i) => i.name === input.interface)
  if (!iface) {
    const names = interfaces.filter((i) => !i.loopback).map((i) => i.name)
    problems.push(`interface: there is no interface named ${input.interface} on this machine; choose one of ${[...names, NO_INTERFACE].join(', ')}`)
    return null
  }
  const reason = unusableReason(iface)
  if (reason) {
    problems.push(`interface: ${reason}`)
    return null
  }
  if (!subnet) return null
  const inside = iface.addresses.find((a) => contains(subnet, 4, parseAddress(a.address)?.value ?? -1n))
  // The boot services answer with the address's own mask: the admin network must be exactly its subnet.
  if (inside && inside.subnet === formatCidr(subnet)) return inside.address
  if (inside) {
    problems.push(
      `v4_subnet: ${formatCidr(subnet)} is not ${iface.name}'s subnet ${inside.subnet} (DHCP would hand out ${iface.name}'s mask): use ${inside.subnet}, or change ${iface.name}'s address first`
    )
    return null
  }
  const first = iface.addresses[0]
  problems.push(
    `v4_subnet: ${formatCidr(subnet)} does not hold ${iface.name}'s address ${first?.address ?? ''}: use ${iface.name}'s subnet ${first?.subnet ?? ''}, or give ${iface.name} an address in ${formatCidr(subnet)}`
  )
  return null
}

function checkDhcpEnd(field: 'dhcp_first' | 'dhcp_last', text: string, subnet: Cidr | null, problems: string[]): bigint | null {
  if (text.trim() === '') {
    problems.push(`${field}: give the ${field === 'dhcp_first' ? 'first' : 'last'} address of the dhcp range (unknown machines get their first address from it)`)
    return null
  }
  const parsed = parseAddress(text.trim())
  if (!parsed || parsed.family !== 4) {
    problems.push(`${field}: ${text} is not an IPv4 address`)
    return null
  }
  if (!subnet) return parsed.value
  if (!contains(subnet, 4, parsed.value)) problems.push(`${field}: ${text} is outside v4_subnet ${formatCidr(subnet)}`)
  else if (parsed.value === subnet.network || parsed.value === lastOf(subnet)) problems.push(`${field}: ${text} is the network or broadcast address of ${formatCidr(subnet)}`)
  else return parsed.value
  return null
}

function checkV6(input: SetupInput, problems: string[]): string | null {
  const text = input.v6prefix?.trim() ?? ''
  if (input.v6prefix === null || text === '') return null
  if (text === 'auto') return 'auto'
  const cidr = parseCidr(text)
  if (typeof cidr !== 'string' && cidr.family === 6 && cidr.prefixLength === 64) return formatCidr(cidr)
  problems.push(`v6prefix: ${typeof cidr === 'string' ? cidr : `${text} is not an IPv6 /64`}; use "auto", a /64 such as 2001:db8:1:2::/64, or none`)
  return null
}

function checkNames(input: SetupInput, problems: string[]): { domain: string; adminName: string } {
  const domain = input.domain.trim().toLowerCase().replace(/\.$/, '')
  const domainOk = isDnsName(domain) && domain.length <= 200
  if (!domainOk) problems.push(`domain: "${input.domain}" is not a DNS name: use dot-separated labels of letters, digits and inner hyphens, e.g. crowbar.lab`)
  const given = input.admin_name.trim().toLowerCase().replace(/\.$/, '')
  const adminName = given.includes('.') ? given : `${given}.${domain}`
  if (given === '' || !isDnsName(given)) {
    problems.push(`admin_name: "${input.admin_name}" is not a host name: use letters, digits and inner hyphens, e.g. admin or admin.${domainOk ? domain : 'crowbar.lab'}`)
  } else if (domainOk && !adminName.endsWith(`.${domain}`)) {
    problems.push(`admin_name: ${given} is not in the cluster domain ${domain}: give a bare host name such as admin, or a name ending in .${domain}`)
  }
  return { domain, adminName }
}

/** The plan for valid choices, or every problem found, each starting with the field to change. */
export function planSetup(input: SetupInput, interfaces: readonly HostInterface[]): SetupPlan | string[] {
  const problems: string[] = []
  const subnet = checkSubnet(input, problems)
  const adminAddress = checkInterface(input, interfaces, subnet, problems)
  const first = checkDhcpEnd('dhcp_first', input.dhcp_first, subnet, problems)
  const last = checkDhcpEnd('dhcp_last', input.dhcp_last, subnet, problems)
  const v6prefix = checkV6(input, problems)
  const { domain, adminName } = checkNames(input, problems)
  if (!subnet || problems.length > 0 || first === null || last === null) return problems

  if (first > last) return [`dhcp_last: ${input.dhcp_last} comes before dhcp_first ${input.dhcp_first}`]
  const dhcp: Span = { first, last }
  const layout = layoutFor(formatCidr(subnet), adminAddress ?? undefined)
  const router = parseAddress(layout.router)?.value ?? subnet.network + 1n
  const span = (r: { first: string; last: string }): Span => ({ first: parseAddress(r.first)?.value ?? 0n, last: parseAddress(r.last)?.value ?? 0n })
  const admin = span(layout.ranges.find((r) => r.name === 'admin') ?? { first: layout.router, last: layout.router })
  if (overlaps(dhcp, { first: router, last: router })) problems.push(`dhcp_first: the dhcp range ${spanText(dhcp)} holds the router ${v4(router)}`)
  if (overlaps(dhcp, admin)) problems.push(`dhcp_first: the dhcp range ${spanText(dhcp)} holds the admin node's address ${spanText(admin)}`)
  if (problems.length > 0) return problems

  // Nodes' fixed addresses: Crowbar's host range where the dhcp range leaves it, else the largest stretch left.
  const taken = [{ first: router, last: router }, admin, dhcp]
  const usual = layout.ranges.find((r) => r.name === 'host')
  const host =
    (usual ? largestFree(span(usual), taken) : null) ?? largestFree({ first: subnet.network + 1n, last: lastOf(subnet) - 1n }, taken)
  if (!host) return [`dhcp_first: the dhcp range ${spanText(dhcp)} leaves no addresses for the host range (nodes' fixed addresses): make it smaller`]
  const ranges = [
    { name: 'admin', ...admin },
    { name: 'host', ...host },
    { name: 'dhcp', ...dhcp }
  ].map((r) => ({ name: r.name, first: v4(r.first), last: v4(r.last) }))
  return { interface: input.interface, v4_subnet: formatCidr(subnet), admin_address: adminAddress, router: v4(router), ranges, v6prefix, domain, admin_name: adminName }
}
