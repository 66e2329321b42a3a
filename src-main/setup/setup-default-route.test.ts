// An interface that holds this machine's default route faces the office network: the install
// wizard (check and complete) and the boot services refuse it with a 409 saying why, and serve it
// once the operator confirms (and on later --wizard starts). The route is a last-resort default (the highest metric) on the host
// end of a veth pair into a namespace we create: it goes with the veth and never wins over the
// machine's own. Root.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { invokeOperation } from '../api/operations'
import { startApp, type AppOptions, type CrowbarApp } from '../app'
import { createRootLogger } from '../base/log'
import { defaultRouteInterfaces } from '../services/preflight/preflight'
import { createTestLink, run, type TestLink } from '../testing/test-link'

describe('an interface holding the default route', () => {
  let link: TestLink
  let dir: string
  const apps: CrowbarApp[] = []
  const start = async (options: Pick<AppOptions, 'wizard' | 'boot' | 'bootstrap'>): Promise<CrowbarApp> => {
    const app = await startApp({ dataDir: join(dir, 'data'), logger: createRootLogger('silent'), anneal: false, ...options })
    apps.push(app)
    return app
  }
  const refusal = (iface: string): string => `interface ${iface} holds this machine's default route: it faces your office network`

  beforeEach(async () => {
    link = await createTestLink()
    dir = await mkdtemp(join(tmpdir(), 'crowbar-default-route-'))
    const added = await run('ip', ['route', 'add', 'default', 'via', `${link.prefix}2`, 'dev', link.hostIf, 'metric', '4000000000'])
    expect(added.code, added.stderr).toBe(0)
    expect(defaultRouteInterfaces()).toContain(link.hostIf)
  })
  afterEach(async () => {
    for (const app of apps.splice(0)) await app.stop()
    await link?.stop()
    if (dir) await rm(dir, { recursive: true, force: true })
  })

  it('is refused by the wizard’s check and complete (409, nothing written) and served once confirmed', async () => {
    const app = await start({ wizard: true, boot: { proxyDhcp: false, ports: { http: 0, dns: 0 } } })
    const proposal = (await app.handlers.getSetup({})).interfaces.find((i) => i.name === link.hostIf)?.proposal
    expect(proposal).toMatchObject({ interface: link.hostIf })
    if (!proposal) return
    for (const op of ['checkSetup', 'completeSetup'] as const) {
      const result = await invokeOperation(app.handlers, op, proposal, (err) => {
        throw err
      })
      expect(result).toMatchObject({ ok: false, status: 409 })
      if (!result.ok) expect(result.body.error.message).toContain(refusal(link.hostIf))
      if (!result.ok) expect(result.body.error.message).toContain('confirm_default_route: true')
    }
    expect(await app.handlers.listNetworks({})).toEqual([])
    const preflight = await app.handlers.preflight({ interface: link.hostIf })
    expect(preflight.default_route).toBe(true)
    expect(preflight.recommendation.reason).toContain(`${link.hostIf} holds this machine's default route`)

    await expect(app.handlers.checkSetup({ ...proposal, confirm_default_route: true })).resolves.toMatchObject({ interface: link.hostIf })
    const done = await app.handlers.completeSetup({ ...proposal, confirm_default_route: true })
    expect(done.boot).toMatchObject({ interface: link.hostIf, error: null })
    expect(done.boot.url).toMatch(/^http:/)
    // A later --wizard start serves it again: the confirmation was kept with the setup.
    await apps.pop()?.stop()
    const again = await start({ wizard: true, boot: { proxyDhcp: false, ports: { http: 0, dns: 0 } } })
    expect((await again.handlers.getSetup({})).boot).toMatchObject({ interface: link.hostIf, error: null })
  }, 40_000)

  it('is refused by the boot services without confirmation and served with it', async () => {
    const boot = { interface: link.hostIf, proxyDhcp: false, ports: { http: 0, dns: 0 } }
    const bootstrap = { domain: 'office.test', adminName: 'admin.office.test' }
    await expect(start({ bootstrap, boot })).rejects.toThrow(refusal(link.hostIf))
    const app = await start({ bootstrap, boot: { ...boot, confirmDefaultRoute: true } })
    expect(app.boot?.httpUrl).toMatch(/^http:/)
  }, 40_000)
})
