// A node's boot page and the nodes table's boot progress, in Chromium against `crowbar serve
// --interface` on a veth pair: a machine in a network namespace registers over the node-facing
// HTTP API, so real 'register' events exist; its page shows them (and later ones live), the
// progress column its discovery step, and its packets download as a pcap. A node that never
// booted says so in words. The root-only tests need a namespace; there the machine first takes a
// PXE lease with dhclient, so its DHCP exchange is on the timeline too.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { z } from 'zod'
import { BootDiagnosisSchema, BootProgressSchema, NodeSchema, SetupStateSchema } from '../src-main/model'
import { createTestLink, type TestLink } from '../src-main/testing/test-link'
import { api, expect, startHeadlessServer, test, type ApiServer, type HeadlessServer } from './headless-server'
import { attachScreenshot, openApp } from './renderer-page'

const MAC = '52:54:00:15:0e:01'

/** Whether an operation of issue 15's server side still answers "not built yet". */
async function notBuilt(call: Promise<unknown>): Promise<string | null> {
  try {
    await call
    return null
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err)
    if (message.includes('not built yet')) return message
    throw err
  }
}

test('a node that never PXE booted says so on its boot page', async ({ page, server }, testInfo) => {
  const node = NodeSchema.parse(await api(server, 'POST', '/nodes', { name: 'never-booted.boot.e2e', alive: false }))
  await openApp(page, server, '#/nodes')
  // The name opens the page, and the name cell still reads as the name alone.
  await expect(page.getByTestId('nodes').getByRole('cell', { name: node.name, exact: true })).toBeVisible()
  await page.getByTestId(`node-${node.name}`).getByRole('button', { name: node.name, exact: true }).click()
  const panel = page.getByTestId('boot-panel')
  await expect(panel.getByRole('heading', { name: `Boot timeline of ${node.name}` })).toBeVisible()
  await expect(panel.getByTestId('boot-empty')).toHaveText('No boot events yet: the machine has not PXE booted against this laptop.')
  await expect(page.getByTestId(`boot-progress-${node.name}`)).toHaveAttribute('data-phase', 'none')
  await attachScreenshot(page, testInfo, 'never-booted')
  await panel.getByRole('button', { name: 'Close' }).click()
  await expect(panel).toHaveCount(0)
  // Closed, not crashed: the nodes view is still drawn (an effect's cleanup once blanked the app).
  await expect(page.getByTestId(`node-${node.name}`)).toBeVisible()
})

test.describe('a machine on the rack link (root)', () => {
  let link: TestLink | undefined
  let server: HeadlessServer | undefined
  let dir: string | undefined
  test.skip(process.getuid?.() !== 0, 'needs root to create a network namespace and a veth pair')
  test.afterEach(async () => {
    await server?.stop()
    server = undefined
    await link?.stop()
    link = undefined
    if (dir) await rm(dir, { recursive: true, force: true })
    dir = undefined
  })

  /** dhclient in the namespace as a PXE BIOS client; returns the address it was given. */
  async function pxeLease(l: TestLink, work: string): Promise<string> {
    const conf = join(work, 'dhclient.conf')
    await writeFile(conf, ['option pxe-arch code 93 = unsigned integer 16;', 'send vendor-class-identifier "PXEClient:Arch:00000:UNDI:002001";', 'send pxe-arch 0;', ''].join('\n'))
    const leases = join(work, 'dhclient.leases')
    const pid = join(work, 'dhclient.pid')
    // -sf /bin/true: the address is added by hand, no script touches this host's resolv.conf.
    const r = await l.exec('dhclient', ['-4', '-1', '-cf', conf, '-lf', leases, '-pf', pid, '-sf', '/bin/true', l.peerIf], 30_000)
    // -1 leaves a daemon renewing the lease: stopped by its PID.
    const daemon = Number((await readFile(pid, 'utf8').catch(() => '')).trim())
    if (daemon > 0) process.kill(daemon, 'SIGKILL')
    if (r.code !== 0) throw new Error(`dhclient failed (${r.code}): ${r.stderr}`)
    const leased = /fixed-address ([0-9.]+);/.exec(await readFile(leases, 'utf8'))?.[1]
    if (!leased) throw new Error('dhclient wrote no lease')
    await l.exec('ip', ['addr', 'add', `${leased}/24`, 'dev', l.peerIf])
    return leased
  }

  /** The node-facing API from inside the namespace (the machine's side of the link). */
  async function nodeCall(l: TestLink, bootUrl: string, path: string, body: unknown, secret?: string): Promise<unknown> {
    const auth = secret ? ['-H', `Authorization: Bearer ${secret}`] : []
    const r = await l.exec('curl', ['-sS', '--fail-with-body', '-X', 'POST', '-H', 'Content-Type: application/json', ...auth, '-d', JSON.stringify(body), `${bootUrl}${path}`])
    if (r.code !== 0) throw new Error(`POST ${path} from the namespace failed (${r.code}): ${r.stdout} ${r.stderr}`)
    return JSON.parse(r.stdout) as unknown
  }

  test('shows the registration on the node’s page and in the progress column, follows new events live, and downloads the pcap', async ({ page }, testInfo) => {
    link = await createTestLink()
    server = await startHeadlessServer({ args: ['--interface', link.hostIf] })
    const url: ApiServer = server
    const bootUrl = SetupStateSchema.parse(await api(url, 'GET', '/setup')).boot.url
    expect(bootUrl, 'the boot services run on the test link').toBeTruthy()
    dir = await mkdtemp(join(tmpdir(), 'crowbar-boot-e2e-'))
    await link.setPeerMac(MAC)
    const leased = await pxeLease(link, dir)

    const reg = z
      .object({ node_id: z.number(), name: z.string(), secret: z.string() })
      .parse(await nodeCall(link, bootUrl ?? '', '/api/node/register', { macs: [MAC], cpus: 2, memory_mb: 2048 }))

    await openApp(page, url, '#/nodes')
    const row = page.getByTestId(`node-${reg.name}`)
    await row.getByRole('button', { name: reg.name, exact: true }).click()
    const panel = page.getByTestId('boot-panel')
    const register = panel.getByTestId('boot-event-register')
    await expect(register).toBeVisible()
    await expect(register.locator('.boot-source')).toHaveText('api')
    await expect(register.locator('.boot-detail')).toContainText(`new node · node ${reg.node_id} · from ${leased}`)
    await expect(panel.getByTestId('boot-empty')).toHaveCount(0)
    // The PXE client's DHCP exchange before it, with its class and what it was offered.
    await expect(panel.getByTestId('boot-event-discover').first().locator('.boot-detail')).toContainText('arch 0 · PXEClient:Arch:00000:UNDI:002001')
    await expect(panel.getByTestId('boot-event-offer').first().locator('.boot-detail')).toContainText(`address ${leased}`)
    await expect(panel.getByTestId('boot-event-ack').first().locator('.boot-source')).toHaveText('dhcp')

    // A later event of the node appears without a reload.
    await nodeCall(link, bootUrl ?? '', `/api/node/${reg.node_id}/install-progress`, { step: 'image', percent: 40 }, reg.secret)
    await expect(panel.getByTestId('boot-event-install_step').locator('.boot-detail')).toHaveText('image 40%', { timeout: 10_000 })
    await attachScreenshot(page, testInfo, 'boot-page')

    const progressMissing = await notBuilt(api(url, 'GET', '/boot-progress'))
    if (progressMissing) {
      testInfo.annotations.push({ type: 'skipped assertion', description: `boot progress column: the server answers "${progressMissing}"` })
      await expect(page.getByTestId('boot-progress-error')).toContainText('not built yet')
    } else {
      const mine = z.array(BootProgressSchema).parse(await api(url, 'GET', '/boot-progress')).find((p) => p.node_id === reg.node_id)
      expect(mine?.phase).toBeTruthy()
      // Registration is the discovery step; the install step reported since may have moved it on.
      await expect(row.getByTestId(`boot-progress-${reg.name}`)).toHaveAttribute('data-phase', mine?.phase ?? 'discovery', { timeout: 10_000 })
      await expect(row.getByTestId(`boot-progress-${reg.name}`)).toHaveAttribute('title', /discovery: \d/)
    }

    const pcapMissing = await notBuilt(api(url, 'GET', `/boot-pcap?node_id=${reg.node_id}`))
    if (pcapMissing) {
      testInfo.annotations.push({ type: 'skipped assertion', description: `pcap download: the server answers "${pcapMissing}"` })
      await panel.getByRole('button', { name: 'Download pcap' }).click()
      await expect(panel.getByTestId('boot-pcap-error')).toContainText(`Cannot export the packets of ${reg.name}: `)
    } else {
      const downloading = page.waitForEvent('download')
      await panel.getByRole('button', { name: 'Download pcap' }).click()
      const download = await downloading
      expect(download.suggestedFilename()).toMatch(/\.pcap$/)
      const file = await readFile((await download.path()) ?? '')
      // The classic pcap magic, in either byte order.
      expect(['d4c3b2a1', 'a1b2c3d4']).toContain(file.subarray(0, 4).toString('hex'))
      // The global header and at least the four DHCP packets.
      expect(file.length).toBeGreaterThan(24 + 4 * 16)
      await expect(panel.getByTestId('boot-pcap-saved')).toContainText(`Saved ${download.suggestedFilename()}`)
    }

    const diagnosisMissing = await notBuilt(api(url, 'GET', `/boot-diagnosis?node_id=${reg.node_id}`))
    if (diagnosisMissing) {
      testInfo.annotations.push({ type: 'skipped assertion', description: `diagnosis: the server answers "${diagnosisMissing}"` })
      await expect(panel.getByTestId('boot-diagnosis-error')).toContainText('not built yet')
    } else {
      const diagnosis = BootDiagnosisSchema.parse(await api(url, 'GET', `/boot-diagnosis?node_id=${reg.node_id}`))
      const first = diagnosis.findings[0]
      if (!first) testInfo.annotations.push({ type: 'skipped assertion', description: 'show evidence: the diagnosis found nothing for this machine' })
      else {
        const finding = panel.locator(`[data-testid="boot-finding"][data-rule="${first.rule}"]`)
        await expect(finding).toContainText(first.title, { timeout: 10_000 })
        await finding.getByRole('button', { name: /^Show evidence/ }).click()
        await expect(panel.locator('.boot-event.evidence').first()).toBeVisible()
        await attachScreenshot(page, testInfo, 'evidence')
        await finding.getByRole('button', { name: 'Hide evidence' }).click()
        await expect(panel.locator('.boot-event.evidence')).toHaveCount(0)
      }
    }
  })
})
