// The built renderer in Chromium against a real headless server: what the API holds is what the
// page shows, changes arrive live over the event stream, and API errors reach the user.
import { EVENTS_PATH } from '../src-main/api/http-routes'
import { api, expect, test } from './headless-server'
import { appUrl, attachScreenshot, card, createLab, deploymentButton, noderolesOf, openApp, openDeployment } from './renderer-page'

test('shows the system deployment, nodes and noderoles from the API', async ({ page, server }, testInfo) => {
  const lab = await createLab(server, 'lab', 'lab.test')
  const [n1, n2] = lab.nodes

  await openApp(page, server)

  await expect(deploymentButton(page, 'system')).toBeVisible()
  await expect(deploymentButton(page, 'lab', 'proposed')).toBeVisible()

  // Both bound roles, and the same-node library each one requires.
  const apiNoderoles = await noderolesOf(server, lab.deploymentId)
  const pairs = apiNoderoles.map((nr) => `${nr.role}@${nr.node}`)
  expect(pairs).toEqual(
    expect.arrayContaining([`test-client@${n1}`, `test-library@${n1}`, `test-server@${n2}`, `test-library@${n2}`])
  )

  await openDeployment(page, 'lab')
  await expect(page.getByTestId('noderole-graph')).toHaveAttribute('data-noderoles', String(apiNoderoles.length))
  for (const nr of apiNoderoles) {
    await expect(card(page, nr.role, nr.node), `${nr.role} on ${nr.node}`).toHaveAttribute('data-state', 'proposed')
  }
  await attachScreenshot(page, testInfo, 'deployment')

  await page.getByRole('navigation', { name: 'Views' }).getByRole('button', { name: 'Nodes' }).click()
  const nodes = page.getByTestId('nodes')
  await expect(nodes.getByRole('cell', { name: n1, exact: true })).toBeVisible()
  await expect(nodes.getByRole('cell', { name: n2, exact: true })).toBeVisible()
  await attachScreenshot(page, testInfo, 'nodes')
})

test('updates live when the deployment is committed', async ({ page, server }, testInfo) => {
  const lab = await createLab(server, 'live', 'live.test')
  const [n1, n2] = lab.nodes
  const before = await noderolesOf(server, lab.deploymentId)

  await openApp(page, server)
  await openDeployment(page, 'live')
  for (const nr of before) await expect(card(page, nr.role, nr.node)).toHaveAttribute('data-state', 'proposed')

  await api(server, 'POST', `/deployments/${lab.deploymentId}/commit`)

  // The nodes are dead, so nothing runs: noderoles without parents wait in todo, the rest are blocked.
  await expect(card(page, 'test-library', n1)).toHaveAttribute('data-state', 'todo')
  await expect(card(page, 'test-library', n2)).toHaveAttribute('data-state', 'todo')
  await expect(card(page, 'test-server', n2)).toHaveAttribute('data-state', 'blocked')
  await expect(card(page, 'test-client', n1)).toHaveAttribute('data-state', 'blocked')
  for (const nr of before) {
    const expected = nr.parents.length === 0 ? 'todo' : 'blocked'
    await expect(card(page, nr.role, nr.node), `${nr.role} on ${nr.node}`).toHaveAttribute('data-state', expected)
  }
  await expect(deploymentButton(page, 'live', 'committed')).toBeVisible()
  await expect(page.getByTestId('deployment-state')).toHaveText('committed')
  await attachScreenshot(page, testInfo, 'committed')
})

test("shows the API's message when a call fails", async ({ page, server }, testInfo) => {
  // Only the browser's request is intercepted; the server stays real and healthy.
  await page.route(
    (url) => url.pathname === '/api/v2/nodes',
    (route) =>
      route.fulfill({
        status: 409,
        contentType: 'application/json',
        body: JSON.stringify({ error: { kind: 'conflict', message: 'simulated: store is locked' } })
      })
  )

  await page.goto(appUrl(server))

  await expect(page.getByRole('alert')).toHaveText('simulated: store is locked')
  await attachScreenshot(page, testInfo, 'api-error')
})

test('says so when the live connection is lost, and recovers when it is back', async ({ page, server }, testInfo) => {
  // The event stream is refused (as by a server that went away); every other call still works.
  const refuse = (url: URL): boolean => url.pathname === EVENTS_PATH
  await page.route(refuse, (route) => route.fulfill({ status: 503, body: 'unavailable' }))
  await page.goto(appUrl(server))
  await expect(page.getByRole('alert')).toHaveText(
    'Lost the live connection to the Crowbar server: retrying. What is shown may be out of date until it is back.'
  )
  await attachScreenshot(page, testInfo, 'stream-lost')

  await page.unroute(refuse)
  await expect(page.getByRole('alert')).toHaveCount(0, { timeout: 15_000 })
  await expect(deploymentButton(page, 'system')).toBeVisible()
})

test('opens from the printed URL only: the token leaves the address bar, a reload keeps it, a tab without it says what to open', async ({ page, browser, server }, testInfo) => {
  await openApp(page, server, '#/nodes')
  expect(new URL(page.url()).hash).toBe('#/nodes')
  expect(page.url()).not.toContain(server.token)
  await expect(page.getByRole('heading', { level: 2, name: 'Nodes' })).toBeVisible()
  await page.reload()
  await expect(page.getByRole('heading', { level: 2, name: 'Nodes' })).toBeVisible()

  // Another tab (another browser context: its own session storage) opened on the bare address.
  const context = await browser.newContext()
  const bare = await context.newPage()
  await bare.goto(`${server.url}/#/nodes`)
  await expect(bare.getByTestId('missing-token')).toContainText('#token=')
  await attachScreenshot(bare, testInfo, 'missing-token')
  await context.close()
})
