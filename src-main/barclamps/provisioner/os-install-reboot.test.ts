// The install's reboot into the installed OS goes through the node's BMC where it has one (PXE
// once, then a power cycle: DESIGN.md §9), against a real BMC simulator (ipmi_sim in a test
// namespace); the SSH reboot is the fallback when the BMC fails. Needs root, ipmitool, openipmi.
import { beforeEach, describe, expect, it } from 'vitest'
import { capturingLogger, useBmcTestBed, type CapturedLog } from '../../testing/bmc-test-bed'
import { scenario } from '../../testing/domain-scenario'
import { rebootIntoInstalledOs } from './os-install-role'

const bed = useBmcTestBed()
let log: CapturedLog
beforeEach(() => {
  log = capturingLogger()
})

/** A node whose install run just went active on the installer, enrolled with the simulator's BMC. */
async function installedNode(password: string): Promise<{ nodeId: number; noderoleId: number }> {
  const s = scenario(bed.app.ctx)
  const nodeId = await s.node('inst.lab.test', true)
  const deployment = await s.deployment('rack')
  await s.bind(deployment, nodeId, 'test-server')
  const noderoleId = await s.id('test-server', nodeId)
  await bed.app.ctx.db.updateTable('noderoles').set({ wall: JSON.stringify({ provisioner: { ran_on: 'installer' } }) }).where('id', '=', noderoleId).execute()
  await bed.app.handlers.setNodeBmc({ id: nodeId, protocol: 'ipmi', address: bed.sim.address, port: bed.sim.port, username: bed.sim.user, password })
  return { nodeId, noderoleId }
}

const deps = () => ({
  keyPair: bed.app.adminKeys,
  pins: bed.app.hostKeys,
  // Nowhere to SSH to: the BMC alone reboots it.
  addressesOf: () => Promise.resolve([]),
  logger: log.logger,
  connectTimeoutMs: 1_000,
  power: bed.app.power
})

describe('the install reboot through the BMC', () => {
  it('boots the node from the network once and power cycles it, after the bootenv is local and the node not alive', async () => {
    const { nodeId, noderoleId } = await installedNode(bed.sim.password)
    await bed.app.handlers.powerNode({ id: nodeId, action: 'on' })
    const before = (await bed.sim.chassisLog()).length
    await rebootIntoInstalledOs({ noderoleId, nodeId, role: 'test-server', state: 'active' }, bed.app.ctx, deps())
    // ipmi_sim carries out a cycle as power off, then (a few seconds later) on.
    const deadline = performance.now() + 20_000
    while (!(await bed.sim.chassisLog()).slice(before).includes('power 1') && performance.now() < deadline) await new Promise((r) => setTimeout(r, 200))
    expect((await bed.sim.chassisLog()).slice(before)).toEqual(['boot pxe', 'power 0', 'power 1'])
    expect(await bed.sim.power()).toBe('on')
    const node = await bed.app.handlers.getNode({ id: nodeId })
    expect(node).toMatchObject({ bootenv: 'local', alive: false })
    expect(log.text()).toContain('through its BMC (PXE once, power cycle)')
  })

  it('falls back to the SSH reboot when the BMC refuses, and says both', async () => {
    const { nodeId, noderoleId } = await installedNode('wrong-password')
    await rebootIntoInstalledOs({ noderoleId, nodeId, role: 'test-server', state: 'active' }, bed.app.ctx, deps())
    expect(await bed.sim.chassisLog()).toEqual([])
    expect(log.text()).toContain('the reboot through the BMC failed: rebooting over SSH instead')
    expect(log.text()).toContain('could not be reached to reboot it')
    expect(log.text()).not.toContain('wrong-password')
  })
})
