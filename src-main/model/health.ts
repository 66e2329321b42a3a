// What the app says of itself: its version and the store in use.
import { z } from 'zod'

export const HealthSchema = z.object({
  version: z.string(),
  store: z.enum(['sqlite', 'postgres']),
  location: z.string()
})
