// Operator (user) data of a noderole: editable while its deployment is proposed; commit makes it
// the top layer of the run input.
import type { NodeRoleDetail } from '../../../src-main/model'
import { ErrorAlert } from '../errors/ErrorAlert'
import { useClient } from '../live/LiveContext'
import { useJsonDataEditor } from './use-json-data-editor'

export function UserDataEditor({ detail, onSaved }: { detail: NodeRoleDetail; onSaved: () => void }) {
  const client = useClient()
  const { text, setText, error, saved, busy, save } = useJsonDataEditor(
    detail.proposed_data,
    'user data',
    (data) => client.api.setNodeRoleData({ id: detail.id, data }),
    onSaved
  )

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
