// The boot flight recorder's words (DESIGN.md §6.2): one event a boot service saw for a machine,
// keyed by its MAC and linked to its node once it registers.
import { z } from 'zod'
import { Id, JsonObjectSchema, Timestamp } from './primitives'

export const BOOT_EVENT_SOURCES = ['dhcp', 'tftp', 'http', 'api', 'install'] as const
export const BootEventSourceSchema = z.enum(BOOT_EVENT_SOURCES)
export type BootEventSource = z.infer<typeof BootEventSourceSchema>

/** Lower-case, colon-separated: aa:bb:cc:dd:ee:ff. */
export const MacAddress = z
  .string()
  .transform((s) => s.toLowerCase().replaceAll('-', ':'))
  .pipe(z.string().regex(/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/, 'a MAC address such as 52:54:00:12:34:56'))

export const BootEventSchema = z.object({
  id: Id,
  mac: z.string(),
  node_id: Id.nullable(),
  t: Timestamp,
  source: BootEventSourceSchema,
  /** A short name: discover, offer, request, ack, nak, rrq, transfer_complete, transfer_error, http_get, register, ... */
  event: z.string(),
  detail: JsonObjectSchema
})
export type BootEvent = z.infer<typeof BootEventSchema>

export const BootEventQuerySchema = z
  .object({
    node_id: Id.optional(),
    mac: MacAddress.optional(),
    /** A client seen by its address alone (TFTP or HTTP with no DHCP reply of ours naming its MAC). */
    address: z.union([z.ipv4(), z.ipv6()]).optional(),
    /** Paging: events older than this one (ids grow with time). */
    before_id: Id.optional(),
    limit: z.number().int().min(1).max(1000).default(200)
  })
  .strict()
export type BootEventQuery = z.output<typeof BootEventQuerySchema>

/** One machine, by node or by MAC (one is required; both must agree when both are given), or by address alone. */
export const BootMachineQuerySchema = z
  .object({
    node_id: Id.optional(),
    mac: MacAddress.optional(),
    /** A client known only by its address (no DHCP reply of ours named its MAC): its own timeline. */
    address: z.union([z.ipv4(), z.ipv6()]).optional()
  })
  .strict()
export type BootMachineQuery = z.output<typeof BootMachineQuerySchema>

/** The boot progress a node view shows: PXE → discovery → install → local disk → alive. */
export const BOOT_PHASES = ['pxe', 'discovery', 'install', 'local_disk', 'alive'] as const
export const BootPhaseSchema = z.enum(BOOT_PHASES)
export type BootPhase = z.infer<typeof BootPhaseSchema>

export const BootProgressSchema = z.object({
  node_id: Id.nullable(),
  /** The MAC the timeline is keyed by (the node's first one with events); null: no event yet. */
  mac: z.string().nullable(),
  /** The furthest phase reached; null: nothing seen yet. */
  phase: BootPhaseSchema.nullable(),
  /** When each phase reached began (the timeline's event time, ISO). */
  phases: z.object({
    pxe: Timestamp.optional(),
    discovery: Timestamp.optional(),
    install: Timestamp.optional(),
    local_disk: Timestamp.optional(),
    alive: Timestamp.optional()
  }),
  /** The install's last reported step (source install), e.g. "image 40%". */
  install_step: z.string().nullable(),
  last_event_at: Timestamp.nullable()
})
export type BootProgress = z.infer<typeof BootProgressSchema>

export const BOOT_FINDING_RULES = [
  'offer_not_taken',
  'request_for_other_server',
  'boot_file_not_fetched',
  'tftp_stalled',
  'asset_not_found',
  'no_registration',
  'ssh_unreachable'
] as const
export const BootFindingRuleSchema = z.enum(BOOT_FINDING_RULES)
export type BootFindingRule = z.infer<typeof BootFindingRuleSchema>

/** A likely cause of a machine that stopped, in words an engineer acts on, with its evidence. */
export const BootFindingSchema = z.object({
  rule: BootFindingRuleSchema,
  severity: z.enum(['error', 'warning']),
  /** One line: "Took another DHCP server's offer". */
  title: z.string(),
  /** What happened and what to do, naming the files, servers, blocks and addresses involved. */
  text: z.string(),
  /** The timeline events that support it (ids from listBootEvents). */
  event_ids: z.array(Id),
  at: Timestamp
})
export type BootFinding = z.infer<typeof BootFindingSchema>

export const BootDiagnosisSchema = z.object({
  mac: z.string().nullable(),
  node_id: Id.nullable(),
  progress: BootProgressSchema,
  /** Most recent first; empty: nothing wrong seen. */
  findings: z.array(BootFindingSchema)
})
export type BootDiagnosis = z.infer<typeof BootDiagnosisSchema>

/** One machine's DHCP, TFTP and HTTP-boot packets as a pcap file (what our servers received and sent). */
export const BootPcapSchema = z.object({
  filename: z.string(),
  packets: z.number().int().nonnegative(),
  /** The pcap file (LINKTYPE_ETHERNET), base64. */
  pcap_base64: z.string()
})
export type BootPcap = z.infer<typeof BootPcapSchema>
