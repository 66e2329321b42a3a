// BMC power through the whole app (issue 16): enrolled through the API, powered through the
// PowerManager against a real BMC simulator (OpenIPMI's ipmi_sim in a test namespace, reached by
// the real ipmitool), a commit powering on a node that is not alive, the install's "alive" gate,
// and BMCs that refuse, do not route or do not answer, each in words, within the bound, holding
// up nothing else. Needs root, `ipmitool` and `openipmi`.
import { createSocket } from 'node:dgram'
import { describe, expect, it } from 'vitest'
import { ipmitoolByHand } from '../../testing/ipmi-sim'
import { useBmcTestBed } from '../../testing/bmc-test-bed'
import { scenario } from '../../testing/domain-scenario'
import { commitDeployment } from '../../domain/deployments'
import { makeSelfSignedCertificate, startFakeRedfishService } from '../../testing/fake-redfish-service'

const bed = useBmcTestBed()

/** ipmitool run by hand, as an engineer checks the product's reading. */
const ipmitoolStatus = (): Promise<string> => ipmitoolByHand(bed.sim, ['chassis', 'power', 'status'])

const until = async (check: () => Promise<boolean>, ms: number): Promise<boolean> => {
  for (let waited = 0; waited < ms; waited += 100) {
    if (await check()) return true
    await new Promise((r) => setTimeout(r, 100))
  }
  return check()
}

async function enrolledNode(name: string, alive: boolean, bmc: { address?: string; port?: number; password?: string } = {}): Promise<number> {
  const id = await scenario(bed.app.ctx).node(name, alive)
  await bed.app.handlers.setNodeBmc({ id, protocol: 'ipmi', address: bmc.address ?? bed.sim.address, port: bmc.port ?? bed.sim.port, username: bed.sim.user, password: bmc.password ?? bed.sim.password })
  return id
}

describe('BMC power through the app, against ipmi_sim', () => {
  it('reads and sets the power as ipmitool run by hand sees it, and never shows the password', async () => {
    const id = await enrolledNode('n1.lab.test', true)
    const status = await bed.app.handlers.powerNode({ id, action: 'status' })
    expect(status).toMatchObject({ ok: true, state: 'off' })
    expect(await ipmitoolStatus()).toBe('Chassis Power is off')
    // The BMC says off: the node is not alive, whatever it was marked.
    expect((await bed.app.handlers.getNode({ id })).alive).toBe(false)

    expect(await bed.app.handlers.powerNode({ id, action: 'pxe_once' })).toMatchObject({ ok: true })
    expect(await bed.sim.bootDevice()).toBe('pxe')
    expect(await bed.app.handlers.powerNode({ id, action: 'on' })).toMatchObject({ ok: true, state: 'on' })
    expect(await bed.sim.power()).toBe('on')
    expect(await ipmitoolStatus()).toBe('Chassis Power is on')
    expect(await bed.app.handlers.listPower({})).toEqual([expect.objectContaining({ node_id: id, state: 'on', error: null })])

    const [off] = await bed.app.handlers.powerNodes({ node_ids: [id], action: 'off' })
    expect(off).toMatchObject({ ok: true, state: 'off' })
    expect(await ipmitoolStatus()).toBe('Chassis Power is off')

    const shown = JSON.stringify([await bed.app.handlers.getNodeBmc({ id }), await bed.app.handlers.listPower({}), await bed.app.handlers.getNode({ id })])
    expect(shown).toContain('"has_password":true')
    expect(shown).not.toContain(bed.sim.password)
    const stored = await bed.app.ctx.db.selectFrom('node_bmcs').selectAll().execute()
    expect(JSON.stringify(stored)).not.toContain(bed.sim.password)
    expect(bed.logged().length).toBeGreaterThan(0)
    expect(bed.logged()).not.toContain(bed.sim.password)
  })

  it('a commit powers on (PXE first) a node that is not alive and has a BMC', async () => {
    const s = scenario(bed.app.ctx)
    const dead = await enrolledNode('dead.lab.test', false)
    const deployment = await s.deployment('rack1')
    await s.bind(deployment, dead, 'test-server')
    await commitDeployment(bed.app.ctx, deployment)
    expect(await until(async () => (await bed.sim.power()) === 'on', 20_000)).toBe(true)
    const log = await bed.sim.chassisLog()
    expect(log.indexOf('boot pxe')).toBeGreaterThanOrEqual(0)
    expect(log.indexOf('boot pxe')).toBeLessThan(log.indexOf('power 1'))
    expect(bed.logged()).toContain('commit: powered on through its BMC')
  })

  it('tells the node API alive gate that a node is off only while its BMC says so', async () => {
    const id = await enrolledNode('n2.lab.test', true)
    await bed.app.handlers.powerNode({ id, action: 'status' })
    expect(await bed.app.power.saysOff(id)).toBe(true)
    await bed.app.handlers.powerNode({ id, action: 'on' })
    expect(await bed.app.power.saysOff(id)).toBe(false)
  })

  it('says a wrong password, an unrouted BMC and a silent one in words within the bound, and holds up no other node', async () => {
    const wrong = await enrolledNode('wrong.lab.test', true, { password: 'not-the-password' })
    const unrouted = await enrolledNode('unrouted.lab.test', true, { address: `${bed.link.prefix}77` })
    // A BMC that reads every datagram and never answers.
    const silentSocket = createSocket('udp4')
    silentSocket.on('message', () => undefined)
    await new Promise<void>((resolve) => silentSocket.bind(0, '127.0.0.1', resolve))
    const silent = await enrolledNode('silent.lab.test', true, { address: '127.0.0.1', port: silentSocket.address().port })
    const good = await enrolledNode('good.lab.test', true)

    const started = performance.now()
    const slow = Promise.all([wrong, unrouted, silent].map((id) => bed.app.handlers.powerNode({ id, action: 'status' })))
    // Meanwhile a good BMC answers at once, and the store is free.
    const goodStarted = performance.now()
    expect(await bed.app.handlers.powerNode({ id: good, action: 'status' })).toMatchObject({ ok: true, state: 'off' })
    expect(performance.now() - goodStarted).toBeLessThan(3_000)
    await scenario(bed.app.ctx).deployment('still-writable')
    const [w, u, t] = await slow
    expect(performance.now() - started).toBeLessThan(8_000)
    expect(w).toMatchObject({ ok: false, error: { kind: 'auth' } })
    expect(w?.error?.message).toMatch(new RegExp(`BMC ${bed.sim.address.replaceAll('.', '\\.')}.*password`, 'i'))
    expect(['unreachable', 'timeout']).toContain(u?.error?.kind)
    expect(u?.error?.message).toContain(`${bed.link.prefix}77`)
    expect(t).toMatchObject({ ok: false, error: { kind: 'timeout' } })
    expect(t?.error?.message).toMatch(/5 s/)
    // The failure is kept with the node's power, for the nodes view.
    const listed = await bed.app.handlers.listPower({})
    expect(listed.find((p) => p.node_id === wrong)?.error?.kind).toBe('auth')
    expect(listed.find((p) => p.node_id === good)?.error).toBeNull()
    silentSocket.close()
  })

  it('says what is missing for a node without a BMC, and refuses a password IPMI 2.0 cannot carry', async () => {
    const s = scenario(bed.app.ctx)
    const bare = await s.node('bare.lab.test')
    expect(await bed.app.handlers.powerNode({ id: bare, action: 'on' })).toMatchObject({ ok: false, error: { kind: 'unconfigured', message: expect.stringMatching(/has no BMC/) } })
    await expect(bed.app.handlers.powerNode({ id: 9999, action: 'on' })).rejects.toThrow(/no node with id 9999/)
    await expect(bed.app.handlers.setNodeBmc({ id: bare, protocol: 'ipmi', address: bed.sim.address, username: 'admin', password: 'x'.repeat(21) })).rejects.toThrow(/at most 20 bytes/)
  })
})

describe('Redfish BMC power through the app (a fake Redfish service, DMTF schema, self-signed HTTPS)', () => {
  it('pins the certificate on first contact, refuses a changed one, and takes the new one once the operator forgets the pin', async () => {
    const first = await startFakeRedfishService({ initialPower: 'Off' })
    const s = scenario(bed.app.ctx)
    const id = await s.node('rf.lab.test', false)
    await bed.app.handlers.setNodeBmc({ id, protocol: 'redfish', address: first.host, port: first.port, username: first.user, password: first.password })
    expect((await bed.app.handlers.getNodeBmc({ id }))?.certificate_sha256).toBeNull()
    expect(await bed.app.handlers.powerNode({ id, action: 'pxe_once' })).toMatchObject({ ok: true })
    expect(first.boot.BootSourceOverrideTarget).toBe('Pxe')
    expect(await bed.app.handlers.powerNode({ id, action: 'on' })).toMatchObject({ ok: true, state: 'on' })
    expect(first.powerState).toBe('On')
    const pinned = (await bed.app.handlers.getNodeBmc({ id }))?.certificate_sha256
    expect(pinned).toBe(first.certificate.fingerprint)
    const port = first.port
    await first.stop()

    // The same address answers with another certificate (a reflashed BMC, or someone in between).
    const other = await startFakeRedfishService({ port, initialPower: 'On', certificate: await makeSelfSignedCertificate() })
    try {
      const refused = await bed.app.handlers.powerNode({ id, action: 'off' })
      expect(refused).toMatchObject({ ok: false, error: { kind: 'protocol' } })
      expect(refused.error?.message).toMatch(/certificate/i)
      expect(other.resets).toEqual([])
      expect((await bed.app.handlers.getNodeBmc({ id }))?.certificate_sha256).toBe(pinned)
      expect(await bed.app.handlers.forgetBmcCertificate({ id })).toEqual({ forgotten: true })
      expect(await bed.app.handlers.powerNode({ id, action: 'off' })).toMatchObject({ ok: true, state: 'off' })
      expect((await bed.app.handlers.getNodeBmc({ id }))?.certificate_sha256).toBe(other.certificate.fingerprint)
      expect(JSON.stringify(await bed.app.handlers.getNodeBmc({ id }))).not.toContain(other.password)
    } finally {
      await other.stop()
    }
  })
})
