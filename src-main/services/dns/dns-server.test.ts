// The DNS server on real sockets, asked by the real `dig` (BIND's client) on 127.0.0.1, plus raw
// UDP/TCP clients for what dig will not send (malformed packets, idle and greedy connections).
import { execFile } from 'node:child_process'
import dgram from 'node:dgram'
import { readFileSync } from 'node:fs'
import net from 'node:net'
import { promisify } from 'node:util'
import { afterEach, describe, expect, it } from 'vitest'
import { closed, decoded, dig, framed, queryBytes, tcpReplies } from '../../testing/dns-test-client'
import { DnsType, encodeMessage } from './dns-codec'
import { ServiceStartError } from '../net/service-error'
import { DnsServer, type DnsServerOptions } from './dns-server'
import type { DnsZone } from './dns-zone'

const run = promisify(execFile)

const range = (prefix: string, count: number): string[] => Array.from({ length: count }, (_, i) => `${prefix}${i + 1}`)

const ZONE: DnsZone = {
  domain: 'cluster.test',
  ttl: 300,
  nameserver: { fqdn: 'admin.cluster.test', addresses: ['192.168.124.10'] },
  hosts: [
    { fqdn: 'node1.cluster.test', addresses: ['192.168.124.81', 'fd00:1::81'] },
    // 40 A records fit 1232 bytes but not 512; 100 fit neither.
    { fqdn: 'medium.cluster.test', addresses: range('10.40.0.', 40) },
    { fqdn: 'big.cluster.test', addresses: range('10.100.0.', 100) }
  ]
}

const UPSTREAM_ZONE: DnsZone = {
  domain: 'upstream.test',
  ttl: 60,
  nameserver: { fqdn: 'ns.upstream.test', addresses: ['10.1.0.53'] },
  hosts: [{ fqdn: 'www.upstream.test', addresses: ['10.1.0.80'] }]
}

const servers: DnsServer[] = []
const cleanups: Array<() => void> = []

afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) cleanup()
  await Promise.all(servers.splice(0).map((s) => s.stop()))
})

async function startServer(options: Partial<DnsServerOptions> = {}): Promise<DnsServer> {
  const server = new DnsServer({ address: '127.0.0.1', port: 0, zone: () => ZONE, ...options })
  servers.push(server)
  await server.start()
  return server
}

/** Sends one datagram and returns the first reply, or null when none comes within `waitMs`. */
async function udpExchange(port: number, bytes: Buffer, waitMs = 1000): Promise<Buffer | null> {
  const socket = dgram.createSocket('udp4')
  cleanups.push(() => socket.close())
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', () => resolve()))
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(null), waitMs)
    socket.once('message', (reply) => {
      clearTimeout(timer)
      resolve(reply)
    })
    socket.send(bytes, port, '127.0.0.1')
  })
}

async function tcpConnect(port: number, localAddress = '127.0.0.1'): Promise<net.Socket> {
  const socket = net.connect({ port, host: '127.0.0.1', localAddress })
  cleanups.push(() => socket.destroy())
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve())
    socket.once('error', reject)
  })
  return socket
}

describe('dns server answering dig over UDP', () => {
  it('answers A and AAAA for a host, authoritatively', async () => {
    const server = await startServer()
    const a = await dig(server.port, 'node1.cluster.test', 'A')
    expect(a.status).toBe('NOERROR')
    expect(a.flags).toContain('aa')
    expect(a.answer).toEqual(['node1.cluster.test. 300 IN A 192.168.124.81'])
    const aaaa = await dig(server.port, 'NODE1.cluster.test', 'AAAA')
    expect(aaaa.answer).toEqual(['NODE1.cluster.test. 300 IN AAAA fd00:1::81'])
  })

  it('answers PTR for the IPv4 and IPv6 address of a host (dig -x)', async () => {
    const server = await startServer()
    expect((await dig(server.port, '-x', '192.168.124.81')).answer).toEqual(['81.124.168.192.in-addr.arpa. 300 IN PTR node1.cluster.test.'])
    const v6 = await dig(server.port, '-x', 'fd00:1::81')
    expect(v6.answer).toEqual(['1.8.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.1.0.0.0.0.0.d.f.ip6.arpa. 300 IN PTR node1.cluster.test.'])
  })

  it('answers NXDOMAIN with the SOA for an unknown name in the zone', async () => {
    const server = await startServer()
    const r = await dig(server.port, 'nope.cluster.test', 'A')
    expect(r.status).toBe('NXDOMAIN')
    expect(r.flags).toContain('aa')
    expect(r.authority).toEqual(['cluster.test. 300 IN SOA admin.cluster.test. hostmaster.cluster.test. 1 3600 600 604800 300'])
  })

  it('refuses example.com when forwarding is off', async () => {
    const server = await startServer()
    const r = await dig(server.port, 'example.com', 'A')
    expect(r.status).toBe('REFUSED')
    expect(r.flags).not.toContain('aa')
  })

  it('serves a new zone object from the next query on', async () => {
    let zone = ZONE
    const server = await startServer({ zone: () => zone })
    expect((await dig(server.port, 'node7.cluster.test')).status).toBe('NXDOMAIN')
    zone = { ...ZONE, hosts: [...ZONE.hosts, { fqdn: 'node7.cluster.test', addresses: ['192.168.124.87'] }] }
    expect((await dig(server.port, 'node7.cluster.test')).answer).toEqual(['node7.cluster.test. 300 IN A 192.168.124.87'])
  })
})

describe('dns server answering repeated questions from its answer cache', () => {
  it('serves a changed zone at once although the old answer was cached', async () => {
    let zone = ZONE
    const server = await startServer({ zone: () => zone })
    for (let i = 0; i < 2; i++) expect((await dig(server.port, 'node1.cluster.test', 'A')).answer).toEqual(['node1.cluster.test. 300 IN A 192.168.124.81'])
    zone = { ...ZONE, hosts: [{ fqdn: 'node1.cluster.test', addresses: ['192.168.124.99'] }] }
    expect((await dig(server.port, 'node1.cluster.test', 'A')).answer).toEqual(['node1.cluster.test. 300 IN A 192.168.124.99'])
  })

  it('echoes each query\'s own letter case, id and RD bit, with no mismatch for dig', async () => {
    const server = await startServer()
    await dig(server.port, 'node1.cluster.test', 'A')
    const mixed = await dig(server.port, 'NoDe1.CLUSTER.test', 'A')
    expect(mixed.output).not.toMatch(/mismatch/i)
    expect(mixed.output).toContain(';NoDe1.CLUSTER.test.\t\tIN\tA')
    expect(mixed.answer).toEqual(['NoDe1.CLUSTER.test. 300 IN A 192.168.124.81'])

    const first = decoded((await udpExchange(server.port, queryBytes('Node1.cluster.test', DnsType.A, 0x1111))) ?? Buffer.alloc(0))
    const noRd = queryBytes('nODE1.cluster.TEST', DnsType.A, 0x2222)
    noRd.writeUInt8(noRd.readUInt8(2) & ~0x01, 2)
    const second = decoded((await udpExchange(server.port, noRd)) ?? Buffer.alloc(0))
    expect(first.header).toMatchObject({ id: 0x1111, rd: true, aa: true })
    expect(second.header).toMatchObject({ id: 0x2222, rd: false, aa: true })
    expect(second.questions).toEqual([{ name: 'nODE1.cluster.TEST', type: DnsType.A, class: 1 }])
    expect(second.answers).toEqual(first.answers.map((r) => ({ ...r, name: 'nODE1.cluster.TEST' })))
  })

  it('keeps the EDNS size apart: a cached full answer does not reach a client that takes 512 bytes', async () => {
    const server = await startServer()
    expect((await dig(server.port, '+ignore', 'medium.cluster.test', 'A')).answer).toHaveLength(40)
    expect((await dig(server.port, '+ignore', '+noedns', 'medium.cluster.test', 'A')).flags).toContain('tc')
    expect((await dig(server.port, '+ignore', '+bufsize=600', 'medium.cluster.test', 'A')).flags).toContain('tc')
    expect((await dig(server.port, '+ignore', 'medium.cluster.test', 'A')).answer).toHaveLength(40)
  })
})

describe('dns server sizing UDP replies', () => {
  it('sends TC when an answer exceeds the EDNS size, and dig gets it whole over TCP', async () => {
    const server = await startServer()
    const udpOnly = await dig(server.port, '+ignore', 'big.cluster.test', 'A')
    expect(udpOnly.flags).toContain('tc')
    expect(udpOnly.answer).toEqual([])
    const r = await dig(server.port, 'big.cluster.test', 'A')
    expect(r.output).toContain(';; Truncated, retrying in TCP mode.')
    expect(r.transport).toBe('TCP')
    expect(r.answer).toHaveLength(100)
  })

  it('holds a client without EDNS to 512 bytes and one with EDNS to its size', async () => {
    const server = await startServer()
    const plain = await dig(server.port, '+ignore', '+noedns', 'medium.cluster.test', 'A')
    expect(plain.flags).toContain('tc')
    const edns = await dig(server.port, '+ignore', 'medium.cluster.test', 'A')
    expect(edns.flags).not.toContain('tc')
    expect(edns.answer).toHaveLength(40)
    const small = await dig(server.port, '+ignore', '+bufsize=600', 'medium.cluster.test', 'A')
    expect(small.flags).toContain('tc')
  })
})

describe('dns server over TCP', () => {
  it('answers dig +tcp', async () => {
    const server = await startServer()
    const r = await dig(server.port, '+tcp', 'node1.cluster.test', 'A')
    expect(r.transport).toBe('TCP')
    expect(r.answer).toEqual(['node1.cluster.test. 300 IN A 192.168.124.81'])
  })

  it('answers pipelined queries in one segment and a query split into single bytes', async () => {
    const server = await startServer()
    const socket = await tcpConnect(server.port)
    const replies = tcpReplies(socket, 3)
    socket.write(Buffer.concat([framed(queryBytes('node1.cluster.test', DnsType.A, 1)), framed(queryBytes('nope.cluster.test', DnsType.A, 2))]))
    const split = framed(queryBytes('node1.cluster.test', DnsType.AAAA, 3))
    for (const byte of split) {
      socket.write(Buffer.from([byte]))
      await new Promise((resolve) => setImmediate(resolve))
    }
    const messages = (await replies).map(decoded)
    expect(messages.map((m) => [m.header.id, m.header.rcode, m.answers.length])).toEqual([
      [1, 0, 1],
      [2, 3, 0],
      [3, 0, 1]
    ])
  })

  it('closes a connection that stays idle past the timeout', async () => {
    const server = await startServer({ tcpIdleTimeoutMs: 200 })
    const socket = await tcpConnect(server.port)
    expect(await closed(socket, 3000)).toBe(true)
  })

  it('makes room for a new client by closing the connection idle longest, so idle ones cannot lock DNS over TCP out', async () => {
    const server = await startServer({ maxTcpConnections: 64 })
    // 64 idle connections, from 64 addresses (each within its per-address share).
    const idle: net.Socket[] = []
    for (let i = 0; i < 64; i++) idle.push(await tcpConnect(server.port, `127.0.1.${i + 1}`))
    await new Promise((resolve) => setTimeout(resolve, 50))
    const querying = await tcpConnect(server.port, '127.0.2.1')
    const reply = tcpReplies(querying, 1)
    querying.write(framed(queryBytes('node1.cluster.test', DnsType.A, 9)))
    expect(decoded((await reply)[0] ?? Buffer.alloc(0)).answers).toHaveLength(1)
    expect(await closed(idle[0] as net.Socket, 2000)).toBe(true)
    expect(idle.slice(1).filter((s) => s.destroyed || s.readableEnded)).toHaveLength(0)
  })

  it('refuses one address more connections than its share and keeps serving the ones it holds', async () => {
    const server = await startServer({ maxTcpConnectionsPerSource: 2 })
    const first = await tcpConnect(server.port)
    const second = await tcpConnect(server.port)
    // Let the server accept both before the third arrives.
    await new Promise((resolve) => setTimeout(resolve, 50))
    const third = await tcpConnect(server.port)
    expect(await closed(third, 2000)).toBe(true)
    for (const socket of [first, second]) {
      const reply = tcpReplies(socket, 1)
      socket.write(framed(queryBytes('node1.cluster.test', DnsType.A, 9)))
      expect(decoded((await reply)[0] ?? Buffer.alloc(0)).answers).toHaveLength(1)
    }
    // Another address still gets in.
    const other = await tcpConnect(server.port, '127.0.0.2')
    const reply = tcpReplies(other, 1)
    other.write(framed(queryBytes('node1.cluster.test', DnsType.A, 10)))
    expect(decoded((await reply)[0] ?? Buffer.alloc(0)).answers).toHaveLength(1)
  })

  it('hangs up on a frame longer than any query', async () => {
    const server = await startServer()
    const socket = await tcpConnect(server.port)
    socket.write(Buffer.from([0xff, 0xff, 0, 0, 0]))
    expect(await closed(socket, 2000)).toBe(true)
  })
})

describe('dns server facing malformed packets', () => {
  it('answers FORMERR, same id, when the header is readable but the body is not', async () => {
    const server = await startServer()
    const header = Buffer.from('abcd0100000100000000000005', 'hex') // one question, truncated name
    const reply = await udpExchange(server.port, header)
    expect(reply).not.toBeNull()
    const m = decoded(reply ?? Buffer.alloc(0))
    expect(m.header).toMatchObject({ id: 0xabcd, qr: true, rcode: 1, rd: true })
  })

  it('drops a packet too short for a header and a packet that is a response, then still answers', async () => {
    const server = await startServer()
    expect(await udpExchange(server.port, Buffer.from('0102030405', 'hex'), 300)).toBeNull()
    expect(await udpExchange(server.port, queryBytes('node1.cluster.test', DnsType.A, 7, true), 300)).toBeNull()
    const reply = await udpExchange(server.port, queryBytes('node1.cluster.test', DnsType.A, 8))
    expect(decoded(reply ?? Buffer.alloc(0)).answers).toHaveLength(1)
  })

  it('answers SERVFAIL when the zone source throws, and keeps running', async () => {
    let fail = true
    const server = await startServer({
      zone: () => {
        if (fail) throw new Error('store unavailable')
        return ZONE
      }
    })
    expect((await dig(server.port, 'node1.cluster.test')).status).toBe('SERVFAIL')
    fail = false
    expect((await dig(server.port, 'node1.cluster.test')).status).toBe('NOERROR')
  })
})

describe('dns server forwarding', () => {
  it('relays names outside our zone to an upstream and answers its own zone itself', async () => {
    const upstream = await startServer({ zone: () => UPSTREAM_ZONE })
    const server = await startServer({ forwarders: [`127.0.0.1:${upstream.port}`] })
    const relayed = await dig(server.port, 'www.upstream.test', 'A')
    expect(relayed.status).toBe('NOERROR')
    expect(relayed.answer).toEqual(['www.upstream.test. 60 IN A 10.1.0.80'])
    expect(relayed.flags).toContain('ra')
    expect(relayed.flags).not.toContain('aa')
    expect((await dig(server.port, 'nope.upstream.test')).status).toBe('NXDOMAIN')
    expect((await dig(server.port, '+tcp', 'www.upstream.test')).answer).toEqual(['www.upstream.test. 60 IN A 10.1.0.80'])
    expect((await dig(server.port, 'node1.cluster.test')).answer).toEqual(['node1.cluster.test. 300 IN A 192.168.124.81'])
  })

  it('answers SERVFAIL when the upstream stays silent past the timeout', async () => {
    const silent = dgram.createSocket('udp4')
    cleanups.push(() => silent.close())
    await new Promise<void>((resolve) => silent.bind(0, '127.0.0.1', () => resolve()))
    const received: Buffer[] = []
    silent.on('message', (m) => received.push(m))
    const server = await startServer({ forwarders: [`127.0.0.1:${silent.address().port}`], forwardTimeoutMs: 300 })
    const started = Date.now()
    expect((await dig(server.port, 'example.com', 'A')).status).toBe('SERVFAIL')
    expect(Date.now() - started).toBeLessThan(1500)
    expect(received.map((m) => decoded(m).questions)).toEqual([[{ name: 'example.com', type: 1, class: 1 }]])
  })

  it('tries the next upstream when the first is silent', async () => {
    const silent = dgram.createSocket('udp4')
    cleanups.push(() => silent.close())
    await new Promise<void>((resolve) => silent.bind(0, '127.0.0.1', () => resolve()))
    const upstream = await startServer({ zone: () => UPSTREAM_ZONE })
    const server = await startServer({
      forwarders: [`127.0.0.1:${silent.address().port}`, `127.0.0.1:${upstream.port}`],
      forwardTimeoutMs: 300
    })
    expect((await dig(server.port, 'www.upstream.test')).answer).toEqual(['www.upstream.test. 60 IN A 10.1.0.80'])
  })

  it('ignores a reply from the upstream whose id does not match the forwarded query', async () => {
    const liar = dgram.createSocket('udp4')
    cleanups.push(() => liar.close())
    await new Promise<void>((resolve) => liar.bind(0, '127.0.0.1', () => resolve()))
    liar.on('message', (m, rinfo) => {
      const q = decoded(m)
      const forged = encodeMessage({
        ...q,
        header: { ...q.header, id: (q.header.id + 1) & 0xffff, qr: true },
        answers: [{ name: q.questions[0]?.name ?? '', type: 'A', class: 1, ttl: 60, address: '6.6.6.6' }]
      })
      liar.send(forged, rinfo.port, rinfo.address)
    })
    const server = await startServer({ forwarders: [`127.0.0.1:${liar.address().port}`], forwardTimeoutMs: 300 })
    expect((await dig(server.port, 'example.com')).status).toBe('SERVFAIL')
  })
})

describe('dns server lifecycle', () => {
  it('starts and stops idempotently and can start again', async () => {
    const server = new DnsServer({ address: '127.0.0.1', port: 0, zone: () => ZONE })
    servers.push(server)
    await Promise.all([server.start(), server.start()])
    const port = server.port
    await server.start()
    expect(server.port).toBe(port)
    await Promise.all([server.stop(), server.stop()])
    await server.stop()
    expect(() => server.port).toThrow(/not started/)
    await server.start()
    expect((await dig(server.port, 'node1.cluster.test')).status).toBe('NOERROR')
  })

  it('refuses forwarders and addresses that are not IP addresses', () => {
    expect(() => new DnsServer({ address: '127.0.0.1', port: 0, zone: () => ZONE, forwarders: ['dns.example'] })).toThrow(ServiceStartError)
    expect(() => new DnsServer({ address: 'localhost', port: 0, zone: () => ZONE })).toThrow(/not an IP address/)
  })

  it('says another program holds the port when it is taken', async () => {
    const first = await startServer()
    const second = new DnsServer({ address: '127.0.0.1', port: first.port, zone: () => ZONE })
    servers.push(second)
    await expect(second.start()).rejects.toMatchObject({ name: 'ServiceStartError', service: 'DNS', kind: 'address_in_use' })
  })

  const unprivilegedStart = Number(readFileSync('/proc/sys/net/ipv4/ip_unprivileged_port_start', 'utf8'))
  it.skipIf(unprivilegedStart <= 53)('tells an unprivileged user how to get port 53: root or setcap on this binary', async () => {
    // A child drops to nobody (when we are root) and tries port 53; its error comes back as JSON.
    const script = `
      import { DnsServer } from ${JSON.stringify(new URL('./dns-server.ts', import.meta.url).pathname)}
      const s = new DnsServer({ address: '127.0.0.1', port: 53, zone: () => { throw new Error('unused') } })
      try { await s.start(); await s.stop(); console.log('{"started":true}') }
      catch (e) { console.log(JSON.stringify({ name: e.name, kind: e.kind, message: e.message })) }`
    const node = [process.execPath, '--import', 'tsx', '--input-type=module', '-e', script]
    const command = process.getuid?.() === 0 ? ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', ...node] : node
    const { stdout } = await run(command[0] ?? 'node', command.slice(1), { cwd: process.cwd() })
    expect(JSON.parse(stdout)).toEqual({
      name: 'ServiceStartError',
      kind: 'permission',
      message:
        'DNS cannot listen on UDP 127.0.0.1 port 53: ports below 1024 need privilege; run as root, or grant this binary ' +
        `the capabilities: sudo setcap cap_net_bind_service,cap_net_raw=+ep ${process.execPath}`
    })
  })
})
