// The built renderer in Chromium against a real headless server: what the API holds is what the
// page shows, changes arrive live over the event stream, and API errors reach the user.
import type { Locator, Page } from '@playwright/test'
import { z } from 'zod'
import { DeploymentSchema, NodeRoleSchema, NodeSchema, type NodeRole } from '../src-main/api/contract'
import { EVENTS_PATH } from '../src-main/api/http-routes'
import { api, expect, test } from './headless-server'

interface Lab {
  readonly deploymentId: number
  readonly nodes: readonly [string, string]
}

/**
 * A proposed deployment with two nodes: test-client bound on the first (which brings its
 * test-library and a test-server there too), then test-server on the second (with its own
 * test-library). Each test builds its own under unique names, so none relies on another's data.
 */
async function createLab(url: string, name: string, domain: string): Promise<Lab> {
  const deployment = DeploymentSchema.parse(await api(url, 'POST', '/deployments', { name }))
  const node1 = NodeSchema.parse(await api(url, 'POST', '/nodes', { name: `n1.${domain}` }))
  const node2 = NodeSchema.parse(await api(url, 'POST', '/nodes', { name: `n2.${domain}` }))
  await api(url, 'POST', '/noderoles', { deployment_id: deployment.id, node_id: node1.id, role: 'test-client' })
  await api(url, 'POST', '/noderoles', { deployment_id: deployment.id, node_id: node2.id, role: 'test-server' })
  return { deploymentId: deployment.id, nodes: [node1.name, node2.name] }
}

async function noderolesOf(url: string, deploymentId: number): Promise<NodeRole[]> {
  return z.array(NodeRoleSchema).parse(await api(url, 'GET', `/noderoles?deployment_id=${deploymentId}`))
}

/** The noderoles table's row for one role on one node. */
function noderoleRow(page: Page, role: string, node: string): Locator {
  return page
    .getByTestId('noderoles')
    .locator('tbody tr')
    .filter({ has: page.getByRole('cell', { name: role, exact: true }) })
    .filter({ has: page.getByRole('cell', { name: node, exact: true }) })
}

/** Columns: Role, Node, State, Cohort. */
const stateCell = (row: Locator): Locator => row.getByRole('cell').nth(2)

/** Opens the app and waits until the change stream is connected, so no later change is missed. */
async function openApp(page: Page, url: string): Promise<void> {
  const streamOpen = page.waitForResponse((res) => new URL(res.url()).pathname === EVENTS_PATH)
  await page.goto(url)
  await streamOpen
}

test('shows the system deployment, nodes and noderoles from the API', async ({ page, server }, testInfo) => {
  const lab = await createLab(server.url, 'lab', 'lab.test')
  const [n1, n2] = lab.nodes

  await openApp(page, server.url)

  const deployments = page.getByTestId('deployments')
  await expect(deployments.getByRole('button', { name: /^system\b/ })).toBeVisible()
  await expect(deployments.getByRole('button', { name: 'lab proposed', exact: true })).toBeVisible()

  const nodes = page.getByTestId('nodes')
  await expect(nodes.getByRole('cell', { name: n1, exact: true })).toBeVisible()
  await expect(nodes.getByRole('cell', { name: n2, exact: true })).toBeVisible()

  // Both bound roles, and the same-node library each one requires.
  const apiNoderoles = await noderolesOf(server.url, lab.deploymentId)
  const pairs = apiNoderoles.map((nr) => `${nr.role}@${nr.node}`)
  expect(pairs).toEqual(
    expect.arrayContaining([`test-client@${n1}`, `test-library@${n1}`, `test-server@${n2}`, `test-library@${n2}`])
  )

  await deployments.getByRole('button', { name: 'lab proposed', exact: true }).click()
  await expect(page.getByTestId('noderoles').locator('tbody tr')).toHaveCount(apiNoderoles.length)
  for (const nr of apiNoderoles) {
    await expect(stateCell(noderoleRow(page, nr.role, nr.node)), `${nr.role} on ${nr.node}`).toHaveText('proposed')
  }

  const screenshot = testInfo.outputPath('renderer.png')
  await page.screenshot({ path: screenshot, fullPage: true })
  await testInfo.attach('renderer', { path: screenshot, contentType: 'image/png' })
})

test('updates live when the deployment is committed', async ({ page, server }) => {
  const lab = await createLab(server.url, 'live', 'live.test')
  const [n1, n2] = lab.nodes
  const before = await noderolesOf(server.url, lab.deploymentId)

  await openApp(page, server.url)
  await page.getByTestId('deployments').getByRole('button', { name: 'live proposed', exact: true }).click()
  await expect(page.getByTestId('noderoles').locator('tbody tr')).toHaveCount(before.length)
  for (const nr of before) await expect(stateCell(noderoleRow(page, nr.role, nr.node))).toHaveText('proposed')

  await api(server.url, 'POST', `/deployments/${lab.deploymentId}/commit`)

  // Nothing is active yet, so only noderoles without parents can run (todo); the rest wait (blocked).
  await expect(stateCell(noderoleRow(page, 'test-library', n1))).toHaveText('todo')
  await expect(stateCell(noderoleRow(page, 'test-library', n2))).toHaveText('todo')
  await expect(stateCell(noderoleRow(page, 'test-server', n2))).toHaveText('blocked')
  await expect(stateCell(noderoleRow(page, 'test-client', n1))).toHaveText('blocked')
  for (const nr of before) {
    const expected = nr.parents.length === 0 ? 'todo' : 'blocked'
    await expect(stateCell(noderoleRow(page, nr.role, nr.node)), `${nr.role} on ${nr.node}`).toHaveText(expected)
  }
  await expect(page.getByTestId('deployments').getByRole('button', { name: 'live committed', exact: true })).toBeVisible()
})

test("shows the API's message when a call fails", async ({ page, server }) => {
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

  await page.goto(server.url)

  await expect(page.getByRole('alert')).toHaveText('simulated: store is locked')
})
