// Both clients, run inside a test namespace that has no route anywhere, say "no route to BMC" at
// once rather than waiting for the bound. The clients run in a node child inside the namespace
// (the test process itself lives in the host's namespace, which has a default route). Needs root.
import { afterEach, beforeEach, expect, it } from 'vitest'
import { createTestLink, type TestLink } from '../../testing/test-link'

let link: TestLink
beforeEach(async () => {
  link = await createTestLink()
})
afterEach(async () => {
  await link?.stop()
})

it('IPMI and Redfish both say there is no route to the BMC, within a second', async () => {
  const ipmi = new URL('./ipmitool-power.ts', import.meta.url).pathname
  const redfish = new URL('./redfish-power.ts', import.meta.url).pathname
  // 198.51.100.7 (TEST-NET-2): the namespace has no address on it and no default route.
  const script = `
    import { IpmiToolPower } from ${JSON.stringify(ipmi)}
    import { RedfishPower } from ${JSON.stringify(redfish)}
    const out = {}
    const clients = { ipmi: new IpmiToolPower({ host: '198.51.100.7', user: 'admin', password: 'x' }), redfish: new RedfishPower({ host: '198.51.100.7', user: 'root', password: 'x' }) }
    for (const [name, c] of Object.entries(clients)) {
      const t0 = Date.now()
      try { await c.status(); out[name] = { kind: 'none' } } catch (e) { out[name] = { kind: e.kind, message: e.message, ms: Date.now() - t0 } }
    }
    console.log(JSON.stringify(out))
  `
  const r = await link.exec('node', ['--import', 'tsx', '--input-type=module', '-e', script], 20_000)
  expect(r.stderr).toBe('')
  const out = JSON.parse(r.stdout) as Record<'ipmi' | 'redfish', { kind: string; message: string; ms: number }>
  expect(out.ipmi.kind).toBe('unreachable')
  expect(out.ipmi.message).toBe("no route to BMC 198.51.100.7: check this machine's address on the BMC network")
  expect(out.ipmi.ms).toBeLessThan(1_000)
  expect(out.redfish.kind).toBe('unreachable')
  expect(out.redfish.message).toMatch(/^no route to BMC 198\.51\.100\.7: /)
  expect(out.redfish.ms).toBeLessThan(1_000)
})
