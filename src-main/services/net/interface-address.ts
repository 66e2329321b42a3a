// The interface that faces the rack: its IPv4 address, mask and subnet, found also before anything
// is plugged into it (Node lists only running interfaces; iproute2 sees them all).
import { spawnSync } from 'node:child_process'
import { networkInterfaces } from 'node:os'
import { contains, formatAddress, parseAddress, parseCidr } from '../../base/ip-address'

/** Why the boot services cannot serve on an interface, in words the operator acts on. */
export class BootServicesError extends Error {
  override readonly name = 'BootServicesError'
}

export interface InterfaceAddress {
  readonly address: string
  readonly netmask: string
  readonly prefixLength: number
  readonly subnet: string
}

/**
 * Node lists only interfaces that are running; a bridge with no port up yet, or a laptop whose
 * rack cable is not plugged in, is missing there. iproute2 sees them all.
 */
function addressesFromIproute(name: string): Array<{ address: string; prefixLength: number }> {
  const out = spawnSync('ip', ['-j', '-4', 'addr', 'show', 'dev', name], { encoding: 'utf8', timeout: 5000 })
  if (out.status !== 0) return []
  try {
    const parsed = JSON.parse(out.stdout) as Array<{ addr_info?: Array<{ local?: string; prefixlen?: number }> }>
    return (parsed[0]?.addr_info ?? []).flatMap((a) => (a.local && a.prefixlen !== undefined ? [{ address: a.local, prefixLength: a.prefixlen }] : []))
  } catch {
    return []
  }
}

/** The address with its mask and subnet, in the network barclamp's own arithmetic. */
function describeAddress(address: string, prefixLength: number): InterfaceAddress {
  const value = parseAddress(address)?.value ?? 0n
  const mask = prefixLength === 0 ? 0n : ((1n << 32n) - 1n) ^ ((1n << BigInt(32 - prefixLength)) - 1n)
  return { address, netmask: formatAddress(4, mask), prefixLength, subnet: `${formatAddress(4, value & mask)}/${prefixLength}` }
}

/**
 * The interface's IPv4 address the boot services answer from: with `within` (the admin network's
 * subnet), the one inside it, so an interface with several addresses serves from the right one.
 */
export function interfaceAddress(name: string, within?: string): InterfaceAddress {
  const all = networkInterfaces()
  const entries = all[name]
  const fromNode = (entries ?? []).filter((e) => e.family === 'IPv4' && e.cidr).map((e) => ({ address: e.address, prefixLength: Number(e.cidr?.split('/')[1]) }))
  const found = fromNode.length > 0 ? fromNode : addressesFromIproute(name)
  if (found.length === 0) {
    if (!entries && spawnSync('ip', ['link', 'show', 'dev', name], { timeout: 5000 }).status !== 0) {
      throw new BootServicesError(`there is no network interface named ${name}; choose one of: ${Object.keys(all).join(', ')} (see \`ip link\`)`)
    }
    throw new BootServicesError(`interface ${name} has no IPv4 address; give it the admin network's address first`)
  }
  const described = found.map((f) => describeAddress(f.address, f.prefixLength))
  const subnet = within === undefined ? undefined : parseCidr(within)
  const inside =
    subnet === undefined || typeof subnet === 'string'
      ? undefined
      : described.find((d) => {
          const a = parseAddress(d.address)
          return a !== null && contains(subnet, a.family, a.value)
        })
  return inside ?? (described[0] as InterfaceAddress)
}
