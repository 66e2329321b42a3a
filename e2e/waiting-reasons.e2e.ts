// Issue 14 point 10, "why is this waiting": a todo or blocked noderole says why, in its detail and
// in its graph card's tooltip, live; the header and the queue view count waiting noderoles by reason.
import { api, expect, test } from './headless-server'
import { attachScreenshot, card, createLab, noderolesOf, openApp } from './renderer-page'

test('a dead node’s noderoles say they wait for it, in the card tooltip, the detail, the header and the queue view', async ({ page, server }, testInfo) => {
  // Nodes created dead: committed, their noderoles wait for them.
  const lab = await createLab(server, 'waitdead', 'waitdead.test')
  const [n1] = lab.nodes
  await openApp(page, server, `#/deployments/${lab.deploymentId}`)
  await expect(card(page, 'test-library', n1)).toHaveAttribute('data-state', 'proposed')
  await expect(card(page, 'test-library', n1)).not.toHaveAttribute('data-waiting')

  // Committed while the window is open: the reason arrives live.
  await api(server, 'POST', `/deployments/${lab.deploymentId}/commit`)
  const reason = `node ${n1} is dead: its noderoles wait for it to come back`
  await expect(card(page, 'test-library', n1)).toHaveAttribute('title', `test-library on ${n1}: todo\n${reason}`)
  await expect(card(page, 'test-client', n1)).toHaveAttribute('title', `test-client on ${n1}: blocked\n${reason}`)
  await expect(card(page, 'test-client', n1)).toHaveAttribute('data-waiting', 'node_dead')

  await card(page, 'test-client', n1).click()
  const detail = page.getByTestId('noderole-detail')
  await expect(detail.getByTestId('detail-state')).toHaveText('blocked')
  await expect(detail.getByTestId('detail-waiting')).toHaveText(reason)
  await expect(page.getByTestId('annealer-waiting')).toContainText(/\d+ node dead/)
  await attachScreenshot(page, testInfo, 'dead-node-waiting')

  await page.getByRole('navigation', { name: 'Views' }).getByRole('button', { name: 'Queue' }).click()
  await expect(page.getByTestId('queue-waiting').locator('tr[data-reason="node_dead"]')).toContainText(/node dead\s*\d+/)
  await attachScreenshot(page, testInfo, 'queue-waiting')
})

test('a blocked child on another node names its parent in error', async ({ page, server }, testInfo) => {
  const lab = await createLab(server, 'waitparent', 'waitparent.test', { alive: true, bind: false })
  const [n1, n2] = lab.nodes
  const [id1, id2] = lab.nodeIds
  await api(server, 'POST', '/noderoles', { deployment_id: lab.deploymentId, node_id: id1, role: 'test-server' })
  await api(server, 'POST', '/noderoles', { deployment_id: lab.deploymentId, node_id: id2, role: 'test-client' })
  const server1 = (await noderolesOf(server, lab.deploymentId)).find((nr) => nr.role === 'test-server' && nr.node === n1)
  if (!server1) throw new Error('test-server on n1 is missing')
  await api(server, 'PUT', `/noderoles/${server1.id}/data`, { data: { test_jig: { fail: true, message: 'test jig: failing on purpose' } } })

  await openApp(page, server, `#/deployments/${lab.deploymentId}`)
  await api(server, 'POST', `/deployments/${lab.deploymentId}/commit`)
  await expect(card(page, 'test-server', n1)).toHaveAttribute('data-state', 'error', { timeout: 15_000 })
  const reason = `waiting for parent test-server@${n1}, which is error`
  const client = card(page, 'test-client', n2)
  await expect(client).toHaveAttribute('title', `test-client on ${n2}: blocked\n${reason}`)
  await expect(client).toHaveAttribute('data-waiting', 'parent')

  await client.click()
  const detail = page.getByTestId('noderole-detail')
  await expect(detail.getByRole('heading', { name: `test-client on ${n2}` })).toBeVisible()
  await expect(detail.getByTestId('detail-waiting')).toHaveText(reason)
  await attachScreenshot(page, testInfo, 'parent-in-error')
})
