// The nodes: their flags, power, bootenv, addresses and inventory; switch availability, set the
// bootenv, add and delete nodes, power on a selection. Every refusal is shown in the API's words.
import { useState, type FormEvent } from 'react'
import { BootPanel } from '../boot/BootPanel'
import { useBootProgress } from '../boot/use-boot-progress'
import { ErrorAlert } from '../errors/ErrorAlert'
import { errorText } from '../errors/error-text'
import { useClient } from '../live/LiveContext'
import { BmcPanel } from '../power/BmcPanel'
import { BulkPower } from '../power/BulkPower'
import { usePowerStates } from '../power/use-power-states'
import { NodeRow, type NodeWithAddresses } from './NodeRow'
import './nodes.css'

interface Props {
  readonly nodes: readonly NodeWithAddresses[]
  readonly onChanged: () => void
}

export function NodesView({ nodes, onChanged }: Props) {
  const client = useClient()
  const [error, setError] = useState<string | null>(null)
  const [busyId, setBusyId] = useState<number | null>(null)
  const [name, setName] = useState('')
  const [alive, setAlive] = useState(true)
  const [openId, setOpenId] = useState<number | null>(null)
  const progress = useBootProgress()
  const power = usePowerStates()
  const [selectedIds, setSelectedIds] = useState<ReadonlySet<number>>(new Set())
  const selected = nodes.filter((n) => selectedIds.has(n.id))
  const allSelected = nodes.length > 0 && selected.length === nodes.length
  const select = (id: number, on: boolean): void =>
    setSelectedIds((ids) => {
      const next = new Set(ids)
      if (on) next.add(id)
      else next.delete(id)
      return next
    })
  const opened = nodes.find((n) => n.id === openId) ?? null

  const act = async (id: number | null, work: () => Promise<unknown>, what: string): Promise<void> => {
    setBusyId(id)
    setError(null)
    try {
      await work()
    } catch (err) {
      setError(`${what}: ${errorText(err)}`)
    } finally {
      setBusyId(null)
      onChanged()
    }
  }

  const add = (e: FormEvent): void => {
    e.preventDefault()
    void act(
      null,
      async () => {
        await client.api.createNode({ name: name.trim(), alive })
        setName('')
      },
      `Cannot add ${name.trim() || 'the node'}`
    )
  }

  return (
    <main className="nodes-view">
      <div className="view-head">
        <h2 id="nodes-title">Nodes</h2>
        <form className="inline add-node" onSubmit={add} aria-label="Add a node">
          <input aria-label="New node name" placeholder="node1.cluster.lab" value={name} onChange={(e) => setName(e.target.value)} required />
          <label>
            <input type="checkbox" checked={alive} onChange={(e) => setAlive(e.target.checked)} /> alive
          </label>
          <button type="submit">Add node</button>
        </form>
      </div>
      <ErrorAlert messages={error ? [error] : []} onDismiss={() => setError(null)} />
      <BulkPower selected={selected} onDone={power.refresh} />
      <datalist id="bootenvs">
        <option value="discovery" />
        <option value="local" />
        <option value="debian-install" />
      </datalist>
      <div className="table-frame">
        <table data-testid="nodes" aria-labelledby="nodes-title">
          <thead>
            <tr>
              <th className="select-cell">
                <input
                  type="checkbox"
                  aria-label="Select all nodes"
                  checked={allSelected}
                  ref={(box) => {
                    if (box) box.indeterminate = selected.length > 0 && !allSelected
                  }}
                  disabled={nodes.length === 0}
                  onChange={(e) => setSelectedIds(e.target.checked ? new Set(nodes.map((n) => n.id)) : new Set())}
                />
              </th>
              <th>Name</th>
              <th>Alive</th>
              <th title="As the node's BMC last told">Power</th>
              <th>Available</th>
              <th>Bootenv</th>
              <th>Addresses</th>
              <th title="PXE → discovery → install → local disk → alive">Boot progress</th>
              <th>Inventory</th>
              <th>Last seen</th>
              <th>
                <span className="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {nodes.map((n) => (
              <NodeRow
                key={`${n.id}:${n.bootenv}`}
                node={n}
                busy={busyId === n.id}
                onUpdate={(change) => void act(n.id, () => client.api.updateNode({ id: n.id, ...change }), `Cannot change ${n.name}`)}
                onDelete={() => void act(n.id, () => client.api.deleteNode({ id: n.id }), `Cannot delete ${n.name}`)}
                progress={progress.byNode.get(n.id)}
                opened={openId === n.id}
                onOpen={() => setOpenId((id) => (id === n.id ? null : n.id))}
                selected={selectedIds.has(n.id)}
                onSelect={(on) => select(n.id, on)}
                power={power.byNode ? (power.byNode.get(n.id) ?? null) : undefined}
              />
            ))}
          </tbody>
        </table>
        {nodes.length === 0 && <p className="empty">No nodes yet.</p>}
      </div>
      {progress.error && (
        <p className="hint boot-progress-error" data-testid="boot-progress-error">
          Boot progress is not shown: {progress.error}
        </p>
      )}
      {power.error && (
        <p className="hint power-error" data-testid="power-error-hint">
          Power states are not shown: {power.error}
        </p>
      )}
      {opened && <BmcPanel key={`bmc-${opened.id}`} nodeId={opened.id} nodeName={opened.name} power={power.byNode?.get(opened.id)} onPowerChanged={power.refresh} />}
      {opened && <BootPanel key={opened.id} nodeId={opened.id} nodeName={opened.name} progress={progress.byNode.get(opened.id)} onClose={() => setOpenId(null)} />}
    </main>
  )
}
