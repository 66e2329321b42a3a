// The network preflight's report (DESIGN.md §6.2): what is on the link of one interface before the
// wizard creates anything or the boot services start there, and what DHCP mode that calls for.
import { z } from 'zod'

export const PreflightInputSchema = z.object({ interface: z.string().min(1).max(15) }).strict()
export type PreflightInput = z.infer<typeof PreflightInputSchema>

/** Another DHCP server's OFFER to our PXE-looking DISCOVER. */
export const DhcpServerSeenSchema = z.object({
  /** Its server identifier (option 54), else the packet's siaddr. */
  server: z.string(),
  /** The address it offered; null: none (a proxyDHCP server, which only adds boot information). */
  offered: z.string().nullable(),
  /** The offered address's subnet from option 1, e.g. 10.0.0.0/24; null without both. */
  subnet: z.string().nullable(),
  router: z.string().nullable(),
  dns_servers: z.array(z.string()),
  domain: z.string().nullable(),
  lease_seconds: z.number().int().nullable(),
  /** The boot file it hands to a PXE client (file field or option 67); null: none. */
  boot_file: z.string().nullable(),
  /** TFTP server for the boot file (siaddr or option 66); null: none. */
  next_server: z.string().nullable(),
  /** Option 60 in its answer ("PXEClient" from a PXE or proxyDHCP server). */
  vendor_class: z.string().nullable(),
  /** The option codes it sent, in order. */
  options: z.array(z.number().int())
})
export type DhcpServerSeen = z.infer<typeof DhcpServerSeenSchema>

export const Ipv6RouterSeenSchema = z.object({
  /** Its link-local source address. */
  address: z.string(),
  /** Seconds it offers itself as a default router; 0: prefixes only. */
  router_lifetime: z.number().int(),
  managed: z.boolean(),
  other: z.boolean(),
  prefixes: z.array(z.string())
})
export type Ipv6RouterSeen = z.infer<typeof Ipv6RouterSeenSchema>

export const LldpNeighbourSchema = z.object({
  chassis: z.string(),
  port: z.string(),
  port_description: z.string().nullable(),
  system_name: z.string().nullable(),
  /** The port's VLAN (IEEE 802.1 Port VLAN ID TLV); null: not sent. */
  vlan: z.number().int().nullable()
})
export type LldpNeighbour = z.infer<typeof LldpNeighbourSchema>

export const PreflightReportSchema = z.object({
  interface: z.string(),
  link: z.object({
    exists: z.boolean(),
    up: z.boolean(),
    carrier: z.boolean(),
    mtu: z.number().int().nullable(),
    mac: z.string().nullable()
  }),
  addresses: z.array(z.object({ family: z.union([z.literal(4), z.literal(6)]), address: z.string(), prefix_length: z.number().int() })),
  /** It holds this machine's default route: it faces the office network, not (only) the rack. */
  default_route: z.boolean(),
  dhcp_servers: z.array(DhcpServerSeenSchema),
  ipv6_routers: z.array(Ipv6RouterSeenSchema),
  /** The switch port, when the switch sent LLDP within the window; null: none heard. */
  lldp: LldpNeighbourSchema.nullable(),
  /** How long it listened for answers. */
  listened_ms: z.number().int(),
  /** What it could not check, and why (e.g. tcpdump missing: no LLDP or router advertisements). */
  unchecked: z.array(z.string()),
  recommendation: z.object({ dhcp: z.enum(['full', 'proxy']), reason: z.string() })
})
export type PreflightReport = z.infer<typeof PreflightReportSchema>
