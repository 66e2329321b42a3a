// BMC power control in the renderer (issue 16), in Chromium against a headless server: a node's BMC
// is enrolled through its page at an address where nothing answers (127.0.0.1, UDP port 9: IPMI
// meets ICMP port unreachable, which the server reports as 'refused'), so every power call fails
// fast and the page shows the server's words; the password is never shown nor returned; the Power
// column shows the poller's reading; a bulk power-on lists one result per node.
import type { Page } from '@playwright/test'
import { z } from 'zod'
import { API_PREFIX } from '../src-main/api/http-routes'
import { NodeBmcSchema, NodePowerSchema, NodeSchema, PowerResultSchema, type NodePower } from '../src-main/model'
import { api, expect, test, type ApiServer } from './headless-server'
import { attachScreenshot, openApp } from './renderer-page'

/** Distinctive, so any place it leaks to is found by a plain search. */
const PASSWORD = 'e2e-pw-7f3a9c'
/** Nothing listens on the discard port's UDP side here: the BMC call is refused at once. */
const DEAD_BMC = { protocol: 'ipmi', address: '127.0.0.1', port: 9, username: 'admin' } as const

async function powerOf(server: ApiServer, nodeId: number): Promise<NodePower | undefined> {
  return z
    .array(NodePowerSchema)
    .parse(await api(server, 'GET', '/power'))
    .find((p) => p.node_id === nodeId)
}

/** Real time for a request the page's timers may have started to be seen (before asserting none was). */
async function settle(page: Page): Promise<void> {
  await page.waitForTimeout(500)
}

/** Every input's current value (the DOM's attributes do not carry what was typed). */
async function inputValues(page: Page): Promise<string[]> {
  return page.locator('input').evaluateAll((els) => els.map((e) => (e as HTMLInputElement).value))
}

test('enrolls a BMC on the node’s page, shows its failures in words, never its password, and powers on a selection', async ({ page, server }, testInfo) => {
  test.setTimeout(120_000)
  const node = NodeSchema.parse(await api(server, 'POST', '/nodes', { name: 'bmc1.power.e2e', alive: false }))
  const other = NodeSchema.parse(await api(server, 'POST', '/nodes', { name: 'bmc2.power.e2e', alive: false }))
  const plain = NodeSchema.parse(await api(server, 'POST', '/nodes', { name: 'nobmc.power.e2e', alive: false }))
  // The second node's BMC through the API; the first's through the form below.
  await api(server, 'PUT', `/nodes/${other.id}/bmc`, { ...DEAD_BMC, password: PASSWORD })
  const pageErrors: string[] = []
  page.on('pageerror', (err) => pageErrors.push(err.message))

  await openApp(page, server, '#/nodes')
  await expect(page.getByTestId(`power-${plain.name}`)).toHaveText('—')
  await expect(page.getByTestId(`power-${plain.name}`)).toHaveAttribute('data-state', 'none')
  await expect(page.getByTestId(`power-${node.name}`)).toHaveText('—')
  await expect(page.getByTestId(`power-${other.name}`)).toHaveAttribute('data-state', /^(on|off|unknown)$/)

  await page.getByTestId(`node-${node.name}`).getByRole('button', { name: node.name, exact: true }).click()
  const panel = page.getByTestId('bmc-panel')
  await expect(panel.getByRole('heading', { name: `BMC of ${node.name}` })).toBeVisible()
  await expect(panel.getByTestId('bmc-none')).toBeVisible()
  const form = panel.getByTestId('bmc-form')

  // The server's validation, in its words (a scheme is not part of an address); nothing is stored.
  await form.getByLabel('Address').fill('https://127.0.0.1')
  await form.getByLabel('User').fill(DEAD_BMC.username)
  await form.getByRole('button', { name: 'Enroll BMC' }).click()
  const formError = form.getByTestId('bmc-form-error')
  await expect(formError).toContainText(`Cannot save the BMC of ${node.name}: `)
  await expect(formError).toContainText('a BMC address such as 10.0.2.15 or bmc1.lab (no scheme, no port)')
  await expect(formError).not.toContainText(/\bat .+:\d+:\d+/)
  expect(await api(server, 'GET', `/nodes/${node.id}/bmc`)).toBeNull()

  // The port is checked before anything is sent.
  await form.getByLabel('Address').fill(DEAD_BMC.address)
  await form.getByLabel('Port').fill('99999')
  await form.getByRole('button', { name: 'Enroll BMC' }).click()
  await expect(formError).toHaveText('the BMC port must be a whole number from 1 to 65535, not "99999"')

  await expect(form.getByLabel('Port')).toHaveAttribute('placeholder', '623')
  await form.getByLabel('Port').fill(String(DEAD_BMC.port))
  await expect(form.getByLabel('Password')).toHaveAttribute('type', 'password')
  // IPMI 2.0's limit, in the server's words.
  await form.getByLabel('Password').fill(`${PASSWORD}-far-too-long-for-ipmi`)
  await form.getByRole('button', { name: 'Enroll BMC' }).click()
  await expect(formError).toContainText('an IPMI 2.0 password is at most 20 bytes')
  await expect(formError).not.toContainText(PASSWORD)
  await form.getByLabel('Password').fill(PASSWORD)
  await form.getByRole('button', { name: 'Enroll BMC' }).click()
  const facts = panel.getByTestId('bmc-facts')
  await expect(facts).toContainText(`${DEAD_BMC.address}:${DEAD_BMC.port}`)
  await expect(facts).toContainText('IPMI 2.0')
  await expect(facts).toContainText('stored')
  await expect(facts).toContainText('entered by an operator')
  // The form starts again from what is stored: the password field is empty and says so.
  await expect(form.getByLabel('Password')).toHaveValue('')
  await expect(form.getByLabel('Password')).toHaveAttribute('placeholder', 'leave empty to keep the stored one')

  // What the API returns of it: everything but the password.
  const raw = await api(server, 'GET', `/nodes/${node.id}/bmc`)
  expect(JSON.stringify(raw)).not.toContain(PASSWORD)
  const bmc = NodeBmcSchema.parse(raw)
  expect(bmc).toMatchObject({ node_id: node.id, ...DEAD_BMC, has_password: true, source: 'operator' })

  /** Presses a power button and returns what the server answered to it. */
  const press = async (label: string) => {
    const answered = page.waitForResponse((res) => new URL(res.url()).pathname === `${API_PREFIX}/nodes/${node.id}/power` && res.request().method() === 'POST')
    await panel.getByTestId('power-actions').getByRole('button', { name: label, exact: true }).click()
    return PowerResultSchema.parse(await (await answered).json())
  }
  const powerError = panel.getByTestId('power-error')
  for (const label of ['Refresh', 'On']) {
    const result = await press(label)
    expect(result.ok, `${label} against a BMC where nothing listens`).toBe(false)
    expect(result.error?.kind).toBe('refused')
    expect(result.error?.message).toContain(DEAD_BMC.address)
    await expect(powerError).toHaveText(`${node.name}: ${result.error?.message ?? ''}`)
  }
  await attachScreenshot(page, testInfo, 'bmc-refused')

  // Off asks first; cancelled, nothing is sent.
  let sent = 0
  const count = (req: { url(): string; method(): string }): void => {
    if (req.method() === 'POST' && new URL(req.url()).pathname === `${API_PREFIX}/nodes/${node.id}/power`) sent++
  }
  page.on('request', count)
  await panel.getByRole('button', { name: 'Off…', exact: true }).click()
  const confirm = panel.getByRole('group', { name: 'Confirm' })
  await expect(confirm).toContainText(`Power off ${node.name} at once?`)
  await confirm.getByRole('button', { name: 'Cancel' }).click()
  await expect(confirm).toHaveCount(0)
  page.off('request', count)
  expect(sent).toBe(0)

  // The Power column: the poller's reading of the node, its failure in words under it.
  await expect.poll(async () => (await powerOf(server, node.id))?.error?.kind, { timeout: 30_000 }).toBe('refused')
  const reading = await powerOf(server, node.id)
  const cell = page.getByTestId(`power-${node.name}`)
  await expect(cell).toHaveAttribute('data-state', reading?.state ?? 'unknown', { timeout: 15_000 })
  await expect(cell.locator('.power-failure')).toHaveText(reading?.error?.message ?? '', { timeout: 15_000 })
  await expect(cell).toHaveAttribute('title', /^refused: /)
  expect(JSON.stringify(await api(server, 'GET', '/power'))).not.toContain(PASSWORD)

  // Select all, then none; then the two BMC nodes.
  const bulk = page.getByTestId('bulk-power')
  const rows = await page.getByTestId('nodes').locator('tbody tr').count()
  await page.getByRole('checkbox', { name: 'Select all nodes' }).check()
  await expect(bulk.getByRole('button', { name: `Power on ${rows} selected` })).toBeEnabled()
  await page.getByRole('checkbox', { name: 'Select all nodes' }).uncheck()
  await expect(bulk.getByRole('button', { name: 'Power on', exact: true })).toBeDisabled()
  await page.getByRole('checkbox', { name: `Select ${node.name}` }).check()
  await page.getByRole('checkbox', { name: `Select ${other.name}` }).check()

  // The bulk call is held back a moment so its progress can be seen.
  let release: () => void = () => undefined
  const held = new Promise<void>((resolve) => (release = resolve))
  await page.route(`**${API_PREFIX}/power`, async (route) => {
    if (route.request().method() === 'POST') await held
    await route.continue()
  })
  const bulkAnswered = page.waitForResponse((res) => new URL(res.url()).pathname === `${API_PREFIX}/power` && res.request().method() === 'POST')
  await bulk.getByRole('button', { name: 'Power on 2 selected' }).click()
  const running = bulk.getByRole('button', { name: 'Powering on 2 nodes…' })
  await expect(running).toBeDisabled()
  release()
  const results = z.array(PowerResultSchema).parse(await (await bulkAnswered).json())
  await page.unroute(`**${API_PREFIX}/power`)
  expect(results.map((r) => r.node_id).sort()).toEqual([node.id, other.id].sort())
  const names = new Map([
    [node.id, node.name],
    [other.id, other.name]
  ])
  const list = bulk.getByTestId('bulk-power-results')
  for (const r of results) {
    expect(r).toMatchObject({ action: 'on', ok: false, error: { kind: 'refused' } })
    await expect(list.getByTestId(`bulk-power-result-${r.node_id}`)).toHaveText(`${names.get(r.node_id) ?? ''}: ${r.error?.message ?? ''}`)
  }
  await expect(list).toContainText('0 of 2 nodes powered on; 2 failed.')
  await expect(bulk.getByRole('button', { name: 'Power on 2 selected' })).toBeEnabled()
  await attachScreenshot(page, testInfo, 'bulk-power-on')

  // Another node's page replaces this one's (its panels unmount cleanly).
  await page.getByTestId(`node-${other.name}`).getByRole('button', { name: other.name, exact: true }).click()
  await expect(panel.getByRole('heading', { name: `BMC of ${other.name}` })).toBeVisible()
  await expect(panel.getByTestId('bmc-facts')).toContainText(`${DEAD_BMC.address}:${DEAD_BMC.port}`)
  await expect(panel.getByTestId('power-error')).toHaveCount(0)
  await expect(page.getByTestId('nodes')).toBeVisible()
  expect(pageErrors).toEqual([])

  // Nowhere in the page, its markup or its fields.
  expect(await page.content()).not.toContain(PASSWORD)
  expect(await inputValues(page)).not.toContain(PASSWORD)
})

test('reads the power states every 10 s while the nodes view is shown, one read at a time, and stops when it is left', async ({ page, server }) => {
  const node = NodeSchema.parse(await api(server, 'POST', '/nodes', { name: 'poll.power.e2e', alive: false }))
  await api(server, 'PUT', `/nodes/${node.id}/bmc`, { ...DEAD_BMC, password: PASSWORD })
  let started = 0
  // Filled in by the route handler when it holds the second read.
  const gate: { release?: () => void } = {}
  const isListPower = (req: { url(): string; method(): string }): boolean => req.method() === 'GET' && new URL(req.url()).pathname === `${API_PREFIX}/power`
  page.on('request', (req) => {
    if (isListPower(req)) started++
  })
  await page.route(`**${API_PREFIX}/power`, async (route) => {
    if (gate.release === undefined && started === 2 && isListPower(route.request())) await new Promise<void>((resolve) => (gate.release = resolve))
    await route.continue()
  })
  // The page's timers run on a clock the test moves; its requests still go to the real server.
  await page.clock.install()
  await openApp(page, server, '#/nodes')
  await expect(page.getByTestId(`power-${node.name}`)).toHaveAttribute('data-state', /^(on|off|unknown)$/)
  expect(started).toBe(1)

  await page.clock.runFor(10_000)
  await expect.poll(() => started).toBe(2)
  // The second read is held at the network: however long it takes, no other starts meanwhile.
  await page.clock.runFor(60_000)
  await settle(page)
  expect(started).toBe(2)
  const answered = page.waitForResponse((res) => isListPower(res.request()))
  await expect.poll(() => gate.release !== undefined).toBe(true)
  gate.release?.()
  await answered
  await page.clock.runFor(10_000)
  await expect.poll(() => started).toBe(3)

  await page.getByRole('navigation', { name: 'Views' }).getByRole('button', { name: 'Networks' }).click()
  await expect(page.getByTestId('nodes')).toHaveCount(0)
  await page.clock.runFor(60_000)
  await settle(page)
  expect(started).toBe(3)
})
