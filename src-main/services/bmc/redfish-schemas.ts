// The few DMTF Redfish resources power control reads (DSP0266, DSP8010 schemas: ComputerSystem
// v1, ResourceCollection, Session, the error envelope), as zod schemas: a BMC's answer is input
// we do not trust. Only the fields used are named; anything else in a resource is ignored.
import { z } from 'zod'

/** A link inside the service: the client never follows one off `/redfish/v1/`. */
const odataPath = z
  .string()
  .max(512)
  .regex(/^\/redfish\/v1\/[A-Za-z0-9._~!$&'()*+,;=:@%/-]*$/, 'not a path inside /redfish/v1/')

export const ResourceCollection = z.object({
  Members: z.array(z.object({ '@odata.id': odataPath })).max(10_000)
})

export const POWER_STATES = ['On', 'Off', 'PoweringOn', 'PoweringOff', 'Paused'] as const

export const ComputerSystem = z.object({
  '@odata.id': odataPath.optional(),
  PowerState: z.enum(POWER_STATES).nullable().optional(),
  Actions: z
    .object({
      '#ComputerSystem.Reset': z
        .object({
          target: odataPath,
          'ResetType@Redfish.AllowableValues': z.array(z.string().max(64)).max(64).optional()
        })
        .optional()
    })
    .optional()
})
export type ComputerSystem = z.infer<typeof ComputerSystem>

export const Session = z.object({
  '@odata.id': odataPath.optional()
})

/** The error envelope (DSP0266 §9.6): its messages go into ours. */
export const RedfishErrorBody = z.object({
  error: z.object({
    code: z.string().max(256).optional(),
    message: z.string().max(2048).optional(),
    '@Message.ExtendedInfo': z
      .array(z.object({ Message: z.string().max(2048).optional() }))
      .max(32)
      .optional()
  })
})

export type ResetType = 'On' | 'ForceOff' | 'PowerCycle' | 'ForceRestart'
