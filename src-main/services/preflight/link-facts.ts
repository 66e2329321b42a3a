// The interface's own facts from iproute2's JSON (`ip -j link|addr|route`), read in pure functions:
// link flags, carrier and MTU, its addresses, and which interfaces hold a default route.
import { z } from 'zod'
import { formatAddress, parseAddress } from '../../base/ip-address'
import type { PreflightReport } from '../../model/preflight'

const LinkSchema = z.array(
  z.object({
    ifname: z.string(),
    flags: z.array(z.string()).default([]),
    mtu: z.number().int().optional(),
    address: z.string().optional(),
    addr_info: z.array(z.object({ family: z.string(), local: z.string().optional(), prefixlen: z.number().int().optional(), scope: z.string().optional() })).default([])
  })
)

/** Link and addresses from `ip -j addr show dev IF`; a missing interface (empty output) says so. */
export function linkFacts(json: string): Pick<PreflightReport, 'link' | 'addresses'> {
  const parsed = LinkSchema.safeParse(json.trim() === '' ? [] : JSON.parse(json))
  const link = parsed.success ? parsed.data[0] : undefined
  if (!link) return { link: { exists: false, up: false, carrier: false, mtu: null, mac: null }, addresses: [] }
  return {
    link: {
      exists: true,
      up: link.flags.includes('UP'),
      // LOWER_UP is the driver's carrier; NO-CARRIER is what ip prints without one.
      carrier: link.flags.includes('LOWER_UP') && !link.flags.includes('NO-CARRIER'),
      mtu: link.mtu ?? null,
      mac: link.address ?? null
    },
    addresses: link.addr_info.flatMap((a) =>
      a.local !== undefined && a.prefixlen !== undefined && (a.family === 'inet' || a.family === 'inet6')
        ? [{ family: a.family === 'inet' ? (4 as const) : (6 as const), address: a.local, prefix_length: a.prefixlen }]
        : []
    )
  }
}

const RouteSchema = z.array(z.object({ dst: z.string(), dev: z.string().optional() }))

/** The interfaces holding a default route, from `ip -j route show default` (either family). */
export function defaultRouteDevices(json: string): string[] {
  const parsed = RouteSchema.safeParse(json.trim() === '' ? [] : JSON.parse(json))
  if (!parsed.success) return []
  return parsed.data.flatMap((r) => (r.dst === 'default' && r.dev ? [r.dev] : []))
}

/** 10.0.0.7 with 255.255.255.0 -> 10.0.0.0/24; null if either is not IPv4 or the mask is not contiguous. */
export function subnetOfMask(address: string, mask: string): string | null {
  const a = parseAddress(address)
  const m = parseAddress(mask)
  if (a?.family !== 4 || m?.family !== 4) return null
  const bits = m.value.toString(2).padStart(32, '0')
  if (!/^1*0*$/.test(bits)) return null
  return `${formatAddress(4, a.value & m.value)}/${bits.indexOf('0') === -1 ? 32 : bits.indexOf('0')}`
}
