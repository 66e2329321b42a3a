// Queue and progress: after a commit converges, the deployment's progress bar is full and the
// anneal timeline shows each node's jig runs, each opening its log.
import { DeploymentSchema } from '../src-main/model'
import { api, expect, test } from './headless-server'
import { attachScreenshot, createLab, openApp } from './renderer-page'

test('shows progress per deployment and the anneal timeline with run logs', async ({ page, server }, testInfo) => {
  const lab = await createLab(server, 'timeline', 'timeline.test', { alive: true })
  const [n1, n2] = lab.nodes
  await api(server, 'POST', `/deployments/${lab.deploymentId}/commit`)
  await expect
    .poll(async () => DeploymentSchema.parse(await api(server, 'GET', `/deployments/${lab.deploymentId}`)).state, { timeout: 15_000 })
    .toBe('active')

  await openApp(page, server, '#/queue')
  await expect(page.getByRole('progressbar', { name: 'timeline: 5 of 5 noderoles active' })).toBeVisible()
  const timeline = page.getByTestId('anneal-timeline')
  await expect(timeline.getByText(n1, { exact: true })).toBeVisible()
  await expect(timeline.getByText(n2, { exact: true })).toBeVisible()

  const run = timeline.getByRole('button', { name: new RegExp(`^test-client on ${n1.replace(/\./g, '\\.')}: done`) })
  await run.click()
  await expect(page.getByTestId('timeline-job-output')).toHaveText(`test jig: test-client on ${n1} ok`)
  await attachScreenshot(page, testInfo, 'queue')
})
