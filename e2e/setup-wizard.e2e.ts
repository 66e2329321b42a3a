// The install wizard in Chromium against `crowbar serve --wizard`: a bad subnet and a dhcp range
// outside the subnet are refused next to their fields with nothing created, valid choices are
// reviewed and confirmed, and the window then shows the committed system deployment. Interface
// "none" except in the root-only test, which uses a veth pair into a namespace it creates.
import { createServer, type Server } from 'node:net'
import { z } from 'zod'
import { NetworkSchema, NodeRoleSchema, NodeWithAddressesSchema, PreflightReportSchema, SetupStateSchema } from '../src-main/model'
import { createTestLink, run, type TestLink } from '../src-main/testing/test-link'
import { api, expect, startHeadlessServer, test, type ApiServer, type HeadlessServer } from './headless-server'
import { attachScreenshot, card, deploymentButton, openApp, openDeployment } from './renderer-page'

let server: HeadlessServer | undefined
test.afterEach(async () => {
  await server?.stop()
  server = undefined
})

const networks = async (url: ApiServer) => z.array(NetworkSchema).parse(await api(url, 'GET', '/networks'))
const nodes = async (url: ApiServer) => z.array(NodeWithAddressesSchema).parse(await api(url, 'GET', '/nodes'))

test('walks the wizard: refusals by their fields with nothing created, then confirm shows the committed system deployment', async ({ page }, testInfo) => {
  server = await startHeadlessServer({ args: ['--wizard'] })
  const url = server
  expect(SetupStateSchema.parse(await api(url, 'GET', '/setup')).state).toBe('pending')
  await openApp(page, url)

  await expect(page.getByRole('heading', { name: 'Step 1 of 4: Interface' })).toBeVisible()
  await expect(page.getByRole('radio', { name: /^None/ })).toBeChecked()
  // The loopback is never offered; real interfaces are, but this test keeps to none.
  await expect(page.getByRole('radio', { name: /^lo\b/ })).toHaveCount(0)
  await attachScreenshot(page, testInfo, 'interface')
  await page.getByRole('button', { name: 'Next' }).click()

  await expect(page.getByRole('heading', { name: 'Step 2 of 4: Admin network' })).toBeVisible()
  await expect(page.getByLabel('IPv4 subnet')).toHaveValue('192.168.124.0/24')
  await page.getByLabel('IPv4 subnet').fill('10.0.0.0/33')
  await page.getByRole('button', { name: 'Next' }).click()
  await expect(page.getByTestId('setup-error-v4_subnet')).toHaveText('prefix length /33 is too long for IPv4 (at most /32)')
  await expect(page.getByLabel('IPv4 subnet')).toHaveAttribute('aria-invalid', 'true')
  await expect(page.getByLabel('IPv4 subnet')).toBeFocused()
  await attachScreenshot(page, testInfo, 'bad-subnet')
  expect(await networks(url)).toEqual([])
  expect(await nodes(url)).toEqual([])

  // A good subnet, but the proposed dhcp range is still in the old one: both ends are refused.
  await page.getByLabel('IPv4 subnet').fill('10.77.0.0/24')
  await expect(page.getByTestId('setup-error-v4_subnet')).toHaveCount(0)
  await page.getByRole('button', { name: 'Next' }).click()
  await expect(page.getByTestId('setup-error-dhcp_first')).toHaveText('192.168.124.161 is outside v4_subnet 10.77.0.0/24')
  await expect(page.getByTestId('setup-error-dhcp_last')).toHaveText('192.168.124.240 is outside v4_subnet 10.77.0.0/24')
  expect(await networks(url)).toEqual([])

  await page.getByLabel('DHCP range first address').fill('10.77.0.100')
  await page.getByLabel('DHCP range last address').fill('10.77.0.199')
  await page.getByRole('radio', { name: 'This /64:' }).check()
  await page.getByLabel('IPv6 prefix (/64)').fill('fd12:3456:789a:1::/64')
  // Keyboard: Enter submits the step.
  await page.getByLabel('IPv6 prefix (/64)').press('Enter')

  await expect(page.getByRole('heading', { name: 'Step 3 of 4: Names' })).toBeVisible()
  await expect(page.getByLabel('Cluster domain')).toHaveValue('crowbar.lab')
  await page.getByLabel('Cluster domain').fill('e2e.lab')
  await page.getByLabel('Admin node name').fill('boss.elsewhere.lab')
  await page.getByRole('button', { name: 'Next' }).click()
  await expect(page.getByTestId('setup-error-admin_name')).toContainText('boss.elsewhere.lab is not in the cluster domain e2e.lab')
  await page.getByLabel('Admin node name').fill('boss')
  await page.getByRole('button', { name: 'Next' }).click()

  await expect(page.getByRole('heading', { name: 'Step 4 of 4: Review' })).toBeVisible()
  const review = page.getByTestId('setup-review')
  for (const [term, value] of [
    ['Interface', 'none (no boot services)'],
    ['IPv4 subnet', '10.77.0.0/24'],
    ['Router', '10.77.0.1'],
    ['Admin range', '10.77.0.10 – 10.77.0.11'],
    ['Host range', '10.77.0.81 – 10.77.0.99'],
    ['DHCP range', '10.77.0.100 – 10.77.0.199'],
    ['IPv6 prefix', 'fd12:3456:789a:1::/64'],
    ['Cluster domain', 'e2e.lab'],
    ['Admin node', 'boss.e2e.lab']
  ] as const) {
    await expect(review.locator('dt', { hasText: new RegExp(`^${term}$`) }).locator('+ dd')).toHaveText(value)
  }
  await attachScreenshot(page, testInfo, 'review')
  // Back keeps what was typed; still nothing created.
  await page.getByRole('button', { name: 'Back' }).click()
  await expect(page.getByLabel('Admin node name')).toHaveValue('boss')
  await page.getByRole('button', { name: 'Next' }).click()
  expect(await networks(url)).toEqual([])
  expect(await nodes(url)).toEqual([])

  await page.getByRole('button', { name: 'Confirm' }).click()
  await expect(deploymentButton(page, 'system', 'active')).toBeVisible({ timeout: 15_000 })
  await openDeployment(page, 'system')
  await expect(card(page, 'crowbar-admin-node', 'boss.e2e.lab')).toBeVisible()
  await attachScreenshot(page, testInfo, 'main-window')

  const [admin, ...more] = await networks(url)
  expect(more).toEqual([])
  expect(admin).toMatchObject({
    name: 'admin',
    v4_subnet: '10.77.0.0/24',
    v6prefix: 'fd12:3456:789a:1::/64',
    ranges: [
      { name: 'admin', first: '10.77.0.10', last: '10.77.0.11' },
      { name: 'host', first: '10.77.0.81', last: '10.77.0.99' },
      { name: 'dhcp', first: '10.77.0.100', last: '10.77.0.199' }
    ]
  })
  const [node] = await nodes(url)
  expect(node).toMatchObject({ name: 'boss.e2e.lab', admin: true, addresses: [{ network: 'admin', family: 4, address: '10.77.0.10' }, { network: 'admin', family: 6 }] })
  const system = z.array(z.object({ id: z.number(), system: z.boolean() })).parse(await api(url, 'GET', '/deployments')).find((d) => d.system)
  const noderoles = z.array(NodeRoleSchema).parse(await api(url, 'GET', `/noderoles?deployment_id=${system?.id}`))
  expect(noderoles.map((nr) => nr.role).sort()).toEqual(['crowbar-admin-node', 'dhcp-database', 'dns-database', 'network-admin'])
  expect(noderoles.every((nr) => nr.state !== 'proposed')).toBe(true)
  await expect(api(url, 'POST', '/setup', { interface: 'none', v4_subnet: '10.78.0.0/24', dhcp_first: '10.78.0.100', dhcp_last: '10.78.0.199', v6prefix: null, domain: 'x.lab', admin_name: 'x' })).rejects.toThrow(
    /HTTP 409: .*setup is already done/
  )
})

test('a window waiting in the wizard shows the main window once the setup is completed elsewhere', async ({ page }) => {
  server = await startHeadlessServer({ args: ['--wizard'] })
  await openApp(page, server)
  await expect(page.getByRole('heading', { name: 'Step 1 of 4: Interface' })).toBeVisible()
  const proposal = SetupStateSchema.parse(await api(server, 'GET', '/setup')).proposal
  await api(server, 'POST', '/setup', { ...proposal, admin_name: 'elsewhere' })
  await expect(deploymentButton(page, 'system')).toBeVisible()
  await expect(page.getByRole('heading', { name: /^Step/ })).toHaveCount(0)
})

test.describe('on an interface (root)', () => {
  let link: TestLink | undefined
  let blocker: Server | undefined
  test.skip(process.getuid?.() !== 0, 'needs root to create a network namespace and a veth pair')
  test.afterEach(async () => {
    await server?.stop()
    server = undefined
    await new Promise<void>((resolve) => (blocker ? blocker.close(() => resolve()) : resolve()))
    blocker = undefined
    await link?.stop()
    link = undefined
  })

  test('says so in the window when the boot services cannot start on the chosen interface', async ({ page }, testInfo) => {
    link = await createTestLink()
    // Something else holds HTTP boot's port on the interface's address, so the boot services stop
    // at their first socket: no DHCP is ever started.
    const held = createServer()
    blocker = held
    await new Promise<void>((resolve) => held.listen(8702, link?.hostAddress, resolve))
    server = await startHeadlessServer({ args: ['--wizard'] })
    await openApp(page, server)
    await page.getByRole('radio', { name: new RegExp(`^${link.hostIf}\\b`) }).check()
    // The preflight of the chosen interface is shown before anything is created; Next waits for it.
    await expect(page.getByTestId('preflight-report')).toBeVisible({ timeout: 10_000 })
    await expect(page.getByTestId('preflight-link')).toContainText('up, carrier, MTU 1500')
    await expect(page.getByTestId('preflight-addresses')).toContainText(`${link.hostAddress}/24`)
    await expect(page.getByTestId('preflight-default-route')).toHaveText('no')
    await expect(page.getByTestId('preflight-dhcp-servers')).toContainText('none answered')
    const preflight = PreflightReportSchema.parse(await api(server, 'POST', '/setup/preflight', { interface: link.hostIf }))
    const recommended = page.getByRole('radio', { name: preflight.recommendation.dhcp === 'full' ? /^Full DHCP/ : /^proxyDHCP/ })
    await expect(recommended).toBeChecked()
    await expect(recommended.locator('xpath=..')).toContainText('(recommended)')
    await expect(page.getByTestId('preflight-reason')).toHaveText(preflight.recommendation.reason)
    await expect(page.getByTestId('preflight-office-warning')).toHaveCount(0)
    await attachScreenshot(page, testInfo, 'preflight')
    await page.getByRole('button', { name: 'Next' }).click()
    await expect(page.getByLabel('IPv4 subnet')).toHaveValue(link.subnet)
    await expect(page.getByLabel('DHCP range first address')).toHaveValue(`${link.prefix}161`)
    await page.getByRole('button', { name: 'Next' }).click()
    await page.getByRole('button', { name: 'Next' }).click()
    await expect(page.getByTestId('setup-review').locator('dt', { hasText: 'Admin node' }).locator('+ dd')).toContainText(`at ${link.hostAddress}`)
    await page.getByRole('button', { name: 'Confirm' }).click()
    await expect(page.getByTestId('boot-error')).toContainText(`the boot services did not start on ${link.hostIf}: `)
    await expect(page.getByTestId('boot-error')).toContainText(`HTTP cannot listen on TCP ${link.hostAddress} port 8702: another program already uses it`)
    await expect(page.getByTestId('boot-error')).not.toContainText('..')
    await expect(deploymentButton(page, 'system')).toBeVisible()
    await attachScreenshot(page, testInfo, 'boot-error')
    expect(SetupStateSchema.parse(await api(server, 'GET', '/setup')).boot).toMatchObject({ interface: link.hostIf, url: null })
  })

  test('warns that an interface holding the default route faces the office network, and goes on only once that is confirmed', async ({ page }, testInfo) => {
    link = await createTestLink()
    // A default route through the test link that never wins (the largest metric).
    const added = await run('ip', ['route', 'add', 'default', 'via', `${link.prefix}2`, 'dev', link.hostIf, 'metric', '4000000000'])
    expect(added.code, added.stderr).toBe(0)
    server = await startHeadlessServer({ args: ['--wizard'] })
    await openApp(page, server)
    await page.getByRole('radio', { name: new RegExp(`^${link.hostIf}\\b`) }).check()
    await expect(page.getByTestId('preflight-default-route')).toHaveText('yes: this interface faces your office network', { timeout: 10_000 })
    const warning = page.getByTestId('preflight-office-warning')
    await expect(warning).toContainText('This interface faces your office network.')
    await expect(page.getByRole('button', { name: 'Next' })).toBeDisabled()
    await attachScreenshot(page, testInfo, 'office-network')
    await warning.getByRole('checkbox').check()
    await page.getByRole('button', { name: 'Next' }).click()
    await page.getByRole('button', { name: 'Next' }).click()
    await page.getByRole('button', { name: 'Next' }).click()
    const review = page.getByTestId('setup-review')
    await expect(review.locator('dt', { hasText: /^Office network$/ }).locator('+ dd')).toHaveText('confirmed: served although it holds the default route')
    await page.getByRole('button', { name: 'Confirm' }).click()
    await expect(deploymentButton(page, 'system')).toBeVisible({ timeout: 15_000 })
    expect(SetupStateSchema.parse(await api(server, 'GET', '/setup')).state).toBe('done')
  })
})
