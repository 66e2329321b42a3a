// Where names outside the cluster domain go by default: the resolvers this machine itself uses
// (/etc/resolv.conf), so installers on the admin network can reach a mirror by name.
import { readFileSync } from 'node:fs'
import net from 'node:net'

/** The `nameserver` addresses of a resolv.conf text, in order, IPv6 zone indexes dropped. */
export function nameserversOf(text: string): string[] {
  const found: string[] = []
  for (const line of text.split('\n')) {
    const match = /^\s*nameserver\s+(\S+)/.exec(line)
    const address = match?.[1]?.replace(/%.*$/, '')
    if (address && net.isIP(address) !== 0 && !found.includes(address)) found.push(address)
  }
  return found
}

/** This machine's resolvers; none when the file is missing or unreadable (forwarding is then off). */
export function systemNameservers(path = '/etc/resolv.conf'): string[] {
  try {
    return nameserversOf(readFileSync(path, 'utf8'))
  } catch {
    return []
  }
}
