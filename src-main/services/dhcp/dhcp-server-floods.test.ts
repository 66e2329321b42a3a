// The DHCP server under what a hostile or broken rack sends: DECLINEs (a real busybox udhcpc that
// finds its address taken), floods of DISCOVERs from random MACs and garbage, replies that cannot
// be sent, and an interface that is not there. Clients in a network namespace; needs root.
import { execFileSync } from 'node:child_process'
import pino from 'pino'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { createNetwork } from '../../barclamps/network/networks'
import { storeBackedLeases, type NodeReservations } from '../../barclamps/dhcp-database/dhcp-backend'
import { startTestApp, type TestApp } from '../../testing/test-app'
import { createTestLink, run, type TestLink } from '../../testing/test-link'
import { MessageType, opt, Option, type DhcpPacket } from './dhcp-codec'
import type { DhcpConfig } from './dhcp-policy'
import { DhcpServer } from './dhcp-server'
import { ServiceStartError } from '../net/service-error'

interface LogLine {
  level: number
  msg: string
  counts?: Record<string, number>
  total?: number
  address?: string
}

const isRoot = process.getuid?.() === 0

/**
 * A node script for inside the namespace: sends DHCP packets to `to`:67 from `from`, 10 every
 * 5 ms (so no receive buffer on the way overflows). Kinds: random-MAC DISCOVERs, BOOTREPLYs (not
 * for a server) and short garbage.
 */
function senderScript(from: string, to: string, counts: { discover: number; reply: number; garbage: number }): string {
  return `
    const dgram = require('node:dgram')
    const crypto = require('node:crypto')
    const packet = (op) => {
      const b = Buffer.alloc(244)
      b[0] = op; b[1] = 1; b[2] = 6
      crypto.randomBytes(4).copy(b, 4)
      b.writeUInt16BE(0x8000, 10)
      Buffer.concat([Buffer.from([0x02]), crypto.randomBytes(5)]).copy(b, 28)
      b.writeUInt32BE(0x63825363, 236)
      Buffer.from([53, 1, 1, 255]).copy(b, 240)
      return b
    }
    const queue = []
    for (let i = 0; i < ${counts.discover}; i++) queue.push(packet(1))
    for (let i = 0; i < ${counts.reply}; i++) queue.push(packet(2))
    for (let i = 0; i < ${counts.garbage}; i++) queue.push(crypto.randomBytes(10))
    const s = dgram.createSocket('udp4')
    s.bind(0, ${JSON.stringify(from)}, () => {
      const burst = () => {
        for (let i = 0; i < 10 && queue.length > 0; i++) s.send(queue.shift(), 67, ${JSON.stringify(to)})
        if (queue.length > 0) setTimeout(burst, 5)
        else setTimeout(() => s.close(), 100)
      }
      burst()
    })`
}

describe.skipIf(!isRoot)('DHCP server under floods and DECLINEs', () => {
  let link: TestLink
  let app: TestApp
  let networkId: number
  let server: DhcpServer | undefined
  let reservations: NodeReservations | undefined
  let lines: LogLine[] = []
  const logger = pino({ level: 'debug' }, { write: (l: string) => void lines.push(JSON.parse(l) as LogLine) })

  beforeAll(async () => {
    link = await createTestLink()
  })
  afterAll(async () => {
    await link?.stop()
  })
  beforeEach(async () => {
    lines = []
    app = await startTestApp('sqlite')
    const p = link.prefix
    const net = await createNetwork(app.ctx, {
      name: 'admin',
      category: 'admin',
      vlan: 0,
      bond: null,
      v4_subnet: link.subnet,
      v6prefix: null,
      ranges: [
        { name: 'host', first: `${p}50`, last: `${p}60` },
        { name: 'dhcp', first: `${p}100`, last: `${p}102` }
      ],
      routers: [{ address: link.hostAddress, pref: 10 }]
    })
    networkId = net.id
  })
  afterEach(async () => {
    await server?.stop()
    server = undefined
    await reservations?.dispose()
    reservations = undefined
    await app?.dispose()
    await link.exec('ip', ['addr', 'flush', 'dev', link.peerIf])
    await run('ip', ['addr', 'del', `${link.prefix}100/24`, 'dev', link.hostIf])
  })

  function config(): DhcpConfig {
    return {
      serverAddress: link.hostAddress,
      subnetMask: '255.255.255.0',
      router: link.hostAddress,
      dnsServers: [link.hostAddress],
      domain: 'lab.test',
      leaseSeconds: 600,
      bootFiles: { bios: 'undionly.kpxe', uefi: 'ipxe.efi', uefiLocal: null },
      ipxeScriptUrl: (mac) => `http://${link.hostAddress}:8700/boot/${mac}.ipxe`,
      proxy: false
    }
  }

  async function startServer(cacheEntries?: number): Promise<DhcpServer> {
    const backend = storeBackedLeases(app.ctx, app.hooks, {
      networkId,
      first: `${link.prefix}100`,
      last: `${link.prefix}102`,
      leaseSeconds: 600,
      ...(cacheEntries ? { reservationCache: { maxEntries: cacheEntries } } : {})
    })
    reservations = backend.reservations
    server = new DhcpServer({ interface: link.hostIf, config: config(), leases: backend.leases, logger, probeMs: 0, logIntervalMs: 4000 })
    await server.start()
    return server
  }

  const packet = (mac: string, type: number, options: Array<[number, Buffer]> = []): DhcpPacket => ({
    op: 1, htype: 1, hlen: 6, hops: 0, xid: 42, secs: 0, flags: 0x8000,
    ciaddr: '0.0.0.0', yiaddr: '0.0.0.0', siaddr: '0.0.0.0', giaddr: '0.0.0.0',
    chaddr: mac, sname: '', file: '',
    options: new Map<number, Buffer>([[Option.MESSAGE_TYPE, opt.u8(type)], ...options])
  })

  it('does not offer a DECLINEd address to the clients that come after', async () => {
    const dhcp = await startServer()
    const take = async (mac: string): Promise<string | null> => {
      const offer = await dhcp.answer(packet(mac, MessageType.DISCOVER))
      if (!offer) return null
      const ack = await dhcp.answer(packet(mac, MessageType.REQUEST, [[Option.REQUESTED_ADDRESS, opt.ip(offer.yiaddr)], [Option.SERVER_ID, opt.ip(link.hostAddress)]]))
      return ack?.yiaddr ?? null
    }
    const p = link.prefix
    expect(await take('02:00:00:00:00:01')).toBe(`${p}100`)
    await dhcp.answer(packet('02:00:00:00:00:01', MessageType.DECLINE, [[Option.REQUESTED_ADDRESS, opt.ip(`${p}100`)], [Option.SERVER_ID, opt.ip(link.hostAddress)]]))
    const next = [await take('02:00:00:00:00:02'), await take('02:00:00:00:00:03'), await take('02:00:00:00:00:04'), await take('02:00:00:00:00:05')]
    expect(next).toEqual([`${p}101`, `${p}102`, null, null])
    expect(lines.find((l) => l.msg.startsWith('a client declined its address'))).toMatchObject({ level: 40, address: `${p}100` })
  })

  it('busybox udhcpc that finds its offered address in use DECLINEs it, and the server holds it back and gives the next one', async () => {
    await startServer()
    const p = link.prefix
    // Another host already uses the first address of the range: it answers udhcpc's ARP probe.
    execFileSync('ip', ['addr', 'add', `${p}100/24`, 'dev', link.hostIf])
    const r = await link.exec('busybox', ['udhcpc', '-i', link.peerIf, '-a', '-n', '-q', '-f', '-t', '6', '-T', '1', '-A', '1', '-s', '/bin/true'], 30_000)
    expect(r.code, r.stderr).toBe(0)
    expect(r.stderr).toMatch(/offered address is in use|declining/)
    expect(r.stderr).toContain(`lease of ${p}101 obtained`)
    const rows = await app.ctx.db.selectFrom('dhcp_leases').select(['mac', 'address']).orderBy('address').execute()
    expect(rows[0]).toEqual({ mac: `declined ${p}100`, address: `${p}100` })
    expect(rows[1]?.address).toBe(`${p}101`)
  }, 40_000)

  it('a flood of 1,000 random-MAC DISCOVERs, 200 BOOTREPLYs and 200 garbage packets makes one line per kind and one counted summary, and a bounded cache', async () => {
    await startServer(256)
    await link.exec('ip', ['addr', 'add', `${link.prefix}2/24`, 'dev', link.peerIf])
    const sent = await link.exec(process.execPath, ['-e', senderScript(`${link.prefix}2`, link.hostAddress, { discover: 1000, reply: 200, garbage: 200 })], 20_000)
    expect(sent.code, sent.stderr).toBe(0)
    const summary = await waitFor(() => lines.find((l) => l.msg.startsWith('DHCP refused')), 8000)
    // Three DISCOVERs got the pool's three addresses as offers; every other packet is counted by
    // what it was, or as "server busy" if it came while 512 answers were waiting on the store.
    const counts = summary.counts ?? {}
    expect(summary.total).toBe(1397)
    expect(Object.keys(counts).sort()).toEqual(expect.arrayContaining(['malformed', 'no free address', 'not for us']))
    expect(Object.keys(counts).every((k) => ['malformed', 'no free address', 'not for us', 'server busy'].includes(k))).toBe(true)
    expect(summary.msg).toMatch(/^DHCP refused 1,397 packets in the last \d s: /)
    expect(lines.filter((l) => l.msg === 'no free address in the dhcp range: not offering')).toHaveLength(1)
    // One warning per warning kind, and the summary.
    expect(lines.filter((l) => l.level >= 40)).toHaveLength(counts['server busy'] ? 3 : 2)
    expect(reservations?.cachedEntries).toBeLessThanOrEqual(256)
    expect(reservations?.cachedEntries).toBeGreaterThan(128)
  }, 30_000)

  it('a reply that cannot be sent (the interface went down) is logged with its error, and the server answers again once it is up', async () => {
    await startServer()
    await link.exec('ip', ['addr', 'add', `${link.prefix}2/24`, 'dev', link.peerIf])
    // Blocking this loop: the DISCOVER waits in the server's socket while the interface goes down,
    // so its OFFER meets a down interface (ENETUNREACH).
    execFileSync('ip', ['netns', 'exec', link.namespace, process.execPath, '-e', senderScript(`${link.prefix}2`, link.hostAddress, { discover: 1, reply: 0, garbage: 0 })])
    execFileSync('ip', ['link', 'set', link.hostIf, 'down'])
    try {
      const fault = await waitFor(() => lines.find((l) => l.msg === 'DHCP reply not sent'), 3000)
      expect(fault).toMatchObject({ level: 50, err: expect.objectContaining({ code: 'ENETUNREACH' }) })
    } finally {
      execFileSync('ip', ['link', 'set', link.hostIf, 'up'])
    }
    await link.exec('ip', ['addr', 'flush', 'dev', link.peerIf])
    const r = await link.exec('busybox', ['udhcpc', '-i', link.peerIf, '-n', '-q', '-f', '-t', '6', '-T', '1', '-s', '/bin/true'], 20_000)
    expect(r.code, r.stderr).toBe(0)
    expect(r.stderr).toMatch(/lease of .* obtained/)
  }, 30_000)

  it('fails to start on an interface that does not exist with the typed error, from the probe too', async () => {
    const backend = storeBackedLeases(app.ctx, app.hooks, { networkId, first: `${link.prefix}100`, last: `${link.prefix}102`, leaseSeconds: 600 })
    reservations = backend.reservations
    const dhcp = new DhcpServer({ interface: 'cbl-nosuch0', config: config(), leases: backend.leases, logger, probeMs: 200 })
    const err = await dhcp.start().catch((e: unknown) => e)
    expect(err).toBeInstanceOf(ServiceStartError)
    expect(err).toMatchObject({ service: 'DHCP', kind: 'no_such_interface', message: expect.stringContaining('cbl-nosuch0') })
  })
})

async function waitFor<T>(get: () => T | undefined, ms: number): Promise<T> {
  const deadline = Date.now() + ms
  for (;;) {
    const value = get()
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error('timed out waiting')
    await new Promise((r) => setTimeout(r, 20))
  }
}
