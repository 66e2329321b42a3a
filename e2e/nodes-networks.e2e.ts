// The nodes view (availability switch, bootenv) and the networks editor, whose validation
// messages come from the API.
import { NetworkSchema, NodeSchema } from '../src-main/model'
import { api, expect, test } from './headless-server'
import { attachScreenshot, createLab, openApp } from './renderer-page'

test('toggles a node’s availability and sets its bootenv', async ({ page, server }, testInfo) => {
  const lab = await createLab(server, 'avail', 'avail.test', { bind: false })
  const [n1] = lab.nodes
  const [id1] = lab.nodeIds
  await openApp(page, server, '#/nodes')

  const available = page.getByRole('switch', { name: `${n1} available` })
  await expect(available).toHaveAttribute('aria-checked', 'true')
  await available.click()
  await expect(available).toHaveAttribute('aria-checked', 'false')
  await expect(available).toHaveText('not available')
  expect(NodeSchema.parse(await api(server, 'GET', `/nodes/${id1}`)).available).toBe(false)
  await attachScreenshot(page, testInfo, 'unavailable')

  await available.click()
  await expect(available).toHaveAttribute('aria-checked', 'true')
  expect(NodeSchema.parse(await api(server, 'GET', `/nodes/${id1}`)).available).toBe(true)

  const bootenv = page.getByRole('combobox', { name: `${n1} bootenv` })
  await bootenv.fill('local')
  await page.getByTestId(`node-${n1}`).getByRole('button', { name: 'Set' }).click()
  await expect(page.getByRole('combobox', { name: `${n1} bootenv` })).toHaveValue('local')
  await expect.poll(async () => NodeSchema.parse(await api(server, 'GET', `/nodes/${id1}`)).bootenv).toBe('local')
})

test('a network with a bad range is refused with the API’s message, then saved once fixed', async ({ page, server }, testInfo) => {
  const network = NetworkSchema.parse(
    await api(server, 'POST', '/networks', {
      name: 'storage-e2e',
      category: 'storage',
      v4_subnet: '10.20.0.0/24',
      ranges: [{ name: 'host', first: '10.20.0.10', last: '10.20.0.100' }]
    })
  )
  await openApp(page, server, '#/networks')
  await page.getByTestId('networks').getByRole('button', { name: /^storage-e2e/ }).click()
  const editor = page.getByTestId('network-editor')
  await expect(editor.getByRole('heading', { name: 'Network storage-e2e' })).toBeVisible()

  await editor.getByRole('textbox', { name: 'Range 1 first address' }).fill('10.20.0.200')
  await editor.getByRole('button', { name: 'Save network' }).click()
  await expect(editor.getByTestId('network-error')).toHaveText(
    'network storage-e2e is not valid: ranges[0] (host): first 10.20.0.200 comes after last 10.20.0.100'
  )
  await attachScreenshot(page, testInfo, 'network-refused')
  // Nothing was saved.
  const unchanged = NetworkSchema.parse(await api(server, 'GET', `/networks/${network.id}`))
  expect(unchanged.ranges[0]?.first).toBe('10.20.0.10')

  // A range outside the subnet is refused too; a router needs a numeric preference (checked here).
  await editor.getByRole('textbox', { name: 'Range 1 first address' }).fill('10.21.0.10')
  await editor.getByRole('textbox', { name: 'Range 1 last address' }).fill('10.21.0.20')
  await editor.getByRole('button', { name: 'Save network' }).click()
  await expect(editor.getByTestId('network-error')).toContainText('is outside 10.20.0.0/24')

  await editor.getByRole('textbox', { name: 'Range 1 first address' }).fill('10.20.0.20')
  await editor.getByRole('textbox', { name: 'Range 1 last address' }).fill('10.20.0.120')
  await editor.getByRole('button', { name: 'Add router' }).click()
  await editor.getByRole('textbox', { name: 'Router 1 address' }).fill('10.20.0.1')
  await editor.getByRole('button', { name: 'Save network' }).click()
  await expect(editor.getByRole('status')).toHaveText('Saved storage-e2e.')
  await expect(editor.getByTestId('network-error')).toHaveCount(0)
  const saved = NetworkSchema.parse(await api(server, 'GET', `/networks/${network.id}`))
  expect(saved.ranges).toEqual([{ name: 'host', family: 4, first: '10.20.0.20', last: '10.20.0.120' }])
  expect(saved.routers).toEqual([{ family: 4, address: '10.20.0.1', pref: 10 }])
})
