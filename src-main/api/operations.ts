// Runs one contract operation: validates the input against its schema, calls the handler, and turns
// every failure into the contract's error shape. Both transports go through here.
import { CrowbarError, describeIssues, ERROR_STATUS, type ApiError } from '../model/errors'
import {
  contract,
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

export function isOperationName(name: unknown): name is OperationName {
  return typeof name === 'string' && Object.hasOwn(contract, name)
}

export function failure(kind: ApiError['error']['kind'], message: string): OperationResult {
  return { ok: false, status: ERROR_STATUS[kind], body: { error: { kind, message } } }
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
