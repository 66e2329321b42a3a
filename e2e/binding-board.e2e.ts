// The binding board: drag a node onto a role (or bind it from the keyboard) and the proposed
// noderoles appear in the graph, the ones brought by requirements marked as such; a refused drop
// is explained in the API's words; a proposed binding can be removed.
import { expect, test } from './headless-server'
import { attachScreenshot, card, createLab, noderolesOf, openApp, openDeployment } from './renderer-page'

test('dragging a node onto a role proposes the noderole and those it requires', async ({ page, server }, testInfo) => {
  const lab = await createLab(server, 'dragging', 'drag.test', { bind: false })
  const [n1] = lab.nodes
  await openApp(page, server)
  await openDeployment(page, 'dragging')
  await expect(page.getByTestId('noderole-graph-empty')).toBeVisible()

  // As an engineer with a long palette would: filter both lists, so source and target are in view
  // (a drag that must scroll the page mid-way is dropped by HTML5 drag and drop).
  await page.getByRole('searchbox', { name: 'Filter nodes' }).fill('drag.test')
  await page.getByRole('searchbox', { name: 'Filter roles' }).fill('test-client')
  const chip = page.getByTestId('node-palette').getByRole('button', { name: n1 })
  await chip.dragTo(page.getByTestId('role-test-client'))
  await page.getByRole('searchbox', { name: 'Filter roles' }).fill('')

  // The dropped role, and what its requirements brought onto the same node.
  await expect(card(page, 'test-client', n1)).toHaveAttribute('data-state', 'proposed')
  await expect(card(page, 'test-library', n1)).toHaveAttribute('data-state', 'proposed')
  await expect(card(page, 'test-server', n1)).toHaveAttribute('data-state', 'proposed')
  await expect(page.getByTestId('board-status')).toHaveText(
    `Proposed test-client on ${n1}; added for its requirements: test-library on ${n1}, test-server on ${n1}.`
  )
  await expect(page.getByTestId(`bound-test-server@${n1}`)).toContainText('required by test-client')
  await expect(page.getByTestId(`bound-test-library@${n1}`)).toContainText('required by')
  const api = await noderolesOf(server, lab.deploymentId)
  expect(api.map((nr) => nr.role).sort()).toEqual(['test-client', 'test-library', 'test-server'])
  await attachScreenshot(page, testInfo, 'after-drop')

  // Removing the proposed binding takes it out of the graph (its requirements stay).
  await page.getByRole('button', { name: `Remove test-client from ${n1}` }).click()
  await expect(card(page, 'test-client', n1)).toHaveCount(0)
  await expect(card(page, 'test-server', n1)).toHaveAttribute('data-state', 'proposed')
  await expect(page.getByTestId('board-status')).toHaveText(`Removed test-client on ${n1}.`)
})

test('binds from the keyboard: select a node, then press a role’s Bind button', async ({ page, server }, testInfo) => {
  const lab = await createLab(server, 'keyboard', 'keys.test', { bind: false })
  const [, n2] = lab.nodes
  await openApp(page, server)
  await openDeployment(page, 'keyboard')

  const chip = page.getByTestId('node-palette').getByRole('button', { name: n2 })
  await chip.focus()
  await page.keyboard.press('Enter')
  await expect(chip).toHaveAttribute('aria-pressed', 'true')

  const bind = page.getByTestId('role-test-server').getByRole('button', { name: `Bind ${n2}` })
  await bind.focus()
  await page.keyboard.press('Enter')
  await expect(card(page, 'test-server', n2)).toHaveAttribute('data-state', 'proposed')
  await expect(card(page, 'test-library', n2)).toHaveAttribute('data-state', 'proposed')

  // Escape on the chip lets go of the node: the Bind buttons go away.
  await chip.focus()
  await page.keyboard.press('Escape')
  await expect(page.getByRole('button', { name: `Bind ${n2}` })).toHaveCount(0)

  // A card in the graph opens from the keyboard too (focus it, Enter), and Escape closes it.
  await page.getByRole('group', { name: `test-server on ${n2}: proposed` }).focus()
  await page.keyboard.press('Enter')
  const detail = page.getByTestId('noderole-detail')
  await expect(detail.getByRole('heading', { name: `test-server on ${n2}` })).toBeVisible()
  await attachScreenshot(page, testInfo, 'keyboard-bound')
  await page.keyboard.press('Escape')
  await expect(detail).toHaveCount(0)
})

test('a drop the API refuses is explained in words', async ({ page, server }, testInfo) => {
  const lab = await createLab(server, 'refusal', 'refuse.test', { bind: false })
  const [n1] = lab.nodes
  await openApp(page, server)
  await openDeployment(page, 'system')
  await expect(page.getByTestId('binding-board')).toContainText('The system deployment takes no new bindings')
  // The shared server holds every earlier test's nodes and roles: narrow both lists, as an engineer
  // would on a big rack, so the drag starts and ends in view.
  await page.getByPlaceholder('Filter nodes').fill(n1)
  await page.getByPlaceholder('Filter roles').fill('test-server')

  await page.getByTestId('node-palette').getByRole('button', { name: n1 }).dragTo(page.getByTestId('role-test-server'))

  await expect(page.getByTestId('board-error')).toHaveText(
    `Cannot bind test-server to ${n1}: deployment system is committed: propose it before binding roles`
  )
  await attachScreenshot(page, testInfo, 'refused-drop')
  await page.getByRole('button', { name: 'Dismiss the message' }).click()
  await expect(page.getByTestId('board-error')).toHaveCount(0)
})
