// The state of one JSON-object data editor (noderole user data, deployment-role data): the text,
// saving it through `write` once it parses as an object, and the outcome to show.
import { useState } from 'react'
import { errorText } from '../errors/error-text'
import { parseJsonObjectText, type JsonObjectValue } from './json-object-text'

export interface JsonDataEditor {
  readonly text: string
  readonly setText: (text: string) => void
  readonly error: string | null
  readonly saved: boolean
  readonly busy: boolean
  readonly save: () => Promise<void>
}

/** `what` names the data in parse errors ("the user data is not valid JSON ..."). */
export function useJsonDataEditor(initial: JsonObjectValue, what: string, write: (data: JsonObjectValue) => Promise<unknown>, onSaved: () => void): JsonDataEditor {
  const [text, setText] = useState(() => JSON.stringify(initial, null, 2))
  const [error, setError] = useState<string | null>(null)
  const [saved, setSaved] = useState(false)
  const [busy, setBusy] = useState(false)
  const save = async (): Promise<void> => {
    setError(null)
    setSaved(false)
    setBusy(true)
    try {
      await write(parseJsonObjectText(text, what))
      setSaved(true)
      onSaved()
    } catch (err) {
      setError(errorText(err))
    } finally {
      setBusy(false)
    }
  }
  return { text, setText, error, saved, busy, save }
}
