// The boot flight recorder with real clients: dhclient (as a PXE BIOS client) and tftp-hpa in a
// namespace on the host end of a veth pair, the app's boot services on the other; then the machine
// registers over the node-facing API. Root.
import { mkdtemp, readFile, rm, writeFile, mkdir } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startApp, type CrowbarApp } from '../app'
import { createRootLogger } from '../base/log'
import type { BootEvent, ChangeEvent } from '../model'
import { createTestLink, type TestLink } from '../testing/test-link'

const MAC = '52:54:00:be:ef:01'

describe('boot flight recorder on an interface', () => {
  let link: TestLink
  let app: CrowbarApp
  let dir: string
  const changes: ChangeEvent[] = []

  beforeAll(async () => {
    link = await createTestLink()
    dir = await mkdtemp(join(tmpdir(), 'crowbar-recorder-'))
    const assets = join(dir, 'assets')
    await mkdir(assets, { recursive: true })
    await writeFile(join(assets, 'undionly.kpxe'), Buffer.alloc(70_000, 7))
    app = await startApp({
      dataDir: join(dir, 'data'),
      logger: createRootLogger('silent'),
      anneal: false,
      bootstrap: { domain: 'lab.test', adminName: 'admin.lab.test' },
      boot: { interface: link.hostIf, assetsDir: assets, proxyDhcp: false, ports: { http: 0 } }
    })
    app.feed.subscribe((e) => {
      if (e.kind === 'boot_event') changes.push(e)
    })
    await link.setPeerMac(MAC)
  })
  afterAll(async () => {
    await app?.stop()
    await link?.stop()
    if (dir) await rm(dir, { recursive: true, force: true })
  })

  /** The MAC's timeline once `done` holds for it (the recorder writes every ~200 ms), oldest first. */
  async function timeline(done: (events: BootEvent[]) => boolean): Promise<BootEvent[]> {
    let events: BootEvent[] = []
    for (let i = 0; i < 50; i++) {
      events = (await app.handlers.listBootEvents({ mac: MAC, limit: 1000 })).reverse()
      if (done(events)) break
      await new Promise((r) => setTimeout(r, 100))
    }
    return events
  }

  let leased = ''

  it('records a PXE client’s DISCOVER, OFFER, REQUEST and ACK with its arch, vendor class and boot file', async () => {
    const conf = join(dir, 'dhclient.conf')
    await writeFile(
      conf,
      [
        'option pxe-arch code 93 = unsigned integer 16;',
        'send vendor-class-identifier "PXEClient:Arch:00000:UNDI:002001";',
        'send pxe-arch 0;',
        'send user-class "crowbar-test";',
        'request subnet-mask, routers, domain-name-servers;',
        ''
      ].join('\n')
    )
    const leases = join(dir, 'dhclient.leases')
    const pid = join(dir, 'dhclient.pid')
    // -sf /bin/true: the address is added below, and no script touches this host's resolv.conf.
    const r = await link.exec('dhclient', ['-4', '-1', '-v', '-cf', conf, '-lf', leases, '-pf', pid, '-sf', '/bin/true', link.peerIf], 30_000)
    // -1 leaves a daemon renewing the lease: stopped by its PID.
    const daemon = Number((await readFile(pid, 'utf8').catch(() => '')).trim())
    if (daemon > 0) process.kill(daemon, 'SIGKILL')
    expect(r.code, r.stderr).toBe(0)
    leased = /fixed-address ([0-9.]+);/.exec(await readFile(leases, 'utf8'))?.[1] ?? ''
    expect(leased).toMatch(new RegExp(`^${link.prefix.replace(/\./g, '\\.')}`))

    const events = await timeline((es) => es.some((e) => e.event === 'ack'))
    const dhcp = events.filter((e) => e.source === 'dhcp')
    expect(dhcp.map((e) => e.event)).toEqual(['discover', 'offer', 'request', 'ack'])
    const [discover, offer, request, ack] = dhcp
    expect(discover?.detail).toMatchObject({ arch: 0, vendor_class: 'PXEClient:Arch:00000:UNDI:002001', user_class: ['crowbar-test'] })
    expect(offer?.detail).toMatchObject({ address: leased, boot_file: 'undionly.kpxe', next_server: link.hostAddress })
    expect(request?.detail).toMatchObject({ address: leased, arch: 0 })
    expect(ack?.detail).toMatchObject({ address: leased, boot_file: 'undionly.kpxe' })
    expect(dhcp.every((e) => e.node_id === null && !Number.isNaN(Date.parse(e.t)))).toBe(true)
    expect(changes.some((c) => c.mac === MAC)).toBe(true)
  }, 60_000)

  it('records a TFTP read request and its completed transfer on the MAC its address was leased to', async () => {
    expect(leased).not.toBe('')
    await link.exec('ip', ['addr', 'add', `${leased}/24`, 'dev', link.peerIf])
    const got = join(dir, 'got.kpxe')
    const tftp = await link.exec('tftp', ['-m', 'binary', link.hostAddress, '-c', 'get', 'undionly.kpxe', got])
    expect(tftp.code, tftp.stderr).toBe(0)
    const events = await timeline((es) => es.some((e) => e.event === 'transfer_complete'))
    const rrq = events.find((e) => e.source === 'tftp' && e.event === 'rrq')
    const complete = events.find((e) => e.source === 'tftp' && e.event === 'transfer_complete')
    expect(rrq?.detail).toMatchObject({ client: leased, file: 'undionly.kpxe', mode: 'octet' })
    expect(complete?.detail).toMatchObject({ client: leased, file: 'undionly.kpxe', bytes: 70_000, retransmits: 0 })
    expect(typeof complete?.detail.ms).toBe('number')
    expect((rrq?.id ?? 0) < (complete?.id ?? 0)).toBe(true)
  }, 30_000)

  let registered = { node_id: 0, secret: '' }

  it('links the MAC’s earlier events to the node it registers as, and records the registration', async () => {
    const http = app.boot?.httpUrl ?? ''
    const body = JSON.stringify({ macs: [MAC], cpus: 1, memory_mb: 512 })
    const reg = await link.exec('curl', ['-sS', '-X', 'POST', '-H', 'Content-Type: application/json', '-d', body, `${http}/api/node/register`])
    const { node_id: nodeId, secret } = JSON.parse(reg.stdout) as { node_id: number; secret: string }
    expect(nodeId).toBeGreaterThan(0)
    registered = { node_id: nodeId, secret }
    const events = await timeline((es) => es.some((e) => e.event === 'register') && es.some((e) => e.event === 'http_post'))
    expect(events.find((e) => e.event === 'register')).toMatchObject({ source: 'api', node_id: nodeId, detail: { created: true, client: leased } })
    expect(events.find((e) => e.event === 'http_post')).toMatchObject({ source: 'http', detail: { path: '/api/node/register', status: 200 } })
    const byNode = (await app.handlers.listBootEvents({ node_id: nodeId, limit: 1000 })).reverse()
    expect(byNode.map((e) => e.event)).toEqual(expect.arrayContaining(['discover', 'offer', 'request', 'ack', 'rrq', 'transfer_complete', 'register']))
    expect(byNode.every((e) => e.node_id === nodeId && e.mac === MAC)).toBe(true)
  }, 30_000)

  it('puts the installer’s steps on the timeline (source install), for the node’s own secret only', async () => {
    const http = app.boot?.httpUrl ?? ''
    const reg = registered
    expect(reg.node_id).toBeGreaterThan(0)
    const post = async (json: string, secret?: string): Promise<string> => {
      const auth = secret ? ['-H', `Authorization: Bearer ${secret}`] : []
      const r = await link.exec('curl', ['-sS', '-o', '/dev/null', '-w', '%{http_code}', '-X', 'POST', '-H', 'Content-Type: application/json', ...auth, '-d', json, `${http}/api/node/${reg.node_id}/install-progress`])
      return r.stdout
    }
    expect(await post('{"step":"image","percent":40}')).toBe('401')
    expect(await post('{"step":"image","percent":40}', 'f'.repeat(64))).toBe('401')
    expect(await post('{"step":"reformat-everything"}', reg.secret)).toBe('400')
    expect(await post('{"step":"image","percent":140}', reg.secret)).toBe('400')
    expect(await post('{"step":"partition"}', reg.secret)).toBe('200')
    expect(await post('{"step":"image","percent":40}', reg.secret)).toBe('200')
    const events = await timeline((es) => es.filter((e) => e.source === 'install').length >= 2)
    const steps = events.filter((e) => e.source === 'install')
    expect(steps.map((e) => [e.event, e.detail.step, e.detail.percent])).toEqual([
      ['install_step', 'partition', undefined],
      ['install_step', 'image', 40]
    ])
    expect(steps.every((e) => e.node_id === reg.node_id)).toBe(true)
  }, 30_000)

  it('keeps a client no DHCP reply of ours named on its address’s own timeline', async () => {
    const stranger = `${link.prefix}77`
    await link.exec('ip', ['addr', 'add', `${stranger}/24`, 'dev', link.peerIf])
    const http = app.boot?.httpUrl ?? ''
    const r = await link.exec('curl', ['-sS', '-o', '/dev/null', '-w', '%{http_code}', '--interface', stranger, `${http}/files/no-such-loader.efi`])
    expect(r.stdout).toBe('404')
    let events: BootEvent[] = []
    for (let i = 0; i < 50 && events.length === 0; i++) {
      events = await app.handlers.listBootEvents({ address: stranger, limit: 10 })
      if (events.length === 0) await new Promise((res) => setTimeout(res, 100))
    }
    expect(events[0]).toMatchObject({ mac: `ip:${stranger}`, node_id: null, source: 'http', event: 'http_get', detail: { client: stranger, path: '/files/no-such-loader.efi', status: 404 } })
    expect((await app.handlers.listBootEvents({ mac: MAC, limit: 1000 })).some((e) => e.detail.client === stranger)).toBe(false)
  }, 30_000)

  it('refuses a timeline query that names no machine', async () => {
    await expect(app.handlers.listBootEvents({ limit: 10 })).rejects.toMatchObject({ kind: 'invalid' })
  })
})
