// A node's BMC on its page: what is known of it, its power buttons, and the form that enrolls or
// changes it; a node without one says so and offers the form. The password is never shown.
import { useState } from 'react'
import type { NodePower } from '../../../src-main/model'
import { ErrorAlert } from '../errors/ErrorAlert'
import { errorText } from '../errors/error-text'
import { useClient } from '../live/LiveContext'
import { BmcEnrollForm } from './BmcEnrollForm'
import { BmcFacts } from './BmcFacts'
import { PowerActions } from './PowerActions'
import { useNodeBmc } from './use-node-bmc'
import './power.css'

interface Props {
  readonly nodeId: number
  readonly nodeName: string
  /** The poller's reading for this node, newer than the one the BMC was loaded with. */
  readonly power: NodePower | undefined
  /** Something changed the node's power or BMC: the power states are read again. */
  readonly onPowerChanged: () => void
}

export function BmcPanel({ nodeId, nodeName, power, onPowerChanged }: Props) {
  const client = useClient()
  const { bmc, error, replace, reload } = useNodeBmc(nodeId)
  const [busy, setBusy] = useState<'forget-certificate' | 'delete' | null>(null)
  const [confirmDelete, setConfirmDelete] = useState(false)
  const [changeError, setChangeError] = useState<string | null>(null)

  const change = (what: 'forget-certificate' | 'delete', work: () => Promise<unknown>, failure: string): void => {
    setBusy(what)
    setChangeError(null)
    setConfirmDelete(false)
    work()
      .catch((err: unknown) => setChangeError(`${failure}: ${errorText(err)}`))
      .finally(() => {
        setBusy(null)
        onPowerChanged()
      })
  }
  const forgetCertificate = (): void =>
    change('forget-certificate', () => client.api.forgetBmcCertificate({ id: nodeId }).then(reload), `Cannot forget the certificate of ${nodeName}'s BMC`)
  const remove = (): void => change('delete', () => client.api.deleteNodeBmc({ id: nodeId }).then(() => replace(null)), `Cannot forget the BMC of ${nodeName}`)

  return (
    <section className="bmc-panel" aria-labelledby="bmc-panel-title" data-testid="bmc-panel">
      <div className="bmc-head">
        <h3 id="bmc-panel-title">BMC of {nodeName}</h3>
        {bmc &&
          (confirmDelete ? (
            <span className="inline bmc-remove">
              <button type="button" className="danger" onClick={remove} disabled={busy !== null}>
                Forget the BMC of {nodeName}
              </button>
              <button type="button" onClick={() => setConfirmDelete(false)}>
                Keep
              </button>
            </span>
          ) : (
            <button type="button" className="bmc-remove" onClick={() => setConfirmDelete(true)}>
              Forget BMC…
            </button>
          ))}
      </div>
      <ErrorAlert messages={[error, changeError].filter((m): m is string => m !== null)} onDismiss={changeError ? () => setChangeError(null) : undefined} testId="bmc-error" />
      {bmc === undefined && !error && <p className="loading">Loading the BMC…</p>}
      {bmc === null && (
        <p className="empty" data-testid="bmc-none">
          No BMC enrolled: Crowbar cannot power this node. Enter its BMC below (discovery fills it in for machines it has booted).
        </p>
      )}
      {bmc && (
        <>
          <BmcFacts bmc={bmc} power={power} forgetting={busy === 'forget-certificate'} onForgetCertificate={forgetCertificate} />
          <PowerActions nodeId={nodeId} nodeName={nodeName} onDone={onPowerChanged} />
        </>
      )}
      {bmc !== undefined && (
        <BmcEnrollForm
          key={bmc ? 'enrolled' : 'none'}
          nodeId={nodeId}
          nodeName={nodeName}
          bmc={bmc}
          onSaved={(saved) => {
            replace(saved)
            onPowerChanged()
          }}
        />
      )}
    </section>
  )
}
