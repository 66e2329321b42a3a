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
    /** Paging: events older than this one (ids grow with time). */
    before_id: Id.optional(),
    limit: z.number().int().min(1).max(1000).default(200)
  })
  .strict()
export type BootEventQuery = z.output<typeof BootEventQuerySchema>
