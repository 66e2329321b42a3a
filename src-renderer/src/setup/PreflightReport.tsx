// What the preflight found on the chosen interface, before anything is created: the link, its
// addresses, other DHCP servers and IPv6 routers, the switch port, what it could not check; the
// DHCP mode with the recommendation preselected; and, for an interface that holds the default
// route, the warning and the confirmation the wizard needs before it serves there.
import type { ReactNode } from 'react'
import type { DhcpServerSeen, PreflightReport as Report } from '../../../src-main/model'
import { ErrorAlert } from '../errors/ErrorAlert'
import type { Preflight } from './use-preflight'
import './preflight.css'

export type DhcpMode = Report['recommendation']['dhcp']

const MODE_TEXT: Record<DhcpMode, string> = {
  full: 'Full DHCP: Crowbar hands out the addresses and the boot files',
  proxy: 'proxyDHCP: the other DHCP server keeps handing out addresses; Crowbar adds only the boot information'
}

function Fact({ term, testId, children }: { term: string; testId: string; children: ReactNode }) {
  return (
    <>
      <dt>{term}</dt>
      <dd data-testid={`preflight-${testId}`}>{children}</dd>
    </>
  )
}

function dhcpServerText(s: DhcpServerSeen): string {
  const offer = s.offered ? `offers ${s.offered}${s.subnet ? ` in ${s.subnet}` : ''}` : 'offers no address (proxyDHCP)'
  const boot = s.boot_file ? `hands PXE clients boot file ${s.boot_file}${s.next_server ? ` from ${s.next_server}` : ''}` : 'no PXE boot file'
  return `${s.server}: ${offer}; ${boot}`
}

function LinkText({ link }: { link: Report['link'] }) {
  if (!link.exists) return <span className="preflight-bad">no such interface</span>
  return (
    <>
      <span className={link.up ? undefined : 'preflight-bad'}>{link.up ? 'up' : 'down'}</span>,{' '}
      <span className={link.carrier ? undefined : 'preflight-bad'}>{link.carrier ? 'carrier' : 'no carrier (is the cable in?)'}</span>
      {link.mtu !== null && `, MTU ${link.mtu}`}
      {link.mac && `, ${link.mac}`}
    </>
  )
}

interface Props {
  readonly preflight: Preflight
  readonly mode: DhcpMode | null
  readonly onMode: (mode: DhcpMode) => void
  /** The interface holds the default route (by the report, or by the API's refusal). */
  readonly officeNetwork: boolean
  readonly confirmed: boolean
  readonly onConfirm: (confirmed: boolean) => void
}

export function PreflightReport({ preflight, mode, onMode, officeNetwork, confirmed, onConfirm }: Props) {
  const { iface, report } = preflight
  return (
    <section className="preflight" aria-labelledby="preflight-title" data-testid="preflight">
      <h3 id="preflight-title">Network check of {iface}</h3>
      {preflight.running && (
        <p role="status" className="hint" data-testid="preflight-running">
          Checking {iface}: listening about 2 s for DHCP servers, IPv6 routers and the switch (LLDP)…
        </p>
      )}
      <ErrorAlert messages={preflight.error ? [`Cannot check ${iface}: ${preflight.error}`] : []} testId="preflight-error" />
      {report && (
        <dl className="setup-review preflight-report" data-testid="preflight-report">
          <Fact term="Link" testId="link">
            <LinkText link={report.link} />
          </Fact>
          <Fact term="Addresses" testId="addresses">
            {report.addresses.length === 0 ? 'none' : report.addresses.map((a) => `${a.address}/${a.prefix_length}`).join(', ')}
          </Fact>
          <Fact term="Default route" testId="default-route">
            {report.default_route ? <span className="preflight-bad">yes: this interface faces your office network</span> : 'no'}
          </Fact>
          <Fact term="Other DHCP servers" testId="dhcp-servers">
            {report.dhcp_servers.length === 0 ? (
              `none answered in ${(report.listened_ms / 1000).toFixed(1)} s`
            ) : (
              <ul>
                {report.dhcp_servers.map((s) => (
                  <li key={`${s.server}-${s.offered ?? ''}`}>{dhcpServerText(s)}</li>
                ))}
              </ul>
            )}
          </Fact>
          <Fact term="IPv6 routers" testId="ipv6-routers">
            {report.ipv6_routers.length === 0 ? (
              'none heard'
            ) : (
              <ul>
                {report.ipv6_routers.map((r) => (
                  <li key={r.address}>
                    {r.address}
                    {r.router_lifetime > 0 ? `, default router for ${r.router_lifetime} s` : ', prefixes only'}
                    {r.prefixes.length > 0 && `, ${r.prefixes.join(', ')}`}
                    {r.managed && ', addresses by DHCPv6'}
                  </li>
                ))}
              </ul>
            )}
          </Fact>
          <Fact term="Switch port (LLDP)" testId="lldp">
            {report.lldp
              ? `${report.lldp.system_name ?? report.lldp.chassis} port ${report.lldp.port}${report.lldp.port_description ? ` (${report.lldp.port_description})` : ''}${report.lldp.vlan !== null ? `, VLAN ${report.lldp.vlan}` : ''}`
              : 'none heard'}
          </Fact>
          {report.unchecked.length > 0 && (
            <Fact term="Not checked" testId="unchecked">
              <ul>
                {report.unchecked.map((u) => (
                  <li key={u}>{u}</li>
                ))}
              </ul>
            </Fact>
          )}
        </dl>
      )}
      {report && (
        <fieldset className="setup-choices" aria-describedby="preflight-reason">
          <legend>DHCP mode</legend>
          {(['full', 'proxy'] as const).map((m) => (
            <label key={m} className="setup-choice">
              <input type="radio" name="setup-dhcp-mode" value={m} checked={mode === m} onChange={() => onMode(m)} />
              <span>
                {MODE_TEXT[m]}
                {report.recommendation.dhcp === m && <strong className="preflight-recommended"> (recommended)</strong>}
              </span>
            </label>
          ))}
          <p id="preflight-reason" className="hint" data-testid="preflight-reason">
            {report.recommendation.reason}
          </p>
        </fieldset>
      )}
      {officeNetwork && (
        <div className="preflight-warning" data-testid="preflight-office-warning">
          <p>
            <strong>This interface faces your office network.</strong> {iface} holds this machine’s default route: DHCP and PXE answers sent there can
            reach office machines, which may then boot or take addresses from Crowbar. Choose the interface cabled to the rack, or confirm.
          </p>
          <label className="setup-choice">
            <input type="checkbox" checked={confirmed} onChange={(e) => onConfirm(e.target.checked)} />
            <span>Serve the boot services on {iface} anyway: I know it faces the office network</span>
          </label>
        </div>
      )}
    </section>
  )
}
