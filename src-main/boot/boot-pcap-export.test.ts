// The boot packets' pcap export with real clients: dhclient (as a PXE BIOS client), tftp-hpa and
// curl in a namespace on the host end of a veth pair, the app's boot services on the other; the
// export is read back by tcpdump, over the contract op and the raw file route. Root.
import { execFile } from 'node:child_process'
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { HttpTransport } from '../api/http-transport'
import { startApp, type CrowbarApp } from '../app'
import { createRootLogger } from '../base/log'
import { readPcapFile } from '../services/pcap/pcap-file'
import { createTestLink, type TestLink } from '../testing/test-link'

const MAC = '52:54:00:be:ef:15'
const TOKEN = 'pcap-test-token'
const BOOT_FILE_BYTES = 70_000

function tcpdump(file: string, flags: string[]): Promise<{ stdout: string; stderr: string; code: number }> {
  return new Promise((resolve) => {
    execFile('tcpdump', ['-r', file, '-nn', ...flags], { timeout: 15_000, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => resolve({ stdout, stderr, code: err ? 1 : 0 }))
  })
}

describe('boot packets exported as pcap', () => {
  let link: TestLink
  let app: CrowbarApp
  let api: HttpTransport
  let dir: string

  beforeAll(async () => {
    link = await createTestLink()
    dir = await mkdtemp(join(tmpdir(), 'crowbar-pcap-'))
    const assets = join(dir, 'assets')
    await mkdir(assets, { recursive: true })
    await writeFile(join(assets, 'undionly.kpxe'), Buffer.alloc(BOOT_FILE_BYTES, 7))
    app = await startApp({
      dataDir: join(dir, 'data'),
      logger: createRootLogger('silent'),
      anneal: false,
      bootstrap: { domain: 'lab.test', adminName: 'admin.lab.test' },
      boot: { interface: link.hostIf, assetsDir: assets, proxyDhcp: false, ports: { http: 0 } }
    })
    api = new HttpTransport({ handlers: app.handlers, feed: app.feed, port: 0, apiToken: TOKEN, onInternalError: () => undefined })
    await api.start()
    await link.setPeerMac(MAC)
  }, 60_000)
  afterAll(async () => {
    await api?.stop()
    await app?.stop()
    await link?.stop()
    if (dir) await rm(dir, { recursive: true, force: true })
  })

  it('exports one machine’s DHCP, TFTP and HTTP boot packets, which tcpdump reads with sound checksums', async () => {
    // DHCP: a PXE BIOS client's DISCOVER, OFFER, REQUEST, ACK.
    const conf = join(dir, 'dhclient.conf')
    await writeFile(conf, ['send vendor-class-identifier "PXEClient:Arch:00000:UNDI:002001";', 'request subnet-mask, routers;', ''].join('\n'))
    const leases = join(dir, 'dhclient.leases')
    const pid = join(dir, 'dhclient.pid')
    const r = await link.exec('dhclient', ['-4', '-1', '-v', '-cf', conf, '-lf', leases, '-pf', pid, '-sf', '/bin/true', link.peerIf], 30_000)
    const daemon = Number((await readFile(pid, 'utf8').catch(() => '')).trim())
    if (daemon > 0) process.kill(daemon, 'SIGKILL')
    expect(r.code, r.stderr).toBe(0)
    const leased = /fixed-address ([0-9.]+);/.exec(await readFile(leases, 'utf8'))?.[1] ?? ''
    expect(leased).not.toBe('')
    await link.exec('ip', ['addr', 'add', `${leased}/24`, 'dev', link.peerIf])

    // TFTP: the boot file at the default 512-byte blocks (137 DATA/ACK exchanges, so the ring cuts).
    const tftp = await link.exec('tftp', ['-m', 'binary', link.hostAddress, '-c', 'get', 'undionly.kpxe', join(dir, 'got.kpxe')])
    expect(tftp.code, tftp.stderr).toBe(0)

    // HTTP boot: the same file over HTTP (its body is cut to one segment in the capture).
    const http = app.boot?.httpUrl ?? ''
    const got = await link.exec('curl', ['-sS', '-o', '/dev/null', '-w', '%{http_code} %{size_download}', `${http}/files/undionly.kpxe`])
    expect(got.stdout).toBe(`200 ${BOOT_FILE_BYTES}`)

    // The recorder writes every ~200 ms: wait for the HTTP conversation's last ACK.
    const httpPort = Number(new URL(http).port)
    let exported = await app.handlers.exportBootPcap({ mac: MAC })
    for (let i = 0; i < 50; i++) {
      const frames = readPcapFile(Buffer.from(exported.pcap_base64, 'base64'))
      if (frames.ok && frames.file.records.some((rec) => rec.frame.length >= 54 && rec.frame.readUInt16BE(34) === httpPort && rec.frame[47] === 0x11)) break
      await new Promise((res) => setTimeout(res, 100))
      exported = await app.handlers.exportBootPcap({ mac: MAC })
    }
    expect(exported.filename).toBe('boot-52-54-00-be-ef-15.pcap')
    const file = Buffer.from(exported.pcap_base64, 'base64')
    const read = readPcapFile(file)
    expect(read.ok).toBe(true)
    if (!read.ok) return
    expect(exported.packets).toBe(read.file.records.length)
    // 512-byte blocks are kept whole (larger ones are cut to 512: transfer-capture.test.ts).
    expect(read.file.records.every((rec) => rec.frame.length === rec.origLen)).toBe(true)
    // 4 DHCP + RRQ + 8+8 head + 8 tail + 10 HTTP, give or take the client's own retries.
    expect(read.file.records.length).toBeGreaterThanOrEqual(4 + 1 + 16 + 8 + 10)
    expect(read.file.records.length).toBeLessThan(80)

    const path = join(dir, exported.filename)
    await writeFile(path, file)
    const plain = await tcpdump(path, [])
    expect(plain.code, plain.stderr).toBe(0)
    const out = plain.stdout
    expect(out).toMatch(new RegExp(`0\\.0\\.0\\.0\\.68 > 255\\.255\\.255\\.255\\.67: BOOTP/DHCP, Request from ${MAC}`))
    expect(out).toMatch(new RegExp(`${link.hostAddress.replace(/\./g, '\\.')}\\.67 > 255\\.255\\.255\\.255\\.68: BOOTP/DHCP, Reply`))
    expect(out).toMatch(/ > [0-9.]+\.69: TFTP, length \d+, RRQ "undionly\.kpxe" octet/)
    expect(out).toMatch(/UDP, length 516/)
    // tcpdump names HTTP only on port 80, so the TCP conversation is checked by its flags and bytes.
    const hp = `${link.hostAddress.replace(/\./g, '\\.')}\\.${httpPort}`
    expect(out).toMatch(new RegExp(` > ${hp}: Flags \\[S\\]`))
    expect(out).toMatch(new RegExp(`${hp} > [0-9.]+: Flags \\[S\\.\\]`))
    // The first body segment, then the FIN after all 70,000 body bytes: the rest is a gap.
    const body = new RegExp(`${hp} > [0-9.]+: Flags \\[P\\.\\], seq (\\d+):(\\d+),[^\\n]*length 1460\\n[^\\n]*${hp} > [0-9.]+: Flags \\[F\\.\\], seq (\\d+)`).exec(out)
    expect(body).not.toBeNull()
    expect(Number(body?.[3]) - Number(body?.[1])).toBe(BOOT_FILE_BYTES)
    const ascii = await tcpdump(path, ['-A'])
    expect(ascii.stdout).toContain('GET /files/undionly.kpxe HTTP/1.1')
    expect(ascii.stdout).toContain('HTTP/1.1 200 OK')

    const verbose = await tcpdump(path, ['-vv'])
    expect(verbose.code, verbose.stderr).toBe(0)
    for (const kind of ['Discover', 'Offer', 'Request', 'ACK']) expect(verbose.stdout).toContain(`DHCP-Message (53), length 1: ${kind}`)
    expect(verbose.stdout).not.toMatch(/bad cksum|bad udp cksum|incorrect/)
    expect(verbose.stdout).toMatch(/\[udp sum ok\]/)
    expect(verbose.stdout).toMatch(/cksum 0x[0-9a-f]+ \(correct\)/)
    // The client's MAC is the frames' source on what it sent.
    const ether = await tcpdump(path, ['-e'])
    expect(ether.stdout).toContain(`${MAC} > ff:ff:ff:ff:ff:ff`)
  }, 90_000)

  it('gives the same file on GET /api/v2/boot-pcap.pcap, behind the API token', async () => {
    const url = `http://127.0.0.1:${api.port}/api/v2/boot-pcap.pcap?mac=${MAC}`
    const refused = await fetch(url)
    expect(refused.status).toBe(401)
    const res = await fetch(url, { headers: { Authorization: `Bearer ${TOKEN}` } })
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toBe('application/vnd.tcpdump.pcap')
    expect(res.headers.get('content-disposition')).toBe('attachment; filename="boot-52-54-00-be-ef-15.pcap"')
    const body = Buffer.from(await res.arrayBuffer())
    const exported = await app.handlers.exportBootPcap({ mac: MAC })
    expect(body.equals(Buffer.from(exported.pcap_base64, 'base64'))).toBe(true)
    const none = await fetch(`http://127.0.0.1:${api.port}/api/v2/boot-pcap.pcap`, { headers: { Authorization: `Bearer ${TOKEN}` } })
    expect(none.status).toBe(400)
    expect(await none.json()).toMatchObject({ error: { kind: 'invalid' } })
  })

  it('cuts DATA blocks larger than 512 bytes in the capture, saying their real length, with checksums still sound', async () => {
    const before = (await app.handlers.exportBootPcap({ mac: MAC })).packets
    const got = await link.exec('curl', ['-sS', '--tftp-blksize', '1468', '-o', '/dev/null', '-w', '%{size_download}', `tftp://${link.hostAddress}/undionly.kpxe`])
    expect(got.stdout).toBe(String(BOOT_FILE_BYTES))
    let read = readPcapFile(Buffer.alloc(0))
    for (let i = 0; i < 50; i++) {
      const exported = await app.handlers.exportBootPcap({ mac: MAC })
      read = readPcapFile(Buffer.from(exported.pcap_base64, 'base64'))
      if (exported.packets >= before + 1 + 1 + 16 + 8) break
      await new Promise((res) => setTimeout(res, 100))
    }
    expect(read.ok).toBe(true)
    if (!read.ok) return
    const cut = read.file.records.filter((rec) => rec.frame.length < rec.origLen)
    expect(cut.length).toBeGreaterThanOrEqual(8 + 4)
    // Full blocks of 1468 bytes, and the last of 70,000 % 1468 = 1004.
    expect(new Set(cut.map((rec) => `${rec.frame.length}/${rec.origLen}`))).toEqual(new Set(['558/1514', '558/1050']))
    const path = join(dir, 'cut.pcap')
    await writeFile(path, Buffer.from((await app.handlers.exportBootPcap({ mac: MAC })).pcap_base64, 'base64'))
    const verbose = await tcpdump(path, ['-vv'])
    expect(verbose.code, verbose.stderr).toBe(0)
    expect(verbose.stdout).toMatch(/RRQ "undionly\.kpxe" octet tsize 0 blksize 1468/)
    expect(verbose.stdout).toMatch(/UDP, length 1472/)
    expect(verbose.stdout).not.toMatch(/bad cksum|bad udp cksum|incorrect/)
  }, 30_000)

  it('exports a node’s packets by node_id once its MAC registered', async () => {
    const http = app.boot?.httpUrl ?? ''
    const reg = await link.exec('curl', ['-sS', '-X', 'POST', '-H', 'Content-Type: application/json', '-d', JSON.stringify({ macs: [MAC], cpus: 1, memory_mb: 512 }), `${http}/api/node/register`])
    const { node_id: nodeId } = JSON.parse(reg.stdout) as { node_id: number }
    expect(nodeId).toBeGreaterThan(0)
    const byMac = await app.handlers.exportBootPcap({ mac: MAC })
    const byNode = await app.handlers.exportBootPcap({ node_id: nodeId })
    expect(byNode.filename).toBe(`boot-node-${nodeId}.pcap`)
    expect(byNode.packets).toBeGreaterThanOrEqual(byMac.packets)
    expect(byMac.packets).toBeGreaterThan(40)
    expect((await app.handlers.exportBootPcap({ node_id: nodeId + 1000 })).packets).toBe(0)
  }, 30_000)

  it('refuses an export that names no machine', async () => {
    await expect(app.handlers.exportBootPcap({})).rejects.toMatchObject({ kind: 'invalid' })
  })
})
