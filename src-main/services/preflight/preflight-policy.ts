// What the preflight's findings call for: full DHCP on a quiet link, proxyDHCP where another server
// already hands out addresses, with the reason in the operator's words. Pure.
import type { PreflightReport } from '../../model/preflight'

export type PreflightFindings = Omit<PreflightReport, 'recommendation'>

const seconds = (ms: number): string => `${Math.round(ms / 100) / 10} s`

export function recommend(report: PreflightFindings): PreflightReport['recommendation'] {
  const addressing = report.dhcp_servers.filter((s) => s.offered !== null)
  const proxies = report.dhcp_servers.filter((s) => s.offered === null && s.boot_file !== null)
  const office = report.default_route
    ? ` ${report.interface} holds this machine's default route: it faces your office network; serve it only if that is meant.`
    : ''
  const first = addressing[0]
  if (first) {
    const where = first.subnet ?? first.offered ?? 'this link'
    const others = addressing.length > 1 ? ` (and ${addressing.length - 1} more: ${addressing.slice(1).map((s) => s.server).join(', ')})` : ''
    const pxe = addressing.filter((s) => s.boot_file !== null)
    const theirBoot =
      pxe.length > 0 ? ` It already hands out PXE boot file ${pxe.map((s) => `${s.boot_file ?? ''} (${s.server})`).join(', ')}: machines may boot that instead; turn its PXE answers off.` : ''
    return {
      dhcp: 'proxy',
      reason: `the DHCP server at ${first.server}${others} already hands out addresses on ${where}: use proxyDHCP so it keeps doing that and we only add the boot file.${theirBoot}${office}`
    }
  }
  if (proxies.length > 0) {
    return {
      dhcp: 'full',
      reason: `no DHCP server hands out addresses on ${report.interface}, but ${proxies.map((s) => s.server).join(', ')} answers PXE clients with boot file ${proxies.map((s) => s.boot_file ?? '').join(', ')} (proxyDHCP): serve full DHCP, and stop that one or machines may boot its file.${office}`
    }
  }
  return {
    dhcp: 'full',
    reason: `no other DHCP server answered a PXE DISCOVER on ${report.interface} within ${seconds(report.listened_ms)}: serve full DHCP (addresses and boot files).${office}`
  }
}

/** Why the wizard and the boot services refuse an interface holding the default route, and how to confirm. */
export function officeNetworkRefusal(iface: string, howToConfirm: string): string {
  return (
    `interface ${iface} holds this machine's default route: it faces your office network, and DHCP served there ` +
    `would answer the office's machines; choose the interface that faces the rack, or confirm "this interface faces your office network" (${howToConfirm})`
  )
}
