// Deployment-role data: what a deployment gives every noderole of one role in it (the
// deployment_role attribute layer). Editable while the deployment is proposed; commit makes it live
// and runs again the noderoles of that role that had run.
import { useEffect, useState } from 'react'
import type { ChangeEvent, Deployment, DeploymentRole } from '../../../src-main/model'
import { ErrorAlert } from '../errors/ErrorAlert'
import { useJsonDataEditor } from '../detail/use-json-data-editor'
import { useClient } from '../live/LiveContext'
import { useLiveResource } from '../live/use-live-resource'

const relevantTo = (deploymentId: number) => (e: ChangeEvent) =>
  (e.kind === 'deployment' && e.id === deploymentId) || (e.kind === 'noderole' && e.action !== 'updated')

export function DeploymentRoleData({ deployment }: { deployment: Deployment }) {
  const client = useClient()
  const roles = useLiveResource(`dr-${deployment.id}`, () => client.api.listDeploymentRoles({ id: deployment.id }), relevantTo(deployment.id))
  const [role, setRole] = useState<string>('')
  const list = roles.data ?? []
  const current = list.find((r) => r.role === role) ?? list[0]
  return (
    <details className="role-data" data-testid="deployment-role-data">
      <summary>Role data ({list.length} {list.length === 1 ? 'role' : 'roles'})</summary>
      {list.length === 0 && <p className="hint">Bind a role in this deployment to give it deployment-wide data.</p>}
      {current && (
        <>
          <label className="hint" htmlFor={`dr-role-${deployment.id}`}>
            Role
          </label>{' '}
          <select id={`dr-role-${deployment.id}`} value={current.role} onChange={(e) => setRole(e.target.value)}>
            {list.map((r) => (
              <option key={r.role_id} value={r.role}>
                {r.role}
              </option>
            ))}
          </select>
          <RoleDataEditor key={`${current.role}-${deployment.state}`} deployment={deployment} role={current} onSaved={roles.reload} />
        </>
      )}
      <ErrorAlert messages={roles.error ? [roles.error] : []} />
    </details>
  )
}

function RoleDataEditor({ deployment, role, onSaved }: { deployment: Deployment; role: DeploymentRole; onSaved: () => void }) {
  const client = useClient()
  const proposed = deployment.state === 'proposed'
  const { text, setText, error, saved, busy, save } = useJsonDataEditor(
    role.proposed_data,
    'role data',
    (data) => client.api.setDeploymentRoleData({ id: deployment.id, role: role.role, data }),
    onSaved
  )
  // A commit elsewhere (another window, a script) changes what is stored: show it unless editing.
  const stored = JSON.stringify(role.proposed_data, null, 2)
  useEffect(() => {
    if (!proposed) setText(stored)
  }, [stored, proposed, setText])

  const id = `dr-data-${deployment.id}-${role.role_id}`
  return (
    <div className="role-data-editor">
      <label htmlFor={id} className="hint">
        {proposed
          ? `Data every ${role.role} noderole in ${deployment.name} reads (above the role's defaults); it takes effect when the deployment is committed.`
          : `Data every ${role.role} noderole in ${deployment.name} reads. Propose the deployment to change it.`}
      </label>
      <textarea id={id} className="json-edit" rows={5} value={text} spellCheck={false} readOnly={!proposed} onChange={(e) => setText(e.target.value)} />
      {proposed && (
        <div className="actions">
          <button type="button" onClick={() => void save()} disabled={busy}>
            Save role data
          </button>
          {saved && <span role="status">Saved.</span>}
        </div>
      )}
      {Object.keys(role.role_defaults).length > 0 && (
        <p className="hint">
          Role defaults: <code>{JSON.stringify(role.role_defaults)}</code>
        </p>
      )}
      <ErrorAlert messages={error ? [error] : []} />
    </div>
  )
}
