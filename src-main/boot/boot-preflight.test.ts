// The boot services run the full network preflight before they serve an interface: with dnsmasq
// handing out addresses on the far end of a veth pair, a full-DHCP start is
// refused with the server's address, subnet and boot file named; a proxyDHCP start goes ahead and
// keeps the report. Root.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startApp } from '../app'
import { createRootLogger } from '../base/log'
import { startDnsmasqDhcp } from '../testing/dnsmasq-dhcp'
import { createTestLink, type TestLink } from '../testing/test-link'

describe('boot services preflight', () => {
  let link: TestLink
  let dir: string

  beforeAll(async () => {
    link = await createTestLink()
    dir = await mkdtemp(join(tmpdir(), 'crowbar-boot-preflight-'))
    await link.exec('ip', ['addr', 'add', `${link.prefix}2/24`, 'dev', link.peerIf])
    await startDnsmasqDhcp((f, a) => link.spawn(f, a), { ifname: link.peerIf, dir, first: `${link.prefix}200`, last: `${link.prefix}210`, lease: '1h', bootFile: 'pxelinux.0' })
  }, 30_000)
  afterAll(async () => {
    await link?.stop()
    if (dir) await rm(dir, { recursive: true, force: true })
  })

  const start = (proxyDhcp: boolean, name: string) =>
    startApp({
      dataDir: join(dir, name),
      logger: createRootLogger('silent'),
      anneal: false,
      bootstrap: { domain: 'lab.test', adminName: 'admin.lab.test' },
      boot: { interface: link.hostIf, proxyDhcp, ports: { http: 0, dns: 0, tftp: 0 } }
    })

  it('refuses full DHCP where dnsmasq already hands out addresses, naming it, its subnet and its boot file', async () => {
    const started = await start(false, 'full').then(
      async (app) => {
        await app.stop()
        return 'started'
      },
      (err: unknown) => (err instanceof Error ? err.message : String(err))
    )
    expect(started).toContain(`another DHCP server already answers on ${link.hostIf} (${link.prefix}2 offering ${link.subnet}, PXE boot file pxelinux.0)`)
    expect(started).toContain('--proxy-dhcp')
  }, 30_000)

  it('starts in proxyDHCP mode beside it and keeps the report', async () => {
    const app = await start(true, 'proxy')
    try {
      const report = app.boot?.preflightReport
      expect(report?.dhcp_servers.map((d) => d.server)).toEqual([`${link.prefix}2`])
      expect(report?.recommendation.dhcp).toBe('proxy')
      expect(report?.listened_ms).toBe(2000)
    } finally {
      await app.stop()
    }
  }, 30_000)
})
