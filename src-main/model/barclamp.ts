// Barclamps and their roles: what an operator installs (definitions) and what the store holds.
import { z } from 'zod'
import { Description, Id, JsonObjectSchema, RoleName } from './primitives'

export const ROLE_FLAGS = ['library', 'implicit', 'bootstrap', 'discovery', 'cluster', 'destructive', 'milestone', 'abstract'] as const
export const RoleFlagsSchema = z.object(
  Object.fromEntries(ROLE_FLAGS.map((f) => [f, z.boolean()])) as Record<(typeof ROLE_FLAGS)[number], z.ZodBoolean>
)
export type RoleFlags = z.infer<typeof RoleFlagsSchema>

export const RoleSchema = z.object({
  id: Id,
  name: z.string(),
  barclamp: z.string(),
  description: z.string(),
  jig: z.string(),
  requires: z.array(z.string()),
  provides: z.array(z.string()),
  conflicts: z.array(z.string()),
  precedes: z.array(z.string()),
  flags: RoleFlagsSchema,
  attributes: JsonObjectSchema,
  scripts: z.array(z.string())
})
export type Role = z.infer<typeof RoleSchema>

export const RoleDefinitionSchema = z.object({
  name: RoleName,
  description: Description.default(''),
  jig: z.string().min(1),
  requires: z.array(RoleName).max(100).default([]),
  provides: z.array(RoleName).max(100).default([]),
  conflicts: z.array(RoleName).max(100).default([]),
  precedes: z.array(RoleName).max(100).default([]),
  flags: RoleFlagsSchema.partial().default({}),
  attributes: JsonObjectSchema.default({}),
  /** For the script jig: shell scripts run in order on the node (attributes JSON on stdin, wall JSON on stdout). */
  scripts: z.array(z.string().min(1).max(256 * 1024)).max(50).default([])
})
export type RoleDefinition = z.infer<typeof RoleDefinitionSchema>

export const BarclampDefinitionSchema = z.object({
  name: RoleName,
  description: Description.default(''),
  version: z.string().max(64).default('0'),
  roles: z.array(RoleDefinitionSchema).min(1).max(500)
})
export type BarclampDefinition = z.infer<typeof BarclampDefinitionSchema>

export const BarclampSchema = z.object({
  id: Id,
  name: z.string(),
  description: z.string(),
  version: z.string(),
  roles: z.array(z.string())
})
export type Barclamp = z.infer<typeof BarclampSchema>
