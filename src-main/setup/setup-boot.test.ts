// The install wizard on an interface: completing it starts the boot services there (a machine in
// the namespace gets a lease from the chosen dhcp range and reaches HTTP boot and DNS at the
// interface's address), later --wizard starts serve it again, and a service that cannot start is
// reported while the setup stands. On the host end of a veth pair into a namespace we create. Root.
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { createServer, type Server } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { startApp, type AppOptions, type CrowbarApp } from '../app'
import { createRootLogger } from '../base/log'
import { startDnsmasqDhcp } from '../testing/dnsmasq-dhcp'
import { createTestLink, type TestLink } from '../testing/test-link'

describe('install wizard on an interface', () => {
  let link: TestLink
  let dir: string
  let blocker: Server | undefined
  const apps: CrowbarApp[] = []
  const start = async (boot: AppOptions['boot'] = { proxyDhcp: false, ports: { http: 0, dns: 0 } }): Promise<CrowbarApp> => {
    const app = await startApp({ dataDir: join(dir, 'data'), logger: createRootLogger('silent'), anneal: false, wizard: true, boot })
    apps.push(app)
    return app
  }

  beforeEach(async () => {
    link = await createTestLink()
    dir = await mkdtemp(join(tmpdir(), 'crowbar-setup-boot-'))
  })
  afterEach(async () => {
    for (const app of apps.splice(0)) await app.stop()
    await new Promise<void>((resolve) => (blocker ? blocker.close(() => resolve()) : resolve()))
    blocker = undefined
    await link?.stop()
    if (dir) await rm(dir, { recursive: true, force: true })
  })

  it('starts the boot services on the chosen interface once the setup is done, and again after a restart', async () => {
    const app = await start()
    const state = await app.handlers.getSetup({})
    const offered = state.interfaces.find((i) => i.name === link.hostIf)
    expect(offered).toMatchObject({ loopback: false, unusable: null, addresses: [{ address: link.hostAddress, prefix_length: 24, subnet: link.subnet }] })
    const proposal = offered?.proposal
    expect(proposal).toMatchObject({ interface: link.hostIf, v4_subnet: link.subnet, dhcp_first: `${link.prefix}161`, dhcp_last: `${link.prefix}240` })
    if (!proposal) return
    expect(app.boot).toBeUndefined()

    const result = await app.handlers.completeSetup({ ...proposal, dhcp_first: `${link.prefix}200`, dhcp_last: `${link.prefix}220`, domain: 'rack.test', admin_name: 'admin' })
    expect(result.plan).toMatchObject({ interface: link.hostIf, admin_address: link.hostAddress, admin_name: 'admin.rack.test' })
    const url = app.boot?.httpUrl ?? ''
    expect(url).toMatch(new RegExp(`^http://${link.hostAddress.replace(/\./g, '\\.')}:\\d+$`))
    expect(result.boot).toEqual({ interface: link.hostIf, url, error: null })
    const nodes = await app.handlers.listNodes({})
    expect(nodes[0]?.addresses.find((a) => a.family === 4)?.address).toBe(link.hostAddress)

    // HTTP boot and DNS answer at the interface's address, from inside the namespace.
    await link.exec('ip', ['addr', 'add', `${link.prefix}250/24`, 'dev', link.peerIf])
    const key = await link.exec('curl', ['-sS', '--max-time', '5', `${url}/api/node/admin-key`])
    expect(key.stdout).toContain(app.adminKeys.publicKey.trim().split(' ')[1])
    const dig = await link.exec('dig', ['+short', '+tries=1', '+time=2', '-p', String(app.boot?.dnsPort), `@${link.hostAddress}`, 'admin.rack.test', 'A'])
    expect(dig.stdout.trim()).toBe(link.hostAddress)

    // DHCP: an unknown machine gets an address from the dhcp range chosen in the wizard.
    await link.exec('ip', ['addr', 'flush', 'dev', link.peerIf])
    const script = join(dir, 'udhcpc.sh')
    await writeFile(script, `#!/bin/sh\n[ "$1" = bound ] && env > ${join(dir, 'udhcpc.env')}\nexit 0\n`)
    await chmod(script, 0o755)
    const dhcp = await link.exec('busybox', ['udhcpc', '-i', link.peerIf, '-n', '-q', '-f', '-t', '4', '-T', '1', '-s', script], 20_000)
    expect(dhcp.code).toBe(0)
    const lease = /^ip=(\S+)$/m.exec(await readFile(join(dir, 'udhcpc.env'), 'utf8'))?.[1] ?? ''
    const last = Number(lease.split('.')[3])
    expect(lease.startsWith(link.prefix) && last >= 200 && last <= 220).toBe(true)

    // A later --wizard start serves the interface chosen then.
    await app.stop()
    const again = await start()
    expect((await again.handlers.getSetup({})).boot).toMatchObject({ interface: link.hostIf, error: null })
    expect(again.boot?.httpUrl).toMatch(`http://${link.hostAddress}:`)
  }, 60_000)

  it('serves proxyDHCP beside another DHCP server when the operator chose it, and again after a restart', async () => {
    await link.exec('ip', ['addr', 'add', `${link.prefix}2/24`, 'dev', link.peerIf])
    await startDnsmasqDhcp((f, a) => link.spawn(f, a), { ifname: link.peerIf, dir, first: `${link.prefix}100`, last: `${link.prefix}110`, lease: '1h' })
    const app = await start()
    const proposal = (await app.handlers.getSetup({})).interfaces.find((i) => i.name === link.hostIf)?.proposal
    if (!proposal) throw new Error(`${link.hostIf} was not offered`)
    const result = await app.handlers.completeSetup({ ...proposal, dhcp_mode: 'proxy' })
    expect(result.boot).toMatchObject({ interface: link.hostIf, error: null })
    expect(app.boot?.preflightReport?.dhcp_servers.map((d) => d.server)).toEqual([`${link.prefix}2`])

    // The choice outlives the process; without it the same link refuses full DHCP.
    await app.stop()
    const again = await start()
    expect((await again.handlers.getSetup({})).boot).toMatchObject({ interface: link.hostIf, error: null })
    await again.stop()
    await rm(join(dir, 'data'), { recursive: true, force: true })
    const full = await start()
    const offered = (await full.handlers.getSetup({})).interfaces.find((i) => i.name === link.hostIf)?.proposal
    if (!offered) throw new Error(`${link.hostIf} was not offered`)
    const refused = await full.handlers.completeSetup(offered)
    expect(refused.boot.error).toContain(`another DHCP server already answers on ${link.hostIf} (${link.prefix}2 offering ${link.subnet})`)
  }, 60_000)

  it('keeps the setup and says why when the boot services cannot start on the interface', async () => {
    // Something else holds the HTTP boot port on the interface's address.
    const held = createServer()
    blocker = held
    await new Promise<void>((resolve) => held.listen(0, link.hostAddress, resolve))
    const port = (held.address() as { port: number }).port
    const app = await start({ proxyDhcp: false, ports: { http: port, dns: 0 } })
    const proposal = (await app.handlers.getSetup({})).interfaces.find((i) => i.name === link.hostIf)?.proposal
    if (!proposal) throw new Error(`${link.hostIf} was not offered`)

    const result = await app.handlers.completeSetup(proposal)
    expect(result.boot).toMatchObject({ interface: link.hostIf, url: null })
    expect(result.boot.error).toMatch(/HTTP cannot listen on TCP .*: another program already uses it/)
    expect(app.boot).toBeUndefined()
    const state = await app.handlers.getSetup({})
    expect(state.state).toBe('done')
    expect(state.boot.error).toBe(result.boot.error)
    expect(await app.handlers.listNetworks({})).toHaveLength(1)
  }, 30_000)
})
