// What the laptop knows of a node's BMC: protocol, where it listens, the user, where the settings
// came from, whether a password is stored (never the password), its MAC, the pinned Redfish
// certificate (forgettable after a reflash) and the power state last read.
import type { NodeBmc, NodePower } from '../../../src-main/model'
import { BMC_SOURCE_TEXT, bmcEndpointText, fingerprintText, powerCellText } from './power-text'

interface Props {
  readonly bmc: NodeBmc
  /** The poller's newer reading, when there is one. */
  readonly power: NodePower | undefined
  readonly forgetting: boolean
  readonly onForgetCertificate: () => void
}

export function BmcFacts({ bmc, power, forgetting, onForgetCertificate }: Props) {
  const state = powerCellText(power ?? bmc.power)
  return (
    <dl className="bmc-facts" data-testid="bmc-facts">
      <dt>Power</dt>
      <dd data-testid="bmc-power-state" title={state.title}>
        <span className={`power-state power-${(power ?? bmc.power).state}`}>{state.label}</span>
        {state.failure && <span className="power-failure">{state.failure}</span>}
      </dd>
      <dt>Protocol</dt>
      <dd>{bmc.protocol === 'ipmi' ? 'IPMI 2.0 (lanplus)' : 'Redfish'}</dd>
      <dt>Address</dt>
      <dd className="mono">{bmcEndpointText(bmc)}</dd>
      <dt>User</dt>
      <dd className="mono">{bmc.username}</dd>
      <dt>Password</dt>
      <dd>{bmc.has_password ? 'stored' : 'none stored'}</dd>
      <dt>Source</dt>
      <dd>{BMC_SOURCE_TEXT[bmc.source]}</dd>
      {bmc.mac && (
        <>
          <dt>MAC</dt>
          <dd className="mono">{bmc.mac}</dd>
        </>
      )}
      {bmc.protocol === 'redfish' && (
        <>
          <dt>Certificate</dt>
          <dd>
            {bmc.certificate_sha256 ? (
              <span className="inline">
                <code className="bmc-fingerprint" title="SHA-256 of the certificate pinned on first contact">
                  {fingerprintText(bmc.certificate_sha256)}
                </code>
                <button type="button" onClick={onForgetCertificate} disabled={forgetting} title="After a BMC reflash: the next contact pins its new certificate">
                  {forgetting ? 'Forgetting…' : 'Forget certificate'}
                </button>
              </span>
            ) : (
              <span className="muted">none pinned yet (pinned on first contact)</span>
            )}
          </dd>
        </>
      )}
    </dl>
  )
}
