// The install wizard's choices, plan and state (DESIGN.md §8).
import { z } from 'zod'

/** The install wizard's choices (DESIGN.md §8); the main side checks them as a whole and names each bad field. */
export const SetupInputSchema = z
  .object({
    /** The interface that faces the rack, or 'none' (the API only: no boot services). */
    interface: z.string().min(1).max(15),
    v4_subnet: z.string().max(64),
    dhcp_first: z.string().max(64),
    dhcp_last: z.string().max(64),
    /** 'auto' (an RFC 4193 /64), an IPv6 /64, or null for no IPv6. */
    v6prefix: z.string().max(64).nullable(),
    domain: z.string().max(253),
    /** The admin node's FQDN in or under the domain, or a bare host name (the domain is appended). */
    admin_name: z.string().max(253),
    /** "This interface faces your office network": serve one that holds this machine's default route. */
    confirm_default_route: z.boolean().optional(),
    /** Full DHCP (addresses and boot files; the default) or proxyDHCP beside another DHCP server (boot files only). */
    dhcp_mode: z.enum(['full', 'proxy']).optional()
  })
  .strict()
export type SetupInput = z.infer<typeof SetupInputSchema>

/** What a setup creates, normalised: the admin network's layout and the admin node's name. */
export const SetupPlanSchema = z.object({
  interface: z.string(),
  v4_subnet: z.string(),
  /** The chosen interface's address, which the admin node holds; null: the first of the admin range. */
  admin_address: z.string().nullable(),
  router: z.string(),
  ranges: z.array(z.object({ name: z.string(), first: z.string(), last: z.string() })),
  v6prefix: z.string().nullable(),
  domain: z.string(),
  admin_name: z.string()
})
export type SetupPlan = z.infer<typeof SetupPlanSchema>

export const SetupInterfaceSchema = z.object({
  name: z.string(),
  loopback: z.boolean(),
  addresses: z.array(z.object({ address: z.string(), prefix_length: z.number().int(), subnet: z.string() })),
  /** Why it cannot face the rack (loopback, no IPv4 address, too small a subnet); null if it can. */
  unusable: z.string().nullable(),
  /** The choices proposed with this interface (its subnet, its address for the admin node). */
  proposal: SetupInputSchema.nullable()
})

export const BootStatusSchema = z.object({
  /** The interface the boot services were started on; null: none. */
  interface: z.string().nullable(),
  /** The HTTP boot URL while they run. */
  url: z.string().nullable(),
  /** Why they did not start, if they did not. */
  error: z.string().nullable()
})

export const SetupStateSchema = z.object({
  /** pending: nothing created yet, the wizard waits; done: the admin network, node and system deployment exist. */
  state: z.enum(['pending', 'done']),
  interfaces: z.array(SetupInterfaceSchema),
  /** The choices proposed without an interface. */
  proposal: SetupInputSchema,
  boot: BootStatusSchema
})
export type SetupState = z.infer<typeof SetupStateSchema>

export const SetupResultSchema = z.object({ plan: SetupPlanSchema, boot: BootStatusSchema })
