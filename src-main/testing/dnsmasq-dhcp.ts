// Test-only: dnsmasq as another DHCP server on a link the test made (the far end of a veth pair,
// or a bridge member), with the flags every such test needs; the caller's spawn keeps its PID.
import type { ChildProcess } from 'node:child_process'
import { join } from 'node:path'

export interface DnsmasqDhcpOptions {
  /** The interface it serves, in the namespace the spawn runs in. */
  readonly ifname: string
  /** Where its lease and PID files go. */
  readonly dir: string
  readonly first: string
  readonly last: string
  /** A lease time suffix for the range, e.g. '1h'. */
  readonly lease?: string
  readonly router?: string
  /** A PXE boot file it hands out (--dhcp-boot). */
  readonly bootFile?: string
}

export function dnsmasqDhcpArgs(o: DnsmasqDhcpOptions): string[] {
  return [
    '--no-daemon',
    '--conf-file=/dev/null',
    '--port=0',
    `--interface=${o.ifname}`,
    '--bind-interfaces',
    `--dhcp-range=${o.first},${o.last},255.255.255.0${o.lease ? `,${o.lease}` : ''}`,
    ...(o.router ? [`--dhcp-option=3,${o.router}`] : []),
    ...(o.bootFile ? [`--dhcp-boot=${o.bootFile}`] : []),
    `--dhcp-leasefile=${join(o.dir, 'dnsmasq.leases')}`,
    `--pid-file=${join(o.dir, 'dnsmasq.pid')}`,
    '--no-ping'
  ]
}

/** Starts it with `spawn` (a TestLink's or a bridge member's) and waits half a second for its socket. */
export async function startDnsmasqDhcp(spawn: (file: string, args: readonly string[]) => ChildProcess, o: DnsmasqDhcpOptions): Promise<ChildProcess> {
  const child = spawn('dnsmasq', dnsmasqDhcpArgs(o))
  await new Promise((r) => setTimeout(r, 500))
  return child
}
