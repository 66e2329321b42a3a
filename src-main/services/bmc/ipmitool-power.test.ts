// IpmiToolPower against a real BMC simulator: OpenIPMI's ipmi_sim in a test namespace, reached by
// the real ipmitool over the veth pair. Needs root, `ipmitool` and `openipmi`.
import { readdir, readFile } from 'node:fs/promises'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { ipmitoolByHand, startIpmiSim, type IpmiSim } from '../../testing/ipmi-sim'
import { createTestLink, type TestLink } from '../../testing/test-link'
import { BmcError } from './bmc-power'
import { IpmiToolPower } from './ipmitool-power'

let link: TestLink
let sim: IpmiSim

beforeEach(async () => {
  link = await createTestLink()
  sim = await startIpmiSim({ link })
})

afterEach(async () => {
  await sim?.stop()
  await link?.stop()
})

const bmc = (o: Partial<ConstructorParameters<typeof IpmiToolPower>[0]> = {}): IpmiToolPower =>
  new IpmiToolPower({ host: sim.address, port: sim.port, user: sim.user, password: sim.password, ...o })

/** ipmitool run by hand, as an engineer checks the product's reading. */
const ipmitoolStatus = (): Promise<string> => ipmitoolByHand(sim, ['chassis', 'power', 'status'])

async function failure(p: Promise<unknown>): Promise<BmcError> {
  try {
    await p
  } catch (err) {
    if (err instanceof BmcError) return err
    throw err
  }
  throw new Error('expected a BmcError')
}

/** The command lines and environments of running ipmitool processes that name `host`, as ps would see them. */
async function ipmitoolProcesses(host: string): Promise<{ cmdline: string; environ: string }[]> {
  const found: { cmdline: string; environ: string }[] = []
  for (const pid of (await readdir('/proc')).filter((d) => /^\d+$/.test(d))) {
    try {
      const cmdline = (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0').join(' ').trim()
      if (!cmdline.startsWith('ipmitool ') || !cmdline.includes(host)) continue
      found.push({ cmdline, environ: (await readFile(`/proc/${pid}/environ`, 'utf8')).split('\0').join(' ') })
    } catch {
      // exited while we looked
    }
  }
  return found
}

const until = async (check: () => Promise<boolean>, ms: number): Promise<boolean> => {
  for (let waited = 0; waited < ms; waited += 100) {
    if (await check()) return true
    await new Promise((r) => setTimeout(r, 100))
  }
  return check()
}

describe('IpmiToolPower against ipmi_sim', () => {
  it('reads off, powers on, reads on, and ipmitool run by hand agrees', async () => {
    const power = bmc()
    expect(await power.status()).toBe('off')
    expect(await ipmitoolStatus()).toBe('Chassis Power is off')
    await power.on()
    expect(await sim.power()).toBe('on')
    expect(await power.status()).toBe('on')
    expect(await ipmitoolStatus()).toBe('Chassis Power is on')
    await power.off()
    expect(await power.status()).toBe('off')
    expect(await ipmitoolStatus()).toBe('Chassis Power is off')
    expect(await sim.chassisLog()).toEqual(['power 1', 'power 0'])
  })

  it('cycles the power off and on again, and pulses reset', async () => {
    const power = bmc()
    await power.on()
    await power.cycle()
    // ipmi_sim turns the power back on a second after the off.
    expect(await until(async () => (await sim.chassisLog()).length >= 3, 5_000)).toBe(true)
    expect(await power.status()).toBe('on')
    await power.reset()
    expect(await sim.chassisLog()).toEqual(['power 1', 'power 0', 'power 1', 'reset 1'])
  })

  it('sets the next boot to PXE, in UEFI mode when asked', async () => {
    const power = bmc()
    await power.pxeOnce()
    expect(await sim.bootDevice()).toBe('pxe')
    await power.pxeOnce({ uefi: true })
    expect(await sim.chassisLog()).toEqual(['boot pxe', 'boot pxe'])
  })

  it('says the BMC refused the password, within two seconds', async () => {
    const started = Date.now()
    const err = await failure(bmc({ password: 'wrong-password' }).status())
    expect(err.kind).toBe('auth')
    expect(err.message).toBe(`BMC ${sim.address} refused the password for user admin`)
    expect(Date.now() - started).toBeLessThan(2_000)
    expect(await sim.chassisLog()).toEqual([])
  })

  it('says the BMC does not know the user', async () => {
    const err = await failure(bmc({ user: 'nobody' }).on())
    expect(err.kind).toBe('auth')
    expect(err.message).toBe(`BMC ${sim.address} does not know the user nobody`)
    expect(await sim.power()).toBe('off')
  })

  it('says the BMC does not offer a cipher suite it lacks (ipmitool 1.8.19 default 17 against ipmi_sim)', async () => {
    const err = await failure(bmc({ cipherSuite: 17 }).status())
    expect(err.kind).toBe('protocol')
    expect(err.message).toContain(`BMC ${sim.address} does not offer cipher suite 17`)
  })

  it('says nothing listens when the host answers but the port is closed, without waiting for the bound', async () => {
    const started = Date.now()
    const err = await failure(bmc({ port: 6299, timeoutMs: 10_000 }).status())
    expect(err.kind).toBe('refused')
    expect(err.message).toContain(`BMC ${sim.address} (UDP port 6299) refused IPMI`)
    expect(Date.now() - started).toBeLessThan(3_000)
  })

  it('gives an address nobody answers its message within the bound', async () => {
    const host = `${link.prefix}77`
    const started = Date.now()
    const err = await failure(bmc({ host, timeoutMs: 5_000 }).status())
    const elapsed = Date.now() - started
    expect(['unreachable', 'timeout']).toContain(err.kind)
    // The kernel gives up on ARP after 3 s, so by 5 s it knows nobody is there.
    expect(err.message).toMatch(new RegExp(`^no route to BMC ${host.replace(/\./g, '\\.')}: nobody answers at that address|^BMC ${host.replace(/\./g, '\\.')} did not answer within 5 s$`))
    expect(elapsed).toBeGreaterThanOrEqual(4_000)
    expect(elapsed).toBeLessThan(6_500)
  })

  it('passes the password in the environment, never on the command line, and kills ipmitool at the bound', async () => {
    const host = `${link.prefix}79`
    const pending = failure(bmc({ host, password: 'secret-in-env', timeoutMs: 3_000 }).status())
    await new Promise((r) => setTimeout(r, 500))
    const running = await ipmitoolProcesses(host)
    expect(running).toHaveLength(1)
    expect(running[0]?.cmdline).toBe(`ipmitool -I lanplus -C 3 -H ${host} -p 623 -U admin -E -v chassis power status`)
    expect(running[0]?.environ).toContain('IPMI_PASSWORD=secret-in-env')
    await pending
    expect(await ipmitoolProcesses(host)).toEqual([])
  })

  it('does not hold up a call to a good BMC while another BMC does not answer', async () => {
    const silent = bmc({ host: `${link.prefix}78`, timeoutMs: 6_000 })
    let silentSettled = false
    const slow = failure(silent.status()).finally(() => (silentSettled = true))
    const started = Date.now()
    const good = bmc()
    expect(await good.status()).toBe('off')
    await good.on()
    expect(await good.status()).toBe('on')
    expect(Date.now() - started).toBeLessThan(2_000)
    expect(silentSettled).toBe(false)
    expect(['unreachable', 'timeout']).toContain((await slow).kind)
  })
})
