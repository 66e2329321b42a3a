// Enrolls a node's BMC or changes it: protocol, address, port, user and password. The password
// field never starts filled and is emptied after each save; left empty, the stored one is kept.
// The server's validation messages are shown as they come.
import { useState, type FormEvent } from 'react'
import { BMC_PROTOCOLS, type NodeBmc, type SetNodeBmc } from '../../../src-main/model'
import { ErrorAlert } from '../errors/ErrorAlert'
import { errorText } from '../errors/error-text'
import { useClient } from '../live/LiveContext'
import { bmcInputFromForm, formFromBmc, withProtocol, type BmcForm } from './bmc-form'
import { DEFAULT_BMC_PORTS } from './power-text'

interface Props {
  readonly nodeId: number
  readonly nodeName: string
  readonly bmc: NodeBmc | null
  readonly onSaved: (bmc: NodeBmc) => void
}

const PROTOCOL_LABELS = { ipmi: 'IPMI 2.0', redfish: 'Redfish' } as const

export function BmcEnrollForm({ nodeId, nodeName, bmc, onSaved }: Props) {
  const client = useClient()
  const [form, setForm] = useState<BmcForm>(() => formFromBmc(bmc))
  const [saving, setSaving] = useState(false)
  const [error, setError] = useState<string | null>(null)
  const [note, setNote] = useState<string | null>(null)
  const set = (change: Partial<BmcForm>): void => setForm((f) => ({ ...f, ...change }))

  const save = (e: FormEvent): void => {
    e.preventDefault()
    setError(null)
    setNote(null)
    let input: SetNodeBmc
    try {
      input = bmcInputFromForm(nodeId, form)
    } catch (err) {
      setError(errorText(err))
      return
    }
    setSaving(true)
    client.api
      .setNodeBmc(input)
      .then((saved) => {
        setForm(formFromBmc(saved))
        setNote(`Saved the BMC of ${nodeName}.`)
        onSaved(saved)
      })
      .catch((err: unknown) => setError(`Cannot save the BMC of ${nodeName}: ${errorText(err)}`))
      .finally(() => setSaving(false))
  }

  const stored = bmc?.has_password ?? false
  return (
    <form className="bmc-form" onSubmit={save} aria-label={`BMC settings of ${nodeName}`} data-testid="bmc-form">
      <label>
        Protocol
        <select value={form.protocol} onChange={(e) => setForm((f) => withProtocol(f, e.target.value as BmcForm['protocol']))}>
          {BMC_PROTOCOLS.map((p) => (
            <option key={p} value={p}>
              {PROTOCOL_LABELS[p]}
            </option>
          ))}
        </select>
      </label>
      <label>
        Address
        <input value={form.address} onChange={(e) => set({ address: e.target.value })} placeholder="10.0.2.15" required autoComplete="off" spellCheck={false} />
      </label>
      <label>
        Port
        <input value={form.port} onChange={(e) => set({ port: e.target.value })} placeholder={String(DEFAULT_BMC_PORTS[form.protocol])} inputMode="numeric" size={6} />
      </label>
      <label>
        User
        <input value={form.username} onChange={(e) => set({ username: e.target.value })} placeholder="admin" required autoComplete="off" spellCheck={false} />
      </label>
      <label>
        Password
        <input
          type="password"
          value={form.password}
          onChange={(e) => set({ password: e.target.value })}
          placeholder={stored ? 'leave empty to keep the stored one' : ''}
          autoComplete="new-password"
        />
      </label>
      <button type="submit" className="primary" disabled={saving}>
        {saving ? 'Saving…' : bmc ? 'Save BMC' : 'Enroll BMC'}
      </button>
      <div className="bmc-form-messages">
        <ErrorAlert messages={error ? [error] : []} onDismiss={() => setError(null)} testId="bmc-form-error" />
        {note && (
          <p className="status" role="status" data-testid="bmc-form-saved">
            {note}
          </p>
        )}
      </div>
    </form>
  )
}
