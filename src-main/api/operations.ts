// Runs one contract operation: validates the input against its schema, calls the handler, and turns
// every failure into the contract's error shape. Both transports go through here.
import type { z } from 'zod'
import { CrowbarError } from '../domain/errors'
import {
  contract,
  type ApiError,
  type OperationName,
  type OperationOutput,
  type OperationParsedInput
} from './contract'

export type Handlers = {
  [K in OperationName]: (input: OperationParsedInput<K>) => Promise<OperationOutput<K>>
}

export type OperationResult =
  | { readonly ok: true; readonly value: unknown }
  | { readonly ok: false; readonly status: number; readonly body: ApiError }

const STATUS = { invalid: 400, not_found: 404, conflict: 409, internal: 500 } as const

export function isOperationName(name: unknown): name is OperationName {
  return typeof name === 'string' && Object.hasOwn(contract, name)
}

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

export function failure(kind: ApiError['error']['kind'], message: string): OperationResult {
  return { ok: false, status: STATUS[kind], body: { error: { kind, message } } }
}

export async function invokeOperation(
  handlers: Handlers,
  name: unknown,
  input: unknown,
  onInternalError: (err: unknown, name: string) => void
): Promise<OperationResult> {
  if (!isOperationName(name)) return failure('not_found', `no operation named ${String(name)}`)
  const parsed = contract[name].input.safeParse(input ?? {})
  if (!parsed.success) return failure('invalid', `invalid input for ${name}: ${describeIssues(parsed.error)}`)
  try {
    const handler = handlers[name] as (input: unknown) => Promise<unknown>
    return { ok: true, value: await handler(parsed.data) }
  } catch (err) {
    if (err instanceof CrowbarError) return failure(err.kind, err.message)
    onInternalError(err, name)
    return failure('internal', `${name} failed unexpectedly; the server log has the details`)
  }
}
