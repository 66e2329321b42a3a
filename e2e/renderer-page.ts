// What the renderer tests share: labs built through the real API, opening the app with its change
// stream connected, finding noderoles in the graph, and screenshots attached to the test's artifacts.
import type { Locator, Page, TestInfo } from '@playwright/test'
import { z } from 'zod'
import { DeploymentSchema, NodeRoleSchema, NodeSchema, type NodeRole } from '../src-main/model'
import { EVENTS_PATH } from '../src-main/api/http-routes'
import { api, type ApiServer } from './headless-server'

export interface Lab {
  readonly deploymentId: number
  readonly name: string
  readonly nodes: readonly [string, string]
  readonly nodeIds: readonly [number, number]
}

/**
 * A proposed deployment with two nodes: test-client bound on the first (which brings its
 * test-library and a test-server there too), then test-server on the second (with its own
 * test-library). Each test builds its own under unique names, so none relies on another's data.
 * `alive` nodes are annealed once the deployment is committed; dead ones wait.
 */
export async function createLab(url: ApiServer, name: string, domain: string, options: { alive?: boolean; bind?: boolean } = {}): Promise<Lab> {
  const deployment = DeploymentSchema.parse(await api(url, 'POST', '/deployments', { name }))
  const alive = options.alive ?? false
  const node1 = NodeSchema.parse(await api(url, 'POST', '/nodes', { name: `n1.${domain}`, alive }))
  const node2 = NodeSchema.parse(await api(url, 'POST', '/nodes', { name: `n2.${domain}`, alive }))
  if (options.bind ?? true) {
    await api(url, 'POST', '/noderoles', { deployment_id: deployment.id, node_id: node1.id, role: 'test-client' })
    await api(url, 'POST', '/noderoles', { deployment_id: deployment.id, node_id: node2.id, role: 'test-server' })
  }
  return { deploymentId: deployment.id, name, nodes: [node1.name, node2.name], nodeIds: [node1.id, node2.id] }
}

export async function noderolesOf(url: ApiServer, deploymentId: number): Promise<NodeRole[]> {
  return z.array(NodeRoleSchema).parse(await api(url, 'GET', `/noderoles?deployment_id=${deploymentId}`))
}

/**
 * Opens the app as an engineer does, at the URL `crowbar serve` printed (its `#token=` fragment),
 * at the place `hash` names (e.g. '#/nodes'), and waits until the change stream is connected, so
 * no later change is missed.
 */
export async function openApp(page: Page, server: ApiServer, hash = ''): Promise<void> {
  const streamOpen = page.waitForResponse((res) => new URL(res.url()).pathname === EVENTS_PATH)
  await page.goto(appUrl(server, hash))
  await streamOpen
}

/** The printed URL's shape: the token in the fragment, then (after `&`) the view's place. */
export function appUrl(server: ApiServer, hash = ''): string {
  return `${server.url}/#token=${server.token}${hash ? `&${hash.replace(/^#/, '')}` : ''}`
}

export function deploymentButton(page: Page, name: string, state?: string): Locator {
  const tree = page.getByTestId('deployments')
  return state === undefined ? tree.getByRole('button', { name: new RegExp(`^${name} `) }) : tree.getByRole('button', { name: `${name} ${state}`, exact: true })
}

/** Opens a deployment from the tree. */
export async function openDeployment(page: Page, name: string): Promise<void> {
  await deploymentButton(page, name).click()
  await page.getByRole('heading', { level: 2, name, exact: true }).waitFor()
}

/** One noderole's card in the graph; its `data-state` attribute is its state. */
export function card(page: Page, role: string, node: string): Locator {
  return page.getByTestId('noderole-graph').getByTestId(`noderole-${role}@${node}`)
}

export async function attachScreenshot(page: Page, testInfo: TestInfo, name: string): Promise<void> {
  const path = testInfo.outputPath(`${name}.png`)
  await page.screenshot({ path })
  await testInfo.attach(name, { path, contentType: 'image/png' })
}
