// Creates a deployment under a parent (the selected one by default); it starts with its proposal open.
import { useState, type FormEvent } from 'react'
import type { Deployment } from '../../../src-main/model'
import { ErrorAlert } from '../errors/ErrorAlert'
import { errorText } from '../errors/error-text'
import { useClient } from '../live/LiveContext'

interface Props {
  readonly deployments: readonly Deployment[]
  readonly defaultParentId: number | null
  readonly onCreated: (deployment: Deployment) => void
}

export function NewDeploymentForm({ deployments, defaultParentId, onCreated }: Props) {
  const client = useClient()
  const [name, setName] = useState('')
  const [parentId, setParentId] = useState<number | null>(null)
  const [error, setError] = useState<string | null>(null)
  const parent = parentId ?? defaultParentId ?? deployments[0]?.id ?? null

  const submit = async (e: FormEvent): Promise<void> => {
    e.preventDefault()
    setError(null)
    try {
      const created = await client.api.createDeployment({ name: name.trim(), ...(parent !== null ? { parent_id: parent } : {}) })
      setName('')
      // The next one goes under whatever is selected then (the new deployment, by default).
      setParentId(null)
      onCreated(created)
    } catch (err) {
      setError(errorText(err))
    }
  }

  return (
    <form className="new-deployment" onSubmit={(e) => void submit(e)} aria-labelledby="new-deployment-title">
      <h3 id="new-deployment-title">New deployment</h3>
      <label>
        Name
        <input value={name} onChange={(e) => setName(e.target.value)} required placeholder="e.g. storage" />
      </label>
      <label>
        Parent
        <select value={parent ?? ''} onChange={(e) => setParentId(Number(e.target.value))}>
          {deployments.map((d) => (
            <option key={d.id} value={d.id}>
              {d.name}
            </option>
          ))}
        </select>
      </label>
      <button type="submit">Create</button>
      <ErrorAlert messages={error ? [error] : []} />
    </form>
  )
}
