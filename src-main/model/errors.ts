// Errors a user can meet. Each says what happened and what to do; every HTTP face (the operator API,
// the node-facing API) answers with the same body and maps the kind to the same status.
import { z } from 'zod'

export const ERROR_KINDS = ['invalid', 'unauthorized', 'forbidden', 'not_found', 'conflict', 'rate_limited', 'internal'] as const
export type ErrorKind = (typeof ERROR_KINDS)[number]
/** What a domain rule may refuse with; `internal` is only ever the transport's. */
export type CrowbarErrorKind = Exclude<ErrorKind, 'internal'>

export const ERROR_STATUS: Readonly<Record<ErrorKind, number>> = {
  invalid: 400,
  /** No credential, or a wrong one: the operator API's token, a node's secret. */
  unauthorized: 401,
  /** A valid credential that does not reach this record (one node touching another). */
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  /** Too many requests from one source, or too many unapproved registrations: wait, or act first. */
  rate_limited: 429,
  internal: 500
}

/** The error body every transport returns. */
export const ApiErrorSchema = z.object({ error: z.object({ kind: z.enum(ERROR_KINDS), message: z.string() }) })
export type ApiError = z.infer<typeof ApiErrorSchema>

export class CrowbarError extends Error {
  override readonly name = 'CrowbarError'
  constructor(
    readonly kind: CrowbarErrorKind,
    message: string
  ) {
    super(message)
  }
}

export const invalid = (message: string): CrowbarError => new CrowbarError('invalid', message)
export const notFound = (message: string): CrowbarError => new CrowbarError('not_found', message)
export const conflict = (message: string): CrowbarError => new CrowbarError('conflict', message)
export const unauthorized = (message: string): CrowbarError => new CrowbarError('unauthorized', message)
export const forbidden = (message: string): CrowbarError => new CrowbarError('forbidden', message)
export const rateLimited = (message: string): CrowbarError => new CrowbarError('rate_limited', message)

/** "name: expected string, received number; parent_id: ..." — names every bad field. */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 10)
    .map((issue) => {
      const where = issue.path.length > 0 ? issue.path.map(String).join('.') : 'body'
      if (issue.code === 'unrecognized_keys') return `${where}: unknown field(s) ${issue.keys.join(', ')}`
      return `${where}: ${issue.message}`
    })
    .join('; ')
}
