// The preflight on the host end of a veth pair, with real peers on the far end in the namespace:
// dnsmasq serving DHCP, lldpd sending LLDP, and nothing at all. Root.
import { chmod, mkdir, mkdtemp, rm } from 'node:fs/promises'
import { existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { startDnsmasqDhcp } from '../../testing/dnsmasq-dhcp'
import { createTestLink, type TestLink } from '../../testing/test-link'
import { defaultRouteInterfaces, runPreflight } from './preflight'

describe('network preflight', () => {
  let link: TestLink
  let dir: string

  beforeEach(async () => {
    link = await createTestLink()
    dir = await mkdtemp(join(tmpdir(), 'crowbar-preflight-'))
  })
  afterEach(async () => {
    await link?.stop()
    if (dir) await rm(dir, { recursive: true, force: true })
  })

  it('names dnsmasq serving DHCP on the link (address, subnet, boot file) and recommends proxyDHCP', async () => {
    await link.exec('ip', ['addr', 'add', `${link.prefix}2/24`, 'dev', link.peerIf])
    await startDnsmasqDhcp((f, a) => link.spawn(f, a), { ifname: link.peerIf, dir, first: `${link.prefix}200`, last: `${link.prefix}210`, lease: '1h', router: `${link.prefix}2`, bootFile: 'pxelinux.0' })
    const report = await runPreflight(link.hostIf, { listenMs: 2000 })
    expect(report.link).toMatchObject({ exists: true, up: true, carrier: true, mtu: 1500 })
    expect(report.addresses).toContainEqual({ family: 4, address: link.hostAddress, prefix_length: 24 })
    expect(report.default_route).toBe(false)
    expect(report.dhcp_servers).toHaveLength(1)
    expect(report.dhcp_servers[0]).toMatchObject({ server: `${link.prefix}2`, subnet: link.subnet, router: `${link.prefix}2`, boot_file: 'pxelinux.0', lease_seconds: 3600 })
    expect(report.dhcp_servers[0]?.offered).toMatch(new RegExp(`^${link.prefix.replaceAll('.', '\\.')}2(0\\d|10)$`))
    expect(report.recommendation.dhcp).toBe('proxy')
    expect(report.recommendation.reason).toContain(`the DHCP server at ${link.prefix}2 already hands out addresses on ${link.subnet}: use proxyDHCP`)
    expect(report.recommendation.reason).toContain('PXE boot file pxelinux.0')
  }, 30_000)

  it('recommends full DHCP on a quiet link, and hears no switch and no router there', async () => {
    const report = await runPreflight(link.hostIf, { listenMs: 1500 })
    expect(report.dhcp_servers).toEqual([])
    expect(report.lldp).toBeNull()
    expect(report.ipv6_routers).toEqual([])
    expect(report.unchecked).toEqual([])
    expect(report.recommendation).toEqual({
      dhcp: 'full',
      reason: `no other DHCP server answered a PXE DISCOVER on ${link.hostIf} within 1.5 s: serve full DHCP (addresses and boot files).`
    })
  }, 30_000)

  it('names the switch’s chassis and port from the LLDP lldpd sends on the link', async () => {
    const mac = '02:cb:11:22:33:44'
    await link.setPeerMac(mac)
    // lldpd's privilege-separated child chroots there; the package makes it only under systemd.
    await mkdir('/run/lldpd', { recursive: true })
    // lldpcli reaches the control socket as lldpd's group, so its folder must be searchable.
    await chmod(dir, 0o755)
    const socket = join(dir, 'lldpd.socket')
    link.spawn('lldpd', ['-d', '-I', link.peerIf, '-u', socket, '-p', join(dir, 'lldpd.pid'), '-L', '', '-S', 'test switch'])
    for (let i = 0; i < 50 && !existsSync(socket); i++) await new Promise((r) => setTimeout(r, 100))
    // Its first frame went out before we listened; every second from now on.
    let configured = { code: 1, stdout: '', stderr: '' }
    for (let i = 0; i < 20 && configured.code !== 0; i++) {
      configured = await link.exec('lldpcli', ['-u', socket, 'configure', 'lldp', 'tx-interval', '1'], 5000)
      if (configured.code !== 0) await new Promise((r) => setTimeout(r, 200))
    }
    expect(configured, configured.stderr).toMatchObject({ code: 0 })
    const report = await runPreflight(link.hostIf, { listenMs: 2500 })
    expect(report.lldp).toMatchObject({ chassis: mac, port: mac, port_description: link.peerIf })
  }, 30_000)

  it('names another IPv6 router advertising on the link, with its prefix', async () => {
    // The far end advertises 2001:db8:77::/64 every 300 ms for at most 15 s through our own addon,
    // run by a second Node inside the namespace (killed by PID when the link stops).
    const addon = join(process.cwd(), 'build', 'Release', 'netbind.node')
    const script = [
      `const a = require(${JSON.stringify(addon)});`,
      `const p = Buffer.from('20010db8007700000000000000000000', 'hex');`,
      `let n = 0; const t = setInterval(() => { try { a.sendRouterAdvertisement(${JSON.stringify(link.peerIf)}, p, 64, 3600, 1800) } catch {} if (++n >= 50) clearInterval(t) }, 300);`
    ].join(' ')
    link.spawn(process.execPath, ['-e', script])
    // Both ends need their link-local addresses (duplicate address detection takes about a second).
    for (let i = 0; i < 40; i++) {
      const peer = await link.exec('ip', ['-6', 'addr', 'show', 'dev', link.peerIf, 'scope', 'link', '-tentative'])
      if (peer.stdout.includes('fe80')) break
      await new Promise((r) => setTimeout(r, 100))
    }
    const report = await runPreflight(link.hostIf, { listenMs: 2000 })
    expect(report.ipv6_routers).toHaveLength(1)
    expect(report.ipv6_routers[0]).toMatchObject({ router_lifetime: 0, prefixes: ['2001:db8:77::/64'] })
    expect(report.ipv6_routers[0]?.address).toMatch(/^fe80:/)
  }, 30_000)

  it('sees which interface holds a namespace’s default route', async () => {
    await link.exec('ip', ['addr', 'add', `${link.prefix}2/24`, 'dev', link.peerIf])
    await link.exec('ip', ['route', 'add', 'default', 'via', link.hostAddress, 'dev', link.peerIf])
    expect(defaultRouteInterfaces(link.namespace)).toEqual([link.peerIf])
    expect(defaultRouteInterfaces(link.namespace)).not.toContain(link.hostIf)
  })
})
