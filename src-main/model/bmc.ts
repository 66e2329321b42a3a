// A node's BMC (DESIGN.md §9): how the laptop reaches it (IPMI 2.0 over LAN or Redfish), what
// discovery learnt of it in band, and the power state last read. Its password is never part of
// any of these shapes: it is written (setNodeBmc) and used, never read back.
import { z } from 'zod'
import { Id, Timestamp } from './primitives'

export const BMC_PROTOCOLS = ['ipmi', 'redfish'] as const
export const BmcProtocolSchema = z.enum(BMC_PROTOCOLS)
export type BmcProtocol = z.infer<typeof BmcProtocolSchema>

export const POWER_ACTIONS = ['status', 'on', 'off', 'cycle', 'reset', 'pxe_once'] as const
export const PowerActionSchema = z.enum(POWER_ACTIONS)
export type PowerAction = z.infer<typeof PowerActionSchema>

export const POWER_STATES = ['on', 'off', 'unknown'] as const
export const PowerStateSchema = z.enum(POWER_STATES)

/** Why a power operation failed, in the kinds an engineer acts on (services/bmc/bmc-power.ts). */
export const BmcErrorKindSchema = z.enum(['auth', 'unreachable', 'timeout', 'refused', 'protocol', 'busy', 'unconfigured'])
export const BmcFailureSchema = z.object({ kind: BmcErrorKindSchema, message: z.string() })
export type BmcFailure = z.infer<typeof BmcFailureSchema>

/** Where a BMC's settings came from: the operator, discovery (in band), or the bmc-configure role. */
export const BmcSourceSchema = z.enum(['operator', 'discovery', 'bmc-configure'])

/** A host name or an IPv4/IPv6 address, no scheme, no port. */
export const BmcHost = z
  .string()
  .min(1)
  .max(253)
  .regex(/^[A-Za-z0-9.:-]+$/, 'a BMC address such as 10.0.2.15 or bmc1.lab (no scheme, no port)')

export const NodePowerSchema = z.object({
  node_id: Id,
  state: PowerStateSchema,
  /** When the state was last read from the BMC; null if never. */
  checked_at: Timestamp.nullable(),
  /** The last operation's failure, if it failed. */
  error: BmcFailureSchema.nullable()
})
export type NodePower = z.infer<typeof NodePowerSchema>

export const NodeBmcSchema = z.object({
  node_id: Id,
  protocol: BmcProtocolSchema,
  address: BmcHost,
  port: z.number().int().min(1).max(65535),
  username: z.string(),
  /** Whether a password is stored (it is never returned). */
  has_password: z.boolean(),
  /** The BMC's own MAC, as discovery read it (ipmitool lan print); null if not known. */
  mac: z.string().nullable(),
  source: BmcSourceSchema,
  /** Redfish: the SHA-256 fingerprint of the certificate pinned on first contact; null before it. */
  certificate_sha256: z.string().nullable(),
  power: NodePowerSchema
})
export type NodeBmc = z.infer<typeof NodeBmcSchema>

export const SetNodeBmcSchema = z
  .object({
    id: Id,
    protocol: BmcProtocolSchema.default('ipmi'),
    address: BmcHost,
    /** Default 623 (IPMI) or 443 (Redfish). */
    port: z.number().int().min(1).max(65535).optional(),
    username: z.string().min(1).max(64),
    /** Absent: keep the stored one. */
    password: z.string().min(1).max(128).optional()
  })
  .strict()
export type SetNodeBmc = z.infer<typeof SetNodeBmcSchema>

export const PowerResultSchema = z.object({
  node_id: Id,
  action: PowerActionSchema,
  ok: z.boolean(),
  /** The power state read after the action (status, on, off), when it was read. */
  state: PowerStateSchema.optional(),
  error: BmcFailureSchema.optional(),
  /** How long the BMC took, ms. */
  ms: z.number().int().min(0)
})
export type PowerResult = z.infer<typeof PowerResultSchema>
