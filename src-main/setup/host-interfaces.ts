// This machine's network interfaces and their IPv4 addresses, for the install wizard to offer.
// iproute2 first (it also lists interfaces that are down, e.g. a rack cable not yet plugged in),
// Node's own table where `ip` is missing.
import { spawnSync } from 'node:child_process'
import { networkInterfaces, type NetworkInterfaceInfo } from 'node:os'
import { z } from 'zod'
import { formatAddress, parseAddress } from '../base/ip-address'

export interface HostAddress {
  readonly address: string
  readonly prefixLength: number
  /** The subnet the address is in, e.g. 192.168.124.0/24. */
  readonly subnet: string
}

export interface HostInterface {
  readonly name: string
  readonly loopback: boolean
  readonly addresses: readonly HostAddress[]
}

export function subnetOf(address: string, prefixLength: number): string {
  const parsed = parseAddress(address)
  if (!parsed || parsed.family !== 4) throw new Error(`not an IPv4 address: ${address}`)
  const host = (1n << BigInt(32 - prefixLength)) - 1n
  return `${formatAddress(4, parsed.value & ~host)}/${prefixLength}`
}

const hostAddress = (address: string, prefixLength: number): HostAddress => ({ address, prefixLength, subnet: subnetOf(address, prefixLength) })

const IpAddrSchema = z.array(
  z.object({
    ifname: z.string(),
    flags: z.array(z.string()).default([]),
    link_type: z.string().optional(),
    addr_info: z
      .array(z.object({ family: z.string(), local: z.string().optional(), prefixlen: z.number().int().min(0).max(128).optional() }))
      .default([])
  })
)

/** Interfaces from `ip -j addr show` output. Throws on output it does not understand. */
export function interfacesFromIproute(json: string): HostInterface[] {
  return IpAddrSchema.parse(JSON.parse(json)).map((link) => ({
    name: link.ifname,
    loopback: link.flags.includes('LOOPBACK') || link.link_type === 'loopback',
    addresses: link.addr_info
      .filter((a) => a.family === 'inet' && a.local !== undefined && a.prefixlen !== undefined && a.prefixlen <= 32)
      .map((a) => hostAddress(a.local ?? '', a.prefixlen ?? 32))
  }))
}

/** Interfaces from Node's table (only those that are up and running are in it). */
export function interfacesFromNode(table: NodeJS.Dict<NetworkInterfaceInfo[]>): HostInterface[] {
  return Object.entries(table).map(([name, entries = []]) => ({
    name,
    loopback: entries.some((e) => e.internal),
    addresses: entries
      .filter((e) => e.family === 'IPv4' && e.cidr !== null)
      .map((e) => hostAddress(e.address, Number(e.cidr?.split('/')[1] ?? 32)))
  }))
}

export function listHostInterfaces(): HostInterface[] {
  const out = spawnSync('ip', ['-j', 'addr', 'show'], { encoding: 'utf8', timeout: 5000 })
  if (out.status === 0) {
    try {
      return interfacesFromIproute(out.stdout)
    } catch {
      // An `ip` whose JSON we do not understand: Node's table still has the running interfaces.
    }
  }
  return interfacesFromNode(networkInterfaces())
}
