// Operator (user) data of a noderole: editable while its deployment is proposed; commit makes it
// the top layer of the run input.
import { useState } from 'react'
import type { NodeRoleDetail } from '../../../src-main/model'
import { ErrorAlert } from '../errors/ErrorAlert'
import { errorText } from '../errors/error-text'
import { useClient } from '../live/LiveContext'
import { parseJsonObjectText } from './json-object-text'

export function UserDataEditor({ detail, onSaved }: { detail: NodeRoleDetail; onSaved: () => void }) {
  const client = useClient()
  const [text, setText] = useState(() => JSON.stringify(detail.proposed_data, null, 2))
  const [error, setError] = useState<string | null>(null)
  const [saved, setSaved] = useState(false)
  const [busy, setBusy] = useState(false)

  const save = async (): Promise<void> => {
    setError(null)
    setSaved(false)
    setBusy(true)
    try {
      const data = parseJsonObjectText(text, 'user data')
      await client.api.setNodeRoleData({ id: detail.id, data })
      setSaved(true)
      onSaved()
    } catch (err) {
      setError(errorText(err))
    } finally {
      setBusy(false)
    }
  }

  const id = `user-data-${detail.id}`
  return (
    <section aria-labelledby={`${id}-title`}>
      <h4 id={`${id}-title`}>User data</h4>
      <label htmlFor={id} className="hint">
        JSON object set by the operator; it takes effect when the deployment is committed.
      </label>
      <textarea id={id} className="json-edit" rows={5} value={text} spellCheck={false} onChange={(e) => setText(e.target.value)} />
      <div className="actions">
        <button type="button" onClick={() => void save()} disabled={busy}>
          Save user data
        </button>
        {saved && <span role="status">Saved.</span>}
      </div>
      <ErrorAlert messages={error ? [error] : []} />
    </section>
  )
}
