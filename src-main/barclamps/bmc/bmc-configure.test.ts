// bmc-configure (issue 16): the BMC's address comes from the bmc network's allocation (late bound:
// the network barclamp's, not typed by hand), its user and password are generated, handed to the
// run as secrets and kept sealed, and the role's script sets them with ipmitool. The script runs
// here against a real BMC simulator (ipmi_sim in a test namespace) over RMCP+, CROWBAR_IPMITOOL
// standing in for /dev/ipmi0. Needs root, ipmitool, openipmi.
import { spawn } from 'node:child_process'
import { describe, expect, it } from 'vitest'
import { SecretBox } from '../../base/secret-box'
import { createNetwork } from '../network/networks'
import { NetworkInputSchema } from '../../model'
import { useBmcTestBed } from '../../testing/bmc-test-bed'
import { scenario } from '../../testing/domain-scenario'
import { BMC_CONFIGURE_SCRIPT } from './bmc-configure-script'
import { adoptConfigured, pendingCredentials } from './node-bmcs'
import { IpmiToolPower } from '../../services/bmc/ipmitool-power'
import { BMC_CONFIGURE_ROLE } from './bmc-barclamp'

const bed = useBmcTestBed()

/** The role's script as the jig runs it (stdin: one line of JSON), with ipmitool over the LAN. */
function runScript(stdin: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn('sh', ['-c', BMC_CONFIGURE_SCRIPT], {
      env: {
        PATH: process.env.PATH,
        CROWBAR_IPMITOOL: `ipmitool -I lanplus -C 3 -H ${bed.sim.address} -p ${bed.sim.port} -U ${bed.sim.user} -E`,
        IPMI_PASSWORD: bed.sim.password
      },
      stdio: ['pipe', 'pipe', 'pipe']
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()))
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000)
    child.on('close', (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr })
    })
    child.stdin.end(stdin)
  })
}

describe('bmc-configure', () => {
  it('refuses to bind without a bmc network, and takes the BMC address from its host range', async () => {
    const s = scenario(bed.app.ctx)
    const node = await s.node('n1.lab.test')
    const deployment = await s.deployment('rack')
    await expect(s.bind(deployment, node, BMC_CONFIGURE_ROLE)).rejects.toThrow(/create a network of category bmc/)
    await createNetwork(
      bed.app.ctx,
      NetworkInputSchema.parse({
        name: 'bmc',
        category: 'bmc',
        v4_subnet: `${bed.link.prefix}0/24`,
        ranges: [{ name: 'host', first: bed.sim.address, last: `${bed.link.prefix}9` }],
        routers: [{ address: bed.link.hostAddress, pref: 10 }]
      })
    )
    await s.bind(deployment, node, BMC_CONFIGURE_ROLE)
    const nr = await bed.app.ctx.db.selectFrom('noderoles').innerJoin('roles', 'roles.id', 'noderoles.role_id').select('noderoles.sysdata').where('roles.name', '=', BMC_CONFIGURE_ROLE).executeTakeFirstOrThrow()
    expect(JSON.parse(nr.sysdata)).toMatchObject({ bmc: { bmc_address: bed.sim.address, bmc_netmask: '255.255.255.0', bmc_prefix_length: 24, bmc_router: bed.link.hostAddress } })
  })

  it('sets a generated password for its own user on the BMC, which the framework then powers with, never showing it', async () => {
    const s = scenario(bed.app.ctx)
    const node = await s.node('n2.lab.test')
    const box = await SecretBox.ofDataDir(bed.app.dataDir)
    const creds = await pendingCredentials(bed.app.ctx, box, node, bed.sim.address)
    expect(creds.username).toBe('crowbar')
    expect(creds.password).toMatch(/^[A-Za-z0-9]{16}$/)
    // A repeated run gets the same credentials (the jig runs at least once).
    expect(await pendingCredentials(bed.app.ctx, box, node, bed.sim.address)).toEqual(creds)
    // Not usable before the run succeeded: the BMC does not know them yet.
    expect((await bed.app.handlers.getNodeBmc({ id: node }))?.has_password).toBe(false)

    const attributes = { bmc: { bmc_channel: 1, bmc_user_id: 3, bmc_address: bed.sim.address, bmc_netmask: '255.255.255.0' }, crowbar_secrets: { bmc_username: creds.username, bmc_password: creds.password } }
    const r = await runScript(JSON.stringify(attributes))
    expect(r.code, r.stderr).toBe(0)
    const wall = JSON.parse(r.stdout) as { bmc: Record<string, unknown> }
    expect(wall.bmc).toMatchObject({ configured: true, address: bed.sim.address, username: 'crowbar', user_id: 3, channel: 1 })
    expect(r.stdout + r.stderr).not.toContain(creds.password)
    // The BMC answers the new user and password.
    expect(await new IpmiToolPower({ host: bed.sim.address, port: bed.sim.port, user: 'crowbar', password: creds.password, timeoutMs: 5_000 }).status()).toBe('off')

    expect(await adoptConfigured(bed.app.ctx, node, { address: bed.sim.address })).toBe(true)
    const bmc = await bed.app.handlers.getNodeBmc({ id: node })
    expect(bmc).toMatchObject({ source: 'bmc-configure', username: 'crowbar', has_password: true, address: bed.sim.address, port: 623 })
    expect(JSON.stringify(bmc)).not.toContain(creds.password)
    expect(await bed.app.handlers.powerNode({ id: node, action: 'status' })).toMatchObject({ ok: true, state: 'off' })
    // The re-run (on the installed OS) sets the same credentials again: nothing the BMC has changes.
    expect(await pendingCredentials(bed.app.ctx, box, node, bed.sim.address)).toEqual(creds)
  })

  it('fails in words when the run has no credentials or no address', async () => {
    const missing = await runScript(JSON.stringify({ bmc: { bmc_address: bed.sim.address } }))
    expect(missing.code).not.toBe(0)
    expect(missing.stderr).toMatch(/no user and password were handed to this run/)
    const noAddress = await runScript(JSON.stringify({ crowbar_secrets: { bmc_username: 'crowbar', bmc_password: 'Abc123' } }))
    expect(noAddress.stderr).toMatch(/no bmc_address/)
  })
})
