// The install's reboot into the installed OS goes through the node's BMC where it has one (PXE
// once, then a power cycle: DESIGN.md §9), against a real BMC simulator (ipmi_sim in a test
// namespace); the SSH reboot is the fallback when the BMC fails. Needs root, ipmitool, openipmi.
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { IpmiSim } from '../../testing/ipmi-sim'
import type { TestApp } from '../../testing/test-app'
import { capturingLogger, startBmcTestBed, type BmcTestBed, type CapturedLog } from '../../testing/bmc-test-bed'
import { scenario } from '../../testing/domain-scenario'
import { rebootIntoInstalledOs } from './os-install-role'

let bed: BmcTestBed
let sim: IpmiSim
let app: TestApp
let log: CapturedLog

beforeEach(async () => {
  bed = await startBmcTestBed()
  ;({ sim, app } = bed)
  log = capturingLogger()
})

afterEach(async () => {
  await bed?.stop()
})

/** A node whose install run just went active on the installer, enrolled with the simulator's BMC. */
async function installedNode(password: string): Promise<{ nodeId: number; noderoleId: number }> {
  const s = scenario(app.ctx)
  const nodeId = await s.node('inst.lab.test', true)
  const deployment = await s.deployment('rack')
  await s.bind(deployment, nodeId, 'test-server')
  const noderoleId = await s.id('test-server', nodeId)
  await app.ctx.db.updateTable('noderoles').set({ wall: JSON.stringify({ provisioner: { ran_on: 'installer' } }) }).where('id', '=', noderoleId).execute()
  await app.handlers.setNodeBmc({ id: nodeId, protocol: 'ipmi', address: sim.address, port: sim.port, username: sim.user, password })
  return { nodeId, noderoleId }
}

const deps = () => ({
  keyPair: app.adminKeys,
  pins: app.hostKeys,
  // Nowhere to SSH to: the BMC alone reboots it.
  addressesOf: () => Promise.resolve([]),
  logger: log.logger,
  connectTimeoutMs: 1_000,
  power: app.power
})

describe('the install reboot through the BMC', () => {
  it('boots the node from the network once and power cycles it, after the bootenv is local and the node not alive', async () => {
    const { nodeId, noderoleId } = await installedNode(sim.password)
    await app.handlers.powerNode({ id: nodeId, action: 'on' })
    const before = (await sim.chassisLog()).length
    await rebootIntoInstalledOs({ noderoleId, nodeId, role: 'test-server', state: 'active' }, app.ctx, deps())
    // ipmi_sim carries out a cycle as power off, then (a few seconds later) on.
    const deadline = performance.now() + 20_000
    while (!(await sim.chassisLog()).slice(before).includes('power 1') && performance.now() < deadline) await new Promise((r) => setTimeout(r, 200))
    expect((await sim.chassisLog()).slice(before)).toEqual(['boot pxe', 'power 0', 'power 1'])
    expect(await sim.power()).toBe('on')
    const node = await app.handlers.getNode({ id: nodeId })
    expect(node).toMatchObject({ bootenv: 'local', alive: false })
    expect(log.text()).toContain('through its BMC (PXE once, power cycle)')
  })

  it('falls back to the SSH reboot when the BMC refuses, and says both', async () => {
    const { nodeId, noderoleId } = await installedNode('wrong-password')
    await rebootIntoInstalledOs({ noderoleId, nodeId, role: 'test-server', state: 'active' }, app.ctx, deps())
    expect(await sim.chassisLog()).toEqual([])
    expect(log.text()).toContain('the reboot through the BMC failed: rebooting over SSH instead')
    expect(log.text()).toContain('could not be reached to reboot it')
    expect(log.text()).not.toContain('wrong-password')
  })
})
