// The JSON object an operator types into a data editor: parsed, or a sentence saying what is wrong.
import type { NodeRoleDetail } from '../../../src-main/model'
import { errorText } from '../errors/error-text'

export type JsonObjectValue = NodeRoleDetail['proposed_data']

export function parseJsonObjectText(text: string, what: string): JsonObjectValue {
  let value: unknown
  try {
    value = JSON.parse(text.trim() === '' ? '{}' : text)
  } catch (err) {
    throw new Error(`the ${what} is not valid JSON (${errorText(err)}): fix it and save again`, { cause: err })
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new Error(`the ${what} must be a JSON object, e.g. {"key": "value"}`)
  }
  return value as JsonObjectValue
}
