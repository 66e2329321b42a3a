// The DNS server as the rack sees it, with dig running inside a network namespace: an unreachable
// forwarder (a laptop on the rack network only) must not stop it, and only the served networks
// may recurse through it. Needs root (namespaces).
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { afterEach, describe, expect, it } from 'vitest'
import { digAt } from '../../testing/dns-test-client'
import { createTestLink, type TestLink } from '../../testing/test-link'
import { DnsServer, type DnsServerOptions } from './dns-server'
import type { DnsZone } from './dns-zone'

const ZONE: DnsZone = {
  domain: 'cluster.test',
  ttl: 300,
  nameserver: { fqdn: 'admin.cluster.test', addresses: ['192.168.124.10'] },
  hosts: [{ fqdn: 'node1.cluster.test', addresses: ['192.168.124.81'] }]
}
const UPSTREAM_ZONE: DnsZone = {
  domain: 'upstream.test',
  ttl: 60,
  nameserver: { fqdn: 'ns.upstream.test', addresses: ['10.1.0.53'] },
  hosts: [{ fqdn: 'www.upstream.test', addresses: ['10.1.0.80'] }]
}

const links: TestLink[] = []
const servers: DnsServer[] = []
const children: ChildProcess[] = []

afterEach(async () => {
  for (const child of children.splice(0)) if (child.exitCode === null && child.pid) process.kill(child.pid, 'SIGKILL')
  await Promise.all(servers.splice(0).map((s) => s.stop()))
  await Promise.all(links.splice(0).map((l) => l.stop()))
})

async function link(): Promise<TestLink> {
  const l = await createTestLink()
  links.push(l)
  await l.exec('ip', ['addr', 'add', `${l.prefix}2/24`, 'dev', l.peerIf])
  return l
}

async function startServer(options: Omit<DnsServerOptions, 'zone'>, zone = ZONE): Promise<DnsServer> {
  const server = new DnsServer({ ...options, zone: () => zone })
  servers.push(server)
  await server.start()
  return server
}

/** dig from the host's namespace, or from inside the rack namespace. */
const fromHost = async (file: string, args: readonly string[]): Promise<string> => {
  const { execFile } = await import('node:child_process')
  return new Promise((resolve) => execFile(file, [...args], { timeout: 10_000 }, (_err, stdout) => resolve(String(stdout))))
}
const fromRack = (l: TestLink) => async (file: string, args: readonly string[]): Promise<string> => (await l.exec(file, args)).stdout

describe('dns server on the rack network', () => {
  it('keeps serving when the forwarder has no route (an offline laptop): the query gets SERVFAIL', async () => {
    const l = await link()
    // The server runs inside the namespace, which has no default route: connect() to the
    // forwarder fails at once with ENETUNREACH, as on a laptop cabled to the rack only.
    const options = { address: `${l.prefix}2`, port: 53, forwarders: ['192.0.2.53'], forwardFor: [l.subnet] }
    const child = spawn('ip', ['netns', 'exec', l.namespace, process.execPath, '--import', 'tsx', 'src-main/testing/dns-server-process.ts', JSON.stringify(options)], {
      stdio: ['ignore', 'pipe', 'pipe']
    })
    children.push(child)
    let stderr = ''
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()))
    const [first] = (await Promise.race([once(child.stdout!, 'data'), once(child, 'exit').then(() => [Buffer.from(`exited: ${stderr}`)])])) as [Buffer]
    expect(first.toString()).toMatch(/^listening 53/)

    const foreign = await digAt(`${l.prefix}2`, 53, fromHost, 'example.com', 'A')
    expect(foreign.status).toBe('SERVFAIL')
    // Still alive: a second foreign query, and a cluster name, both answered.
    expect((await digAt(`${l.prefix}2`, 53, fromHost, 'example.org', 'A')).status).toBe('SERVFAIL')
    const own = await digAt(`${l.prefix}2`, 53, fromHost, 'node1.cluster.test', 'A')
    expect(own.answer).toEqual(['node1.cluster.test. 300 IN A 192.168.124.81'])
    expect(child.exitCode, stderr).toBeNull()
  }, 30_000)

  it('forwards for clients on the served networks and refuses clients elsewhere (no open resolver)', async () => {
    const l = await link()
    const upstream = await startServer({ address: '127.0.0.1', port: 0 }, UPSTREAM_ZONE)
    const forwarders = [`127.0.0.1:${upstream.port}`]

    const served = await startServer({ address: l.hostAddress, port: 0, forwarders, forwardFor: [l.subnet] })
    const onLink = await digAt(l.hostAddress, served.port, fromRack(l), 'www.upstream.test', 'A')
    expect(onLink.status).toBe('NOERROR')
    expect(onLink.answer).toEqual(['www.upstream.test. 60 IN A 10.1.0.80'])

    // The same client, but its network is not one this server serves: REFUSED, no RA, nothing relayed.
    const other = await startServer({ address: l.hostAddress, port: 0, forwarders, forwardFor: ['198.18.0.0/24'] })
    const offLink = await digAt(l.hostAddress, other.port, fromRack(l), 'www.upstream.test', 'A')
    expect(offLink.status).toBe('REFUSED')
    expect(offLink.flags).not.toContain('ra')
    expect(offLink.answer).toEqual([])
    // Over TCP too, and its own names are still answered to anyone.
    expect((await digAt(l.hostAddress, other.port, fromRack(l), '+tcp', 'www.upstream.test', 'A')).status).toBe('REFUSED')
    expect((await digAt(l.hostAddress, other.port, fromRack(l), 'node1.cluster.test', 'A')).answer).toEqual(['node1.cluster.test. 300 IN A 192.168.124.81'])
    // Loopback always may.
    expect((await digAt('127.0.0.1', (await startServer({ address: '127.0.0.1', port: 0, forwarders, forwardFor: [] })).port, fromHost, 'www.upstream.test', 'A')).status).toBe('NOERROR')
  }, 30_000)
})
