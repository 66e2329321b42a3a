// The value shapes every entity shares: ids, JSON objects, names, timestamps.
import { z } from 'zod'

export const Id = z.number().int().positive()

export const JsonObjectSchema = z.record(z.string(), z.json())

export const Name = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/, 'use 1-63 letters, digits, ".", "_" or "-", starting with a letter or digit')
export const RoleName = z
  .string()
  .regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'use 1-63 lower-case letters, digits, "_" or "-"')
/** A fully qualified domain name: dot-separated labels of letters, digits and inner hyphens. */
export const Fqdn = z
  .string()
  .max(253)
  .regex(
    /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)+$/,
    'must be a fully qualified domain name in lower case, e.g. node1.cluster.lab'
  )
export const Description = z.string().max(4000)
export const Timestamp = z.string()
