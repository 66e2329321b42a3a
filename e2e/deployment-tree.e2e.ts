// The deployment tree: create deployments under a parent, commit and propose them again; a
// refused creation says why.
import { expect, test } from './headless-server'
import { attachScreenshot, deploymentButton, openApp } from './renderer-page'

test('creates nested deployments, commits and proposes again', async ({ page, server }, testInfo) => {
  await openApp(page, server)
  const form = page.getByRole('form', { name: 'New deployment' })

  await form.getByLabel('Name').fill('tree-e2e')
  await form.getByLabel('Parent').selectOption({ label: 'system' })
  await form.getByRole('button', { name: 'Create' }).click()
  await expect(page.getByRole('heading', { level: 2, name: 'tree-e2e', exact: true })).toBeVisible()
  await expect(deploymentButton(page, 'tree-e2e', 'proposed')).toHaveAttribute('aria-pressed', 'true')

  // The form's parent follows the selected deployment: this one goes under tree-e2e.
  await form.getByLabel('Name').fill('tree-child')
  await form.getByRole('button', { name: 'Create' }).click()
  // The innermost list item holding tree-e2e's button is tree-e2e's own (system's holds it too).
  const parentItem = page.getByTestId('deployments').getByRole('listitem').filter({ has: page.getByRole('button', { name: /^tree-e2e / }) }).last()
  await expect(parentItem.getByRole('button', { name: 'tree-child proposed', exact: true })).toBeVisible()
  await expect(page.getByText('under tree-e2e')).toBeVisible()

  // A name in use is refused, in the API's words.
  await form.getByLabel('Name').fill('tree-e2e')
  await form.getByRole('button', { name: 'Create' }).click()
  await expect(form.getByRole('alert')).toHaveText('a deployment named tree-e2e already exists; choose another name')

  // Commit the (empty) parent: nothing to converge, so it is active at once; then propose again.
  await deploymentButton(page, 'tree-e2e').click()
  await page.getByRole('button', { name: 'Commit', exact: true }).click()
  await expect(deploymentButton(page, 'tree-e2e', 'active')).toBeVisible()
  await expect(page.getByTestId('deployment-state')).toHaveText('active')
  await page.getByRole('button', { name: 'Propose', exact: true }).click()
  await expect(deploymentButton(page, 'tree-e2e', 'proposed')).toBeVisible()
  await expect(page.getByRole('button', { name: 'Commit', exact: true })).toBeVisible()
  await attachScreenshot(page, testInfo, 'tree')

  // The system deployment can never be proposed: no Propose button is offered there.
  await deploymentButton(page, 'system').click()
  await expect(page.getByRole('heading', { level: 2, name: 'system', exact: true })).toBeVisible()
  await expect(page.getByRole('button', { name: 'Propose', exact: true })).toHaveCount(0)
})

test('discards a proposal and deletes a deployment, each after asking once more', async ({ page, server }, testInfo) => {
  await openApp(page, server)
  const form = page.getByRole('form', { name: 'New deployment' })
  await deploymentButton(page, 'system').click()
  await form.getByLabel('Name').fill('discard-e2e')
  await form.getByLabel('Parent').selectOption({ label: 'system' })
  await form.getByRole('button', { name: 'Create' }).click()
  await expect(page.getByRole('heading', { level: 2, name: 'discard-e2e', exact: true })).toBeVisible()

  await page.getByRole('button', { name: 'Discard proposal' }).click()
  await page.getByRole('button', { name: 'Really discard?' }).click()
  await expect(page.getByTestId('deployment-state')).toHaveText('active')
  await expect(page.getByRole('button', { name: 'Propose', exact: true })).toBeVisible()

  await page.getByRole('button', { name: 'Delete', exact: true }).click()
  await page.getByRole('button', { name: 'Really delete?' }).click()
  await expect(page.getByTestId('deployments').getByRole('button', { name: /^discard-e2e / })).toHaveCount(0)
  await attachScreenshot(page, testInfo, 'deleted')
})
