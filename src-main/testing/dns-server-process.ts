// For tests: a DnsServer in a process of its own, so a test can run it inside a network namespace
// (`ip netns exec NS node --import tsx ...`) and see whether one query can make the process exit.
// Argument: the DnsServerOptions as JSON (without zone or logger); prints `listening PORT`.
import { DnsServer, type DnsServerOptions } from '../services/dns/dns-server'
import type { DnsZone } from '../services/dns/dns-zone'

const ZONE: DnsZone = {
  domain: 'cluster.test',
  ttl: 300,
  nameserver: { fqdn: 'admin.cluster.test', addresses: ['192.168.124.10'] },
  hosts: [{ fqdn: 'node1.cluster.test', addresses: ['192.168.124.81'] }]
}

const options = JSON.parse(process.argv[2] ?? '{}') as Omit<DnsServerOptions, 'zone' | 'logger'>
const server = new DnsServer({ ...options, zone: () => ZONE })
await server.start()
process.stdout.write(`listening ${server.port}\n`)
const stop = (): void => void server.stop().then(() => process.exit(0))
process.on('SIGTERM', stop)
process.on('SIGINT', stop)
