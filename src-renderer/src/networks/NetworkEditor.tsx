// Edits one network (or creates one): category, VLAN, IPv4 subnet, v6prefix (a /64, `auto`, or
// none), ranges and routers. The API's validation messages are shown as they come.
import { useState, type FormEvent } from 'react'
import { NETWORK_CATEGORIES, type Network } from '../../../src-main/model'
import { ErrorAlert } from '../errors/ErrorAlert'
import { errorText } from '../errors/error-text'
import { useClient } from '../live/LiveContext'
import { RangeRows, RouterRows } from './AddressRows'
import { emptyForm, formFromNetwork, settingsFromForm, type NetworkForm } from './network-form'

interface Props {
  /** null: a new network. */
  readonly network: Network | null
  readonly onSaved: (network: Network) => void
  readonly onDeleted: () => void
}

export function NetworkEditor({ network, onSaved, onDeleted }: Props) {
  const client = useClient()
  const [form, setForm] = useState<NetworkForm>(() => (network ? formFromNetwork(network) : emptyForm()))
  const [error, setError] = useState<string | null>(null)
  const [status, setStatus] = useState<string | null>(null)
  const [busy, setBusy] = useState(false)
  const set = (change: Partial<NetworkForm>): void => setForm((f) => ({ ...f, ...change }))

  const run = async (work: () => Promise<void>): Promise<void> => {
    setBusy(true)
    setError(null)
    setStatus(null)
    try {
      await work()
    } catch (err) {
      setError(errorText(err))
    } finally {
      setBusy(false)
    }
  }

  const save = (e: FormEvent): void => {
    e.preventDefault()
    void run(async () => {
      const settings = settingsFromForm(form)
      const saved = network
        ? await client.api.updateNetwork({ id: network.id, ...settings })
        : await client.api.createNetwork({ name: form.name.trim(), ...settings })
      setStatus(`Saved ${saved.name}.`)
      onSaved(saved)
    })
  }

  const remove = (): void => {
    if (!network) return
    void run(async () => {
      await client.api.deleteNetwork({ id: network.id })
      onDeleted()
    })
  }

  return (
    <form className="network-editor" onSubmit={save} aria-labelledby="network-editor-title" data-testid="network-editor">
      <h3 id="network-editor-title">{network ? `Network ${network.name}` : 'New network'}</h3>
      {network && (
        <p className="muted">
          Role {network.role}; {network.allocations.length} address{network.allocations.length === 1 ? '' : 'es'} allocated
          {network.v6prefix ? `; IPv6 prefix in use ${network.v6prefix}` : ''}.
        </p>
      )}
      <div className="fields">
        {!network && (
          <label>
            Name
            <input value={form.name} onChange={(e) => set({ name: e.target.value })} required placeholder="storage" />
          </label>
        )}
        <label>
          Category
          <select value={form.category} onChange={(e) => set({ category: e.target.value as NetworkForm['category'] })}>
            {NETWORK_CATEGORIES.map((c) => (
              <option key={c}>{c}</option>
            ))}
          </select>
        </label>
        <label>
          VLAN
          <input value={form.vlan} onChange={(e) => set({ vlan: e.target.value })} inputMode="numeric" size={6} />
        </label>
        <label>
          IPv4 subnet
          <input value={form.v4_subnet} onChange={(e) => set({ v4_subnet: e.target.value })} placeholder="192.168.124.0/24" />
        </label>
        <label>
          IPv6 prefix
          <input value={form.v6prefix} onChange={(e) => set({ v6prefix: e.target.value })} placeholder="auto, a /64, or empty" />
        </label>
      </div>
      <RangeRows rows={form.ranges} onChange={(ranges) => set({ ranges })} />
      <RouterRows rows={form.routers} onChange={(routers) => set({ routers })} />
      <ErrorAlert messages={error ? [error] : []} testId="network-error" />
      <div className="actions">
        <button type="submit" className="primary" disabled={busy}>
          {network ? 'Save network' : 'Create network'}
        </button>
        {network && (
          <button type="button" className="danger" disabled={busy} onClick={remove}>
            Delete network
          </button>
        )}
        {status && <span role="status">{status}</span>}
      </div>
    </form>
  )
}
