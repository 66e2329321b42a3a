// Commit from the window and watch the annealer converge the graph; make a run fail through the
// user data editor, then read why in the noderole's log and its run's output.
import { api, expect, test } from './headless-server'
import { attachScreenshot, card, createLab, noderolesOf, openApp, openDeployment } from './renderer-page'

test('commit, then every noderole goes through transition to active, live', async ({ page, server }, testInfo) => {
  const lab = await createLab(server, 'converge', 'converge.test', { alive: true })
  const [n1, n2] = lab.nodes
  // Slow down the test-server that test-client on n1 waits for (its requirement brought it onto n1),
  // so its transition and the client's wait can be seen.
  const slow = (await noderolesOf(server, lab.deploymentId)).find((nr) => nr.role === 'test-server' && nr.node === n1)
  if (!slow) throw new Error('test-server on n1 is missing')
  await api(server, 'PUT', `/noderoles/${slow.id}/data`, { data: { test_jig: { delay_ms: 1500 } } })

  await openApp(page, server)
  await openDeployment(page, 'converge')
  await page.getByRole('button', { name: 'Commit', exact: true }).click()

  await expect(card(page, 'test-server', n1)).toHaveAttribute('data-state', 'transition')
  await expect(card(page, 'test-client', n1)).toHaveAttribute('data-state', 'blocked')
  // Meanwhile the other node's chain, which does not wait for it, converges.
  await expect(card(page, 'test-server', n2)).toHaveAttribute('data-state', 'active')
  await attachScreenshot(page, testInfo, 'converging')
  for (const nr of await noderolesOf(server, lab.deploymentId)) {
    await expect(card(page, nr.role, nr.node), `${nr.role} on ${nr.node}`).toHaveAttribute('data-state', 'active', { timeout: 15_000 })
  }
  await expect(page.getByTestId('deployment-state')).toHaveText('active')
  await expect(page.getByRole('progressbar', { name: 'converge: 5 of 5 noderoles active' })).toBeVisible()
  await attachScreenshot(page, testInfo, 'converged')
})

test('a failing run shows error, blocks its children, and its log says why', async ({ page, server }, testInfo) => {
  const lab = await createLab(server, 'failing', 'fail.test', { alive: true })
  const [n1, n2] = lab.nodes
  const message = 'test jig: disk sdb is missing; replace it and retry'
  await openApp(page, server)
  await openDeployment(page, 'failing')

  // Through the window: open the test-server that test-client on n1 requires, and give it user data
  // that makes its run fail.
  await card(page, 'test-server', n1).click()
  const detail = page.getByTestId('noderole-detail')
  await expect(detail.getByRole('heading', { name: `test-server on ${n1}` })).toBeVisible()
  await detail.getByLabel('JSON object set by the operator').fill(JSON.stringify({ test_jig: { fail: true, message } }))
  await detail.getByRole('button', { name: 'Save user data' }).click()
  await expect(detail.getByRole('status')).toHaveText('Saved.')

  await page.getByRole('button', { name: 'Commit', exact: true }).click()
  await expect(card(page, 'test-server', n1)).toHaveAttribute('data-state', 'error', { timeout: 15_000 })
  await expect(card(page, 'test-client', n1)).toHaveAttribute('data-state', 'blocked')
  // The other node is not held up by n1's error.
  await expect(card(page, 'test-server', n2)).toHaveAttribute('data-state', 'active')
  await expect(detail.getByTestId('detail-state')).toHaveText('error')
  await expect(detail.getByTestId('runlog')).toContainText(message)
  await expect(page.getByTestId('deployment-state')).toHaveText('error')

  // The run's captured output, from the runs table.
  const runs = detail.getByTestId('noderole-runs')
  await expect(runs.getByRole('cell', { name: 'failed', exact: true })).toBeVisible()
  await runs.getByRole('button', { name: /^Show log of job/ }).first().click()
  await expect(detail.getByTestId('job-output')).toContainText(message)
  // The user layer of its attributes holds what was set.
  await detail.getByRole('button', { name: 'User', exact: true }).click()
  await expect(detail.getByTestId('layer-user')).toContainText('disk sdb is missing')
  await attachScreenshot(page, testInfo, 'error-log')

  // Retry is offered (and refused runs fail again the same way, since the data is unchanged).
  await detail.getByRole('button', { name: 'Retry', exact: true }).click()
  await expect(detail.getByTestId('noderole-runs').getByRole('cell', { name: 'failed', exact: true })).toHaveCount(2, { timeout: 15_000 })
})

test('fixing an errored noderole is one step: propose, edit its data, commit, and it runs again (no retry)', async ({ page, server }, testInfo) => {
  const lab = await createLab(server, 'fixing', 'fix.test', { alive: true })
  const [n1] = lab.nodes
  const broken = (await noderolesOf(server, lab.deploymentId)).find((nr) => nr.role === 'test-server' && nr.node === n1)
  if (!broken) throw new Error('test-server on n1 is missing')
  await api(server, 'PUT', `/noderoles/${broken.id}/data`, { data: { test_jig: { fail: true, message: 'wrong port' } } })
  await api(server, 'POST', `/deployments/${lab.deploymentId}/commit`, {})

  await openApp(page, server)
  await openDeployment(page, 'fixing')
  await expect(card(page, 'test-server', n1)).toHaveAttribute('data-state', 'error', { timeout: 15_000 })
  await page.getByRole('button', { name: 'Propose', exact: true }).click()
  await expect(page.getByTestId('deployment-state')).toHaveText('proposed')
  await card(page, 'test-server', n1).click()
  const detail = page.getByTestId('noderole-detail')
  await detail.getByLabel('JSON object set by the operator').fill(JSON.stringify({ port: 8080 }))
  await detail.getByRole('button', { name: 'Save user data' }).click()
  await expect(detail.getByRole('status')).toHaveText('Saved.')
  await page.getByRole('button', { name: 'Commit', exact: true }).click()

  // No Retry pressed: the commit alone runs it again with the fixed data, and the client after it.
  await expect(card(page, 'test-server', n1)).toHaveAttribute('data-state', 'active', { timeout: 15_000 })
  await expect(card(page, 'test-client', n1)).toHaveAttribute('data-state', 'active', { timeout: 15_000 })
  await expect(detail.getByTestId('noderole-runs').getByRole('cell', { name: 'done', exact: true })).toHaveCount(1)
  await expect(detail.getByTestId('noderole-runs').getByRole('cell', { name: 'failed', exact: true })).toHaveCount(1)
  await attachScreenshot(page, testInfo, 'fixed-by-commit')
})

test('deployment-role data is edited in the window and reaches every noderole of the role on commit', async ({ page, server }) => {
  const lab = await createLab(server, 'roledata', 'roledata.test', { alive: true })
  await api(server, 'POST', `/deployments/${lab.deploymentId}/commit`, {})
  await openApp(page, server)
  await openDeployment(page, 'roledata')
  for (const nr of await noderolesOf(server, lab.deploymentId)) {
    await expect(card(page, nr.role, nr.node)).toHaveAttribute('data-state', 'active', { timeout: 15_000 })
  }
  await page.getByRole('button', { name: 'Propose', exact: true }).click()
  const panel = page.getByTestId('deployment-role-data')
  await panel.locator('summary').click()
  await panel.getByLabel('Role', { exact: true }).selectOption('test-server')
  await panel.getByLabel(/Data every test-server noderole in roledata reads/).fill(JSON.stringify({ listen: { port: 8443 } }))
  await panel.getByRole('button', { name: 'Save role data' }).click()
  await expect(panel.getByRole('status')).toHaveText('Saved.')
  await page.getByRole('button', { name: 'Commit', exact: true }).click()

  // Both test-server noderoles read it, and ran again with it.
  const servers = (await noderolesOf(server, lab.deploymentId)).filter((nr) => nr.role === 'test-server')
  expect(servers).toHaveLength(2)
  for (const nr of servers) {
    await expect
      .poll(async () => {
        const detail = (await api(server, 'GET', `/noderoles/${nr.id}`)) as { state: string; run_count: number; attributes: { merged: Record<string, unknown> } }
        return { state: detail.state, runs: detail.run_count, listen: detail.attributes.merged.listen }
      }, { timeout: 15_000 })
      .toEqual({ state: 'active', runs: 2, listen: { port: 8443 } })
  }

  // Re-run on demand, from the noderole's details: it runs a third time.
  const [n1] = lab.nodes
  await card(page, 'test-server', n1).click()
  const detail = page.getByTestId('noderole-detail')
  await expect(detail.getByTestId('detail-state')).toHaveText('active')
  await detail.getByRole('button', { name: 'Re-run', exact: true }).click()
  await expect(detail.getByTestId('noderole-runs').getByRole('cell', { name: 'done', exact: true })).toHaveCount(3, { timeout: 15_000 })
  await expect(detail.getByTestId('detail-state')).toHaveText('active')
})
