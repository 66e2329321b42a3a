// Boot diagnosis of induced failures with real clients in namespaces this test creates: a missing
// boot asset (tftp-hpa and curl), a foreign DHCP server that answers first (dnsmasq; ISC dhclient
// takes its offer), and a TFTP transfer stalled by packet loss mid-transfer (`tc netem loss 100%` on
// our end of the link, or where the kernel has no netem, as here, a `pfifo limit 0` qdisc that drops
// every packet we send).
// Each is named by the diagnosis, in words. Root.
import type { ChildProcess } from 'node:child_process'
import { mkdtemp, mkdir, realpath, rm, stat, truncate, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createHandlers, type HandlerInfo } from '../api/handlers'
import { storeBackedLeases } from '../barclamps/dhcp-database/dhcp-backend'
import { createNetwork } from '../barclamps/network/networks'
import { BootRecorder } from '../barclamps/provisioner/boot-recorder'
import { createRootLogger } from '../base/log'
import { createNode } from '../domain/nodes'
import type { BootDiagnosis } from '../model'
import { DhcpServer } from '../services/dhcp/dhcp-server'
import { BootHttpServer } from '../services/http/boot-http-server'
import { BootRouter } from '../services/http/boot-router'
import { TftpServer } from '../services/tftp/tftp-server'
import { createTestBridge, type TestBridge } from '../testing/test-bridge'
import { startDnsmasqDhcp } from '../testing/dnsmasq-dhcp'
import { run, createTestLink, type TestLink } from '../testing/test-link'
import { startTestApp, type TestApp } from '../testing/test-app'

const MAC = '52:54:00:d1:a9:01'
const quiet = createRootLogger('silent')

function kill(child: ChildProcess | undefined): void {
  if (!child?.pid) return
  try {
    process.kill(child.pid, 'SIGKILL')
  } catch {
    // already gone
  }
}

describe('boot diagnosis of induced failures', () => {
  let app: TestApp
  let recorder: BootRecorder
  let handlers: ReturnType<typeof createHandlers>
  let dir: string

  beforeAll(async () => {
    app = await startTestApp('sqlite', { realClock: true })
    recorder = new BootRecorder({ ctx: app.ctx, logger: quiet, flushMs: 50 })
    const info: HandlerInfo = { version: 'test', location: 'test', setup: app.setup, bootDiagnosis: { recorder } }
    handlers = createHandlers(app.ctx, info)
    dir = await mkdtemp(join(tmpdir(), 'crowbar-diagnosis-'))
  })
  afterAll(async () => {
    await recorder?.dispose()
    await app?.dispose()
    if (dir) await rm(dir, { recursive: true, force: true })
  })

  /** The machine's diagnosis once `done` holds (bounded: ~10 s). */
  async function diagnosisOf(mac: string, done: (d: BootDiagnosis) => boolean): Promise<BootDiagnosis> {
    let d = await handlers.diagnoseBoot({ mac })
    for (let i = 0; i < 100 && !done(d); i++) {
      await new Promise((r) => setTimeout(r, 100))
      await recorder.flush()
      d = await handlers.diagnoseBoot({ mac })
    }
    return d
  }

  describe('over TFTP and HTTP on a veth pair', () => {
    let link: TestLink
    let assets: string
    let tftp: TftpServer
    let http: BootHttpServer
    const client = (): string => `${link.prefix}50`

    beforeAll(async () => {
      link = await createTestLink()
      assets = join(dir, 'assets')
      await mkdir(join(assets, 'discovery'), { recursive: true })
      await writeFile(join(assets, 'discovery', 'vmlinuz'), Buffer.alloc(10_000, 1))
      // Sparse: a transfer long enough to be cut mid-way, with no disk written on the server side.
      await writeFile(join(assets, 'big.img'), '')
      await truncate(join(assets, 'big.img'), 64 * 1024 * 1024)
      await link.exec('ip', ['addr', 'add', `${client()}/24`, 'dev', link.peerIf])
      // The recorder maps a TFTP or HTTP client's address to its MAC from the leases.
      await app.ctx.db.insertInto('dhcp_leases').values({ mac: MAC, address: client(), hostname: null, expires_at: '2099-01-01T00:00:00Z', updated_at: '2026-01-01T00:00:00Z' }).execute()
      // Short retransmission bounds keep a stalled transfer's end within a second or two.
      tftp = new TftpServer({ root: assets, address: link.hostAddress, port: 0, onEvent: recorder.tftp, timeoutMs: 200, retries: 3, stallMs: 5000 })
      await tftp.start()
      http = new BootHttpServer({ address: link.hostAddress, port: 0, assetsDir: assets, router: new BootRouter(), logger: quiet, onRequest: recorder.http })
      await http.start()
    })
    afterAll(async () => {
      await run('tc', ['qdisc', 'del', 'dev', link.hostIf, 'root'])
      await tftp?.stop()
      await http?.stop()
      await link?.stop()
    })

    it('names a boot asset that is missing and the directory searched, for tftp-hpa and curl', async () => {
      const root = await realpath(assets)
      const got = await link.exec('tftp', ['-m', 'binary', link.hostAddress, String(tftp.port), '-c', 'get', 'discovery/initrd.img', join(dir, 'initrd.img')])
      expect(`${got.stdout}${got.stderr}`).toMatch(/File not found/i)
      const curl = await link.exec('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', `${http.baseUrl}/files/discovery/grubx64.efi`])
      expect(curl.stdout).toBe('404')
      const d = await diagnosisOf(MAC, (x) => x.findings.filter((f) => f.rule === 'asset_not_found').length >= 2)
      const missing = d.findings.filter((f) => f.rule === 'asset_not_found')
      expect(missing.map((f) => f.title)).toEqual(['Boot file discovery/grubx64.efi not found', 'Boot file discovery/initrd.img not found'])
      expect(missing[0]?.text).toContain(`The machine asked for discovery/grubx64.efi over HTTP once and it is not in the boot assets directory ${assets}`)
      expect(missing[1]?.text).toContain(`The machine asked for discovery/initrd.img over TFTP once and it is not in the TFTP root ${root}`)
      expect(missing.every((f) => f.event_ids.length === 1)).toBe(true)
    }, 30_000)

    it('names the block, file and block size of a tftp-hpa transfer stalled by 100% loss mid-way', async () => {
      const out = join(dir, 'big.out')
      let child: ChildProcess | undefined
      try {
        child = link.spawn('tftp', ['-m', 'binary', link.hostAddress, String(tftp.port), '-c', 'get', 'big.img', out])
        let size = 0
        for (let i = 0; i < 100 && size < 512 * 1024; i++) {
          await new Promise((r) => setTimeout(r, 50))
          size = (await stat(out).catch(() => ({ size: 0 }))).size
        }
        expect(size).toBeGreaterThanOrEqual(512 * 1024)
        // 100% loss from here on: netem where the kernel has it, else a FIFO that holds nothing
        // (drops each packet our server sends): this machine's kernel has no sch_netem.
        let tc = await run('tc', ['qdisc', 'add', 'dev', link.hostIf, 'root', 'netem', 'loss', '100%'])
        if (tc.code !== 0 && /unknown/i.test(tc.stderr)) tc = await run('tc', ['qdisc', 'add', 'dev', link.hostIf, 'root', 'pfifo', 'limit', '0'])
        expect(tc.code, tc.stderr).toBe(0)
        const d = await diagnosisOf(MAC, (x) => x.findings.some((f) => f.rule === 'tftp_stalled'))
        const stalled = d.findings.find((f) => f.rule === 'tftp_stalled')
        const block = Number(/stalled at block (\d+) of big\.img/.exec(stalled?.text ?? '')?.[1])
        // The client had at least the 512 KiB seen on disk: past block 1024.
        expect(block).toBeGreaterThan(1024)
        expect(block).toBeLessThan((64 * 1024 * 1024) / 512)
        expect(stalled?.title).toBe(`TFTP transfer of big.img stalled at block ${block}`)
        expect(stalled?.text).toContain(`stalled at block ${block} of big.img (blksize 512) after 3 retransmits; blocks 1 to ${block - 1} arrived`)
        expect(stalled?.text).toContain('packets of that size are lost on the path (MTU?) or the link drops packets; try a smaller blksize / check the switch')
      } finally {
        kill(child)
        await run('tc', ['qdisc', 'del', 'dev', link.hostIf, 'root'])
      }
    }, 30_000)

    it('says a registered node cannot be reached over SSH: refused with nothing on port 22, no answer when the link drops', async () => {
      const mac = '52:54:00:d1:a9:03'
      const node = await createNode(app.ctx, { name: 'n3.lab.test', description: '', admin: false, alive: true, available: true, bootenv: 'discovery', hint: { admin_address: client() } })
      await app.ctx.db.insertInto('node_macs').values({ mac, node_id: node.id }).execute()
      await recorder.registered([mac], node.id, { client: client() })
      const refused = await handlers.diagnoseBoot({ node_id: node.id })
      expect(refused.findings.map((f) => f.rule)).toEqual(['ssh_unreachable'])
      expect(refused.findings[0]?.text).toContain(`n3.lab.test registered but SSH to ${client()}:22 failed (connection refused: nothing listens on the port (ECONNREFUSED))`)
      const recorded = (await handlers.listBootEvents({ mac, limit: 10 })).filter((e) => e.event === 'ssh_unreachable')
      expect(recorded).toEqual([expect.objectContaining({ node_id: node.id, detail: expect.objectContaining({ address: client(), port: 22 }) })])
      try {
        await run('tc', ['qdisc', 'add', 'dev', link.hostIf, 'root', 'pfifo', 'limit', '0'])
        const started = Date.now()
        const silent = await handlers.diagnoseBoot({ node_id: node.id })
        // The probe is bounded at 2 s.
        expect(Date.now() - started).toBeLessThan(4000)
        expect(silent.findings[0]?.text).toContain(`SSH to ${client()}:22 failed (no answer within 2 s (a firewall drops it, or the host is down))`)
      } finally {
        await run('tc', ['qdisc', 'del', 'dev', link.hostIf, 'root'])
      }
    }, 30_000)
  })

  describe('with our DHCP server on a bridged segment', () => {
    const UEFI_MAC = '52:54:00:d1:a9:04'
    const CLIENT_MAC = '52:54:00:d1:a9:02'
    let bridge: TestBridge
    let server: DhcpServer | undefined
    let leases: ReturnType<typeof storeBackedLeases>['leases']
    let dnsmasq: ChildProcess | undefined
    let dhclient: ChildProcess | undefined

    beforeAll(async () => {
      // Members: a UEFI client, a BIOS client, and a second DHCP server.
      bridge = await createTestBridge(3, [UEFI_MAC, CLIENT_MAC])
      const p = bridge.prefix
      const net = await createNetwork(app.ctx, {
        name: 'admin',
        category: 'admin',
        vlan: 0,
        bond: null,
        v4_subnet: bridge.subnet,
        v6prefix: null,
        // Wide: a DHCP flood on another interface of this host (a benchmark) can land a few hundred
        // packets in the socket before it is bound to the bridge, each holding an offer 30 s.
        ranges: [{ name: 'dhcp', first: `${p}20`, last: `${p}199` }],
        routers: [{ address: bridge.hostAddress, pref: 10 }]
      })
      leases = storeBackedLeases(app.ctx, app.hooks, { networkId: net.id, first: `${p}20`, last: `${p}199`, leaseSeconds: 600 }).leases
      server = new DhcpServer({
        interface: bridge.bridge,
        leases,
        logger: quiet,
        probeMs: 0,
        onPacket: recorder.dhcpSink,
        config: {
          serverAddress: bridge.hostAddress,
          subnetMask: '255.255.255.0',
          router: bridge.hostAddress,
          dnsServers: [bridge.hostAddress],
          domain: 'lab.test',
          leaseSeconds: 600,
          bootFiles: { bios: 'undionly.kpxe', uefi: 'ipxe.efi', uefiLocal: null },
          ipxeScriptUrl: (mac) => `http://${bridge.hostAddress}/boot/${mac}.ipxe`,
          proxy: false
        }
      })
      await server.start()
    })
    afterAll(async () => {
      kill(dhclient)
      kill(dnsmasq)
      await server?.stop()
      await bridge?.stop()
    })

    it('suspects Secure Boot when a UEFI client is given a boot file and fetches nothing', async () => {
      const member = bridge.members[0]
      if (!member) throw new Error('member expected')
      const conf = join(dir, 'uefi.conf')
      await writeFile(
        conf,
        [
          'timeout 15;',
          'retry 1;',
          'option pxe-arch code 93 = unsigned integer 16;',
          'send vendor-class-identifier "PXEClient:Arch:00007:UNDI:003016";',
          'send pxe-arch 7;',
          'request subnet-mask, routers;',
          ''
        ].join('\n')
      )
      let client: ChildProcess | undefined
      try {
        client = member.spawn('dhclient', ['-d', '-1', '-cf', conf, '-sf', '/bin/true', '-pf', join(dir, 'uefi.pid'), '-lf', join(dir, 'uefi.leases'), member.ifname])
        // The firmware is given ipxe.efi and asks for nothing: a short fetch time-out keeps this quick.
        const quick = createHandlers(app.ctx, { version: 'test', location: 'test', setup: app.setup, bootDiagnosis: { recorder, timeouts: { fetchMs: 2000 } } })
        let d = await quick.diagnoseBoot({ mac: UEFI_MAC })
        for (let i = 0; i < 100 && !d.findings.some((f) => f.rule === 'boot_file_not_fetched'); i++) {
          await new Promise((r) => setTimeout(r, 100))
          await recorder.flush()
          d = await quick.diagnoseBoot({ mac: UEFI_MAC })
        }
        const f = d.findings.find((x) => x.rule === 'boot_file_not_fetched')
        const events = await handlers.listBootEvents({ mac: UEFI_MAC, limit: 100 })
        expect(f?.text, JSON.stringify(events.map((e) => [e.t, e.event, e.detail]))).toContain('A UEFI client (architecture 7) was given the boot file ipxe.efi once and asked for nothing within 2 s')
        expect(f?.text).toContain('Secure Boot may be refusing an unsigned loader; check firmware')
        expect(f?.text).toContain('use the signed shim')
        expect(f?.event_ids).toEqual([events.find((e) => e.event === 'ack')?.id])
        expect(d.progress).toMatchObject({ phase: 'pxe', mac: UEFI_MAC })
      } finally {
        kill(client)
      }
    }, 30_000)

    it('says the client asked dnsmasq for its address when dnsmasq answers first', async () => {
      const p = bridge.prefix
      // Ours answers DISCOVER 1.5 s late, so dnsmasq's OFFER comes first (this kernel has no netem).
      const offer = leases.offer.bind(leases)
      leases.offer = async (mac) => {
        await new Promise((r) => setTimeout(r, 1500))
        return offer(mac)
      }
      const [, clientNs, otherNs] = bridge.members
      if (!clientNs || !otherNs) throw new Error('three members expected')
      await otherNs.exec('ip', ['addr', 'add', `${p}2/24`, 'dev', otherNs.ifname])
      dnsmasq = await startDnsmasqDhcp((f, a) => otherNs.spawn(f, a), { ifname: otherNs.ifname, dir, first: `${p}200`, last: `${p}210` })
      const conf = join(dir, 'dhclient.conf')
      await writeFile(conf, 'timeout 15;\nretry 1;\nrequest subnet-mask, routers;\n')
      dhclient = clientNs.spawn('dhclient', ['-d', '-1', '-cf', conf, '-sf', '/bin/true', '-pf', join(dir, 'dhclient.pid'), '-lf', join(dir, 'dhclient.leases'), clientNs.ifname])
      const d = await diagnosisOf(CLIENT_MAC, (x) => x.findings.some((f) => f.rule === 'request_for_other_server'))
      const other = d.findings.find((f) => f.rule === 'request_for_other_server')
      const events = await handlers.listBootEvents({ mac: CLIENT_MAC, limit: 100 })
      expect(other?.title, JSON.stringify(events.map((e) => [e.t, e.event, e.detail]))).toBe(`The client asked another DHCP server (${p}2) for its address`)
      expect(other?.text).toMatch(new RegExp(`naming the DHCP server ${p.replace(/\./g, '\\.')}2 for ${p.replace(/\./g, '\\.')}2\\d\\d, not us`))
      expect(other?.text).toContain(`Stop the DHCP server at ${p}2`)
      // Our OFFER is on the timeline, with our server identifier, and the REQUEST names dnsmasq.
      expect(events.find((e) => e.event === 'offer')?.detail).toMatchObject({ server_id: bridge.hostAddress })
      expect(events.find((e) => e.event === 'request')?.detail).toMatchObject({ server_id: `${p}2` })
      expect(d.findings.map((f) => f.rule)).not.toContain('offer_not_taken')
    }, 30_000)
  })
})
