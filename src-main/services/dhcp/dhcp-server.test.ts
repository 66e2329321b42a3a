// The DHCP server against real Debian clients (isc-dhcp-client's dhclient, busybox udhcpc) in a
// network namespace joined by a veth pair; and dnsmasq on the same link to prove the probe. Root.
import { chmod, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { createNetwork } from '../../barclamps/network/networks'
import { scenario } from '../../testing/domain-scenario'
import { createRootLogger } from '../../base/log'
import { startTestApp, type TestApp } from '../../testing/test-app'
import { createTestLink, type TestLink } from '../../testing/test-link'
import { createSocket } from 'node:dgram'
import { MessageType, opt, Option, type DhcpPacket } from './dhcp-codec'
import { storeBackedLeases } from '../../barclamps/dhcp-database/dhcp-backend'
import type { DhcpConfig } from './dhcp-policy'
import { DhcpServer } from './dhcp-server'

const KNOWN_MAC = '52:54:00:aa:00:01'
const UNKNOWN_MAC = '52:54:00:bb:00:02'

describe('DHCP server with real clients in a namespace', () => {
  let app: TestApp
  let link: TestLink
  let dir: string
  let networkId: number
  let server: DhcpServer | undefined

  beforeAll(async () => {
    app = await startTestApp('sqlite')
    link = await createTestLink()
    dir = await mkdtemp(join(tmpdir(), 'crowbar-dhcp-'))
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
        { name: 'dhcp', first: `${p}100`, last: `${p}110` }
      ],
      routers: [{ address: link.hostAddress, pref: 10 }]
    })
    networkId = net.id
    const s = scenario(app.ctx)
    const node = await s.node('known1.lab.test')
    await app.ctx.db.updateTable('nodes').set({ bootenv: 'discovery' }).where('id', '=', node).execute()
    await app.ctx.db.insertInto('node_macs').values({ mac: KNOWN_MAC, node_id: node }).execute()
    await s.bind(await s.system(), node, 'network-admin', true)
  })
  afterAll(async () => {
    await link?.stop()
    await app?.dispose()
    if (dir) await rm(dir, { recursive: true, force: true })
  })
  afterEach(async () => {
    await server?.stop()
    server = undefined
  })

  function config(): DhcpConfig {
    return {
      serverAddress: link.hostAddress,
      subnetMask: '255.255.255.0',
      router: link.hostAddress,
      dnsServers: [link.hostAddress],
      domain: 'lab.test',
      leaseSeconds: 600,
      bootFiles: { bios: 'undionly.kpxe', uefi: 'ipxe.efi', uefiLocal: 'grub-local.efi' },
      ipxeScriptUrl: (mac) => `http://${link.hostAddress}:8700/boot/${mac}.ipxe`,
      proxy: false
    }
  }

  async function startServer(probeMs = 0): Promise<DhcpServer> {
    const leases = storeBackedLeases(app.ctx, app.hooks, { networkId, first: `${link.prefix}100`, last: `${link.prefix}110`, leaseSeconds: 600 }).leases
    server = new DhcpServer({ interface: link.hostIf, config: config(), leases, logger: createRootLogger('silent'), probeMs })
    await server.start()
    return server
  }

  /** A client script that records the variables it is given, one file per call. */
  async function recorder(name: string): Promise<string> {
    const out = join(dir, name)
    const script = join(dir, `${name}.sh`)
    await writeFile(script, `#!/bin/sh\nenv > "${out}.$$.\${reason:-$1}"\n`)
    await chmod(script, 0o755)
    return out
  }

  async function recorded(prefix: string, suffix: string): Promise<Record<string, string>> {
    const base = prefix.split('/').pop() ?? ''
    const file = (await readdir(dir)).find((f) => f.startsWith(`${base}.`) && f.endsWith(`.${suffix}`))
    if (!file) throw new Error(`the client never reported ${suffix}`)
    const text = await readFile(join(dir, file), 'utf8')
    return Object.fromEntries(text.split('\n').filter((l) => l.includes('=')).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]))
  }

  async function dhclient(tag: string): Promise<Record<string, string>> {
    const out = await recorder(tag)
    const conf = join(dir, `${tag}.conf`)
    await writeFile(conf, 'timeout 15;\nretry 1;\nrequest subnet-mask, routers, domain-name, domain-name-servers, host-name;\n')
    const child = link.spawn('dhclient', ['-d', '-1', '-cf', conf, '-sf', `${out}.sh`, '-pf', join(dir, `${tag}.pid`), '-lf', join(dir, `${tag}.leases`), link.peerIf])
    try {
      for (let i = 0; i < 150; i++) {
        if ((await readdir(dir)).some((f) => f.startsWith(`${tag}.`) && f.endsWith('.BOUND'))) break
        await new Promise((r) => setTimeout(r, 100))
      }
      return await recorded(out, 'BOUND')
    } finally {
      if (child.pid && child.exitCode === null) process.kill(child.pid, 'SIGKILL')
      await link.exec('ip', ['addr', 'flush', 'dev', link.peerIf])
    }
  }

  async function udhcpc(tag: string, extra: string[] = []): Promise<Record<string, string>> {
    const out = await recorder(tag)
    const r = await link.exec('busybox', ['udhcpc', '-i', link.peerIf, '-n', '-q', '-f', '-t', '4', '-T', '1', '-s', `${out}.sh`, ...extra], 20_000)
    await link.exec('ip', ['addr', 'flush', 'dev', link.peerIf])
    if (r.code !== 0) throw new Error(`udhcpc failed: ${r.stderr}`)
    return recorded(out, 'bound')
  }

  it('gives dhclient the reserved address of a known MAC, with the options', async () => {
    await startServer()
    await link.setPeerMac(KNOWN_MAC)
    const env = await dhclient('known')
    expect(env).toMatchObject({
      new_ip_address: `${link.prefix}50`,
      new_subnet_mask: '255.255.255.0',
      new_routers: link.hostAddress,
      new_domain_name: 'lab.test',
      new_domain_name_servers: link.hostAddress,
      new_host_name: 'known1'
    })
  }, 30_000)

  it('gives an unknown MAC an address from the dhcp range, and keeps the lease across a restart', async () => {
    const dhcp = await startServer()
    await link.setPeerMac(UNKNOWN_MAC)
    const first = await dhclient('unknown1')
    expect(first.new_ip_address).toMatch(new RegExp(`^${link.prefix.replace(/\./g, '\\.')}1(0[0-9]|10)$`))
    const lease = await app.ctx.db.selectFrom('dhcp_leases').selectAll().where('mac', '=', UNKNOWN_MAC).executeTakeFirst()
    expect(lease?.address).toBe(first.new_ip_address)
    await dhcp.stop()
    await startServer()
    const again = await udhcpc('unknown2')
    expect(again.ip).toBe(first.new_ip_address)
    expect(again).toMatchObject({ subnet: '255.255.255.0', router: link.hostAddress, domain: 'lab.test' })
  }, 60_000)

  it('picks the boot file by client architecture, and gives iPXE its script URL', async () => {
    await startServer()
    await link.setPeerMac(KNOWN_MAC)
    const bios = await udhcpc('pxe-bios', ['-V', 'PXEClient:Arch:00000:UNDI:002001', '-x', '0x5d:0000'])
    expect(bios.boot_file).toBe('undionly.kpxe')
    expect(bios.siaddr).toBe(link.hostAddress)
    const uefi = await udhcpc('pxe-uefi', ['-V', 'PXEClient:Arch:00007:UNDI:003016', '-x', '0x5d:0007'])
    expect(uefi.boot_file).toBe('ipxe.efi')
    const ipxe = await udhcpc('ipxe', ['-x', '0x4d:69505845', '-x', '0x5d:0007'])
    expect(ipxe.boot_file).toBe(`http://${link.hostAddress}:8700/boot/${KNOWN_MAC}.ipxe`)
  }, 60_000)

  it('in proxyDHCP mode answers PXE clients with boot information only, also on port 4011, and ignores the rest', async () => {
    const leases = storeBackedLeases(app.ctx, app.hooks, { networkId, first: `${link.prefix}100`, last: `${link.prefix}110`, leaseSeconds: 600 }).leases
    server = new DhcpServer({ interface: link.hostIf, config: { ...config(), proxy: true }, leases, logger: createRootLogger('silent') })
    await server.start()
    const discover = (options: Array<[number, Buffer]>): DhcpPacket => ({
      op: 1, htype: 1, hlen: 6, hops: 0, xid: 7, secs: 0, flags: 0x8000,
      ciaddr: '0.0.0.0', yiaddr: '0.0.0.0', siaddr: '0.0.0.0', giaddr: '0.0.0.0',
      chaddr: UNKNOWN_MAC, sname: '', file: '',
      options: new Map<number, Buffer>([[Option.MESSAGE_TYPE, opt.u8(MessageType.DISCOVER)], ...options])
    })
    const pxe = await server.answer(discover([[Option.VENDOR_CLASS, opt.text('PXEClient:Arch:00000:UNDI:002001')], [Option.CLIENT_ARCH, opt.u16(0)]]))
    expect(pxe?.yiaddr).toBe('0.0.0.0')
    expect(pxe?.file).toBe('undionly.kpxe')
    expect(pxe?.options.get(Option.VENDOR_CLASS)?.toString()).toBe('PXEClient')
    expect(pxe?.options.get(Option.VENDOR_SPECIFIC)).toEqual(Buffer.from([6, 1, 8, 255]))
    expect(pxe?.options.has(Option.LEASE_TIME)).toBe(false)
    expect(await server.answer(discover([]))).toBeNull()
    // Port 4011 is ours now: a socket that does not share ports cannot take it.
    const probe = createSocket('udp4')
    await expect(new Promise((resolve, reject) => { probe.once('error', reject); probe.bind(4011, '0.0.0.0', () => resolve(true)) })).rejects.toThrow(/EADDRINUSE/)
    probe.close()
  })

  it('refuses to start while dnsmasq answers DHCP on the same link, and says why', async () => {
    await link.exec('ip', ['addr', 'add', `${link.prefix}2/24`, 'dev', link.peerIf])
    const dnsmasq = link.spawn('dnsmasq', [
      '--no-daemon',
      '--conf-file=/dev/null',
      '--port=0',
      `--interface=${link.peerIf}`,
      '--bind-interfaces',
      `--dhcp-range=${link.prefix}200,${link.prefix}210,255.255.255.0`,
      `--dhcp-leasefile=${join(dir, 'dnsmasq.leases')}`,
      `--pid-file=${join(dir, 'dnsmasq.pid')}`,
      '--no-ping'
    ])
    try {
      await new Promise((r) => setTimeout(r, 500))
      await expect(startServer(1500)).rejects.toThrow(
        `another DHCP server already answers on ${link.hostIf} (${link.prefix}2): stop it, or start with --proxy-dhcp`
      )
    } finally {
      if (dnsmasq.pid) process.kill(dnsmasq.pid, 'SIGKILL')
      await link.exec('ip', ['addr', 'flush', 'dev', link.peerIf])
    }
  }, 30_000)
})
