// The lab, end to end: two VMs (BIOS and UEFI) PXE-boot into discovery, are bound to
// provisioner-os-install in a new deployment and committed; each installs Debian 12 from the
// image, is set to boot `local` and marked not alive, reboots from its disk, reports alive, and
// gets its roles re-run. Then SSH with the admin key shows Debian 12 and the hostname it was given.
// The BIOS VM sits behind a real BMC (ipmi_sim, lab-bmc.ts) and starts off: the operator enrolls it
// by its BMC and commits, the commit powers it on through the BMC (PXE once), its registration
// claims the enrolled node, and its install's reboot goes through the BMC (PXE once, power cycle).
// Writes bench/results/lab.json.
import { spawnSync } from 'node:child_process'
import { mkdir, writeFile } from 'node:fs/promises'
import { dirname, join, relative } from 'node:path'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { messageOf } from '../../src-main/base/error-message'
import {
  discover,
  firmwares,
  isBmcVm,
  RESULTS,
  ROOT,
  seconds,
  sshArgs,
  startLab,
  startVms,
  stopLab,
  watchdog,
  type ApiNode,
  type ApiNodeRole,
  type Lab,
  type NodeResult,
  type WaitFor
} from './lab-discovery'
import type { BootEvent, BootPcap, BootProgress } from '../../src-main/model'
import type { LabVm } from './lab-vm'
import type { BmcVm } from './lab-bmc'

const ARTIFACTS = join(ROOT, 'test-results', 'lab', 'install')
const INSTALL_ROLE = 'provisioner-os-install'
const BMC_CONFIGURE_ROLE = 'bmc-configure'
/** The lab's bmc network (LAB_BMC_ADDRESS is in it). */
const BMC_SUBNET = '198.18.60.0/24'
// Unpacking ~650 MB under TCG, two VMs on two shared cores: minutes. The script jig's own bound is 10 min.
const INSTALL_TIMEOUT_MS = 12 * 60_000
// SeaBIOS GRUB reads the installed system's 35 MB initramfs through int13 under TCG: 18 s on a
// quiet machine, 115 s measured with the other core busy. Bounded, with room for a slow CI host.
const DISK_BOOT_TIMEOUT_MS = 8 * 60_000
const RERUN_TIMEOUT_MS = 3 * 60_000
/** After the install the firmware's PXE attempt may fail by design (bootenv local): only these end the run. */
const INSTALLED_BOOT_FAILURE = /No bootable device|Kernel panic|EFI Internal Shell|grub rescue>|crowbar-discovery \[[^\]]*\]: FAILED|Give root password for maintenance/

interface NodeRoleDetail extends ApiNodeRole {
  readonly wall: { readonly provisioner?: { readonly installed?: string; readonly firmware?: string; readonly ran_on?: string } }
  readonly runlog: string
}

interface InstallResult extends NodeResult {
  /** The install noderole went active after a run on the installer: bootenv local, not alive. */
  installed_seconds?: number
  /** The console shows the installed system's systemd. */
  disk_boot_seconds?: number
  /** The installed OS reported alive. */
  alive_on_disk_seconds?: number
  /** Every noderole of the node active again, the install role's re-run saying installed-os. */
  roles_rerun_seconds?: number
  /** Seconds from VM start at which each boot phase began, as the flight recorder's timeline has it. */
  phases?: Partial<Record<'pxe_seconds' | 'discovery_seconds' | 'install_seconds' | 'local_disk_seconds' | 'alive_seconds', number>>
  /** The node's pcap export (DHCP, TFTP, HTTP boot), relative to the project root. */
  pcap?: string
  /** The node's boot timeline as GET /api/v2/boot-events returns it (newest first). */
  timeline?: BootEvent[]
  /** Behind a BMC: seconds from the lab's start (the BMC up, the VM off) to the commit's power-on through it. */
  powered_on_by_bmc_seconds?: number
  /** Behind a BMC: the install's reboot, when the BMC powered the VM on again after its power cycle. */
  rebooted_by_bmc_seconds?: number
  /** Behind a BMC: what the BMC asked of the chassis, in order (boot pxe, power 1, ...). */
  bmc_chassis?: string[]
  /** Behind a BMC: the user and address bmc-configure gave it in band. */
  bmc_configured?: { username: string; address: string }
}

interface PowerResult {
  readonly ok: boolean
  readonly state?: 'on' | 'off'
  readonly error?: { readonly kind: string; readonly message: string }
}

/** The product's reading of the node's power and ipmitool's (run by hand against the same BMC) agree. */
async function expectPowerAgrees(current: Lab, vm: BmcVm, nodeId: number, state: 'on' | 'off'): Promise<void> {
  const read = await current.app.post<PowerResult>(`/api/v2/nodes/${nodeId}/power`, { action: 'status' })
  expect(read, `${vm.name}: the product's power reading`).toMatchObject({ ok: true, state })
  expect(await vm.powerState(), `${vm.name}: ipmitool's power reading`).toBe(state)
}

/**
 * The operator's part for a machine that is off: a node enrolled by its BMC, the install role bound
 * in a deployment of its own, committed (which powers it on through the BMC).
 */
async function enrollAndCommit(current: Lab, vm: BmcVm): Promise<{ node: ApiNode; noderoleId: number }> {
  const api = current.app
  const admin = (await api.get<Array<ApiNode & { admin: boolean }>>('/api/v2/nodes')).find((n) => n.admin)
  const domain = admin?.name.split('.').slice(1).join('.') ?? 'lab.test'
  const node = await api.post<ApiNode>('/api/v2/nodes', { name: `rack-u1.${domain}`, alive: false })
  await api.put(`/api/v2/nodes/${node.id}/bmc`, { protocol: 'ipmi', address: vm.bmc.address, port: vm.bmc.port, username: vm.bmc.user, password: vm.bmc.password })
  await expectPowerAgrees(current, vm, node.id, 'off')
  // The bmc network, whose one host address is the BMC's: bmc-configure's allocation.
  await api.post('/api/v2/networks', { name: 'bmc', category: 'bmc', v4_subnet: BMC_SUBNET, ranges: [{ name: 'host', first: vm.bmc.address, last: vm.bmc.address }] })
  const deployment = await api.post<{ id: number }>('/api/v2/deployments', { name: 'lab-bmc' })
  const nr = await api.post<ApiNodeRole>('/api/v2/noderoles', { deployment_id: deployment.id, node_id: node.id, role: INSTALL_ROLE })
  await api.post<ApiNodeRole>('/api/v2/noderoles', { deployment_id: deployment.id, node_id: node.id, role: BMC_CONFIGURE_ROLE })
  await api.post(`/api/v2/deployments/${deployment.id}/commit`, {})
  return { node, noderoleId: nr.id }
}

let lab: Lab | undefined

async function install(current: Lab, vm: LabVm, result: InstallResult, node: ApiNode, noderoleId: number, waitFor: WaitFor): Promise<void> {
  const { app: api, network } = current
  const noderole = (): Promise<NodeRoleDetail> => api.get<NodeRoleDetail>(`/api/v2/noderoles/${noderoleId}`)
  const nodeNow = (): Promise<ApiNode> => api.get<ApiNode>(`/api/v2/nodes/${node.id}`)
  const expectedFirmware = vm.firmware === 'bios' ? 'bios' : 'uefi'
  const states: string[] = []
  const note = (state: string): void => {
    if (states.at(-1) !== state) states.push(state)
  }

  // The run: todo -> transition -> active, whose on_active sets bootenv local and marks the node dead.
  const installed = await waitFor(`${vm.name}: ${INSTALL_ROLE} installs the OS (bootenv local, node not alive)`, INSTALL_TIMEOUT_MS, async () => {
    const [nr, now] = await Promise.all([noderole(), nodeNow()])
    note(nr.state)
    // An errored noderole ends the wait at once (a probe's throw would only be retried).
    return nr.state === 'error' || (now.bootenv === 'local' && !now.alive) ? { nr, now } : undefined
  })
  if (installed.nr.state === 'error') throw new Error(`${vm.name}: ${INSTALL_ROLE} failed:\n${installed.nr.runlog}`)
  result.installed_seconds = seconds(vm)
  expect(states).toContain('transition')
  // Read after the node was seen dead (the two reads above race the hook): marking the node dead
  // sent its noderoles back to todo (parents active) or blocked, and there they wait.
  const after = await noderole()
  expect(['todo', 'blocked']).toContain(after.state)
  expect(after.wall.provisioner).toMatchObject({ installed: 'debian-12', firmware: expectedFirmware, ran_on: 'installer' })

  const booted = await vm.waitForLine(/Welcome to .*Debian GNU\/Linux 12/, DISK_BOOT_TIMEOUT_MS)
  result.disk_boot_seconds = Number(booted.seconds.toFixed(2))

  await waitFor(`${vm.name}: the installed OS reports alive`, DISK_BOOT_TIMEOUT_MS, async () => ((await nodeNow()).alive ? true : undefined))
  result.alive_on_disk_seconds = seconds(vm)

  const rerun = await waitFor(`${vm.name}: every noderole active again on the installed OS`, RERUN_TIMEOUT_MS, async () => {
    const [nr, noderoles, now] = await Promise.all([noderole(), api.get<ApiNodeRole[]>('/api/v2/noderoles'), nodeNow()])
    const mine = noderoles.filter((r) => r.node_id === node.id)
    const done = now.alive && mine.every((r) => r.state === 'active') && nr.wall.provisioner?.ran_on === 'installed-os'
    return nr.state === 'error' || done ? { nr, now } : undefined
  })
  if (rerun.nr.state === 'error') throw new Error(`${vm.name}: ${INSTALL_ROLE} failed on the re-run:\n${rerun.nr.runlog}`)
  result.roles_rerun_seconds = seconds(vm)
  // The re-run did not reinstall: the node still boots its disk.
  expect(rerun.now.bootenv).toBe('local')
  expect(rerun.nr.wall.provisioner).toMatchObject({ installed: 'debian-12', firmware: expectedFirmware, ran_on: 'installed-os' })

  // The installed OS has the node's reserved admin address (DHCP) and the admin key.
  const address = rerun.now.addresses.find((a) => a.family === 4)?.address ?? result.address ?? ''
  const out = await network.exec('ssh', sshArgs(current, address, 'cat /etc/os-release; echo host=$(hostname); [ -d /sys/firmware/efi ] && echo firmware=uefi || echo firmware=bios; findmnt -n -o SOURCE /'), 30_000)
  expect(out.code, out.stderr).toBe(0)
  expect(out.stdout).toMatch(/^ID=debian$/m)
  expect(out.stdout).toMatch(/^VERSION_ID="12"$/m)
  expect(out.stdout).toContain(`host=${node.name.split('.')[0]}\n`)
  expect(out.stdout).toContain(`firmware=${expectedFirmware}\n`)
  expect(out.stdout).toMatch(/^\/dev\/vda3$/m)
}

/**
 * The flight recorder's view of one installed node: its whole timeline from the first DISCOVER to
 * alive on disk (every source), the phase times taken from it, and its pcap, which tcpdump reads.
 */
async function flightRecord(current: Lab, vm: LabVm, result: InstallResult, nodeId: number): Promise<void> {
  const api = current.app
  const timeline = await api.get<BootEvent[]>(`/api/v2/boot-events?node_id=${nodeId}&limit=1000`)
  result.timeline = timeline
  const sources = new Set(timeline.map((e) => e.source))
  // SeaBIOS boots QEMU's own iPXE ROM (no TFTP); OVMF fetches ipxe.efi over TFTP first.
  const tftp = vm.firmware !== 'bios'
  expect([...sources].sort(), `${vm.name}: the timeline's sources`).toEqual(['api', 'dhcp', 'http', 'install', ...(tftp ? ['tftp'] : [])])
  const oldest = timeline.at(-1)
  expect(oldest, `${vm.name}: the timeline starts at the firmware's first DISCOVER`).toMatchObject({ source: 'dhcp', event: 'discover' })
  const steps = timeline.filter((e) => e.source === 'install').map((e) => e.detail.step)
  expect(steps, `${vm.name}: the installer's steps`).toEqual(expect.arrayContaining(['partition', 'image', 'bootloader', 'done']))

  const progress = (await api.get<BootProgress[]>('/api/v2/boot-progress')).find((p) => p.node_id === nodeId)
  expect(progress?.phase, `${vm.name}: boot progress`).toBe('alive')
  const at = (t: string | undefined): number | undefined => (t === undefined ? undefined : Number(((Date.parse(t) - vm.startedAtEpochMs) / 1000).toFixed(2)))
  const ph = progress?.phases ?? {}
  result.phases = {
    pxe_seconds: at(ph.pxe),
    discovery_seconds: at(ph.discovery),
    install_seconds: at(ph.install),
    local_disk_seconds: at(ph.local_disk),
    alive_seconds: at(ph.alive)
  }

  const pcap = await api.get<BootPcap>(`/api/v2/boot-pcap?node_id=${nodeId}`)
  const file = join(ARTIFACTS, `${vm.firmware}-boot.pcap`)
  await writeFile(file, Buffer.from(pcap.pcap_base64, 'base64'))
  result.pcap = relative(ROOT, file)
  const read = spawnSync('tcpdump', ['-r', file, '-nn'], { encoding: 'utf8', timeout: 30_000 })
  expect(read.status, `${vm.name}: tcpdump -r ${file}: ${read.stderr}`).toBe(0)
  expect(read.stdout, `${vm.name}: the pcap's DHCP exchange`).toMatch(/BOOTP\/DHCP, Request/)
  expect(read.stdout, `${vm.name}: the pcap's DHCP exchange`).toMatch(/BOOTP\/DHCP, Reply/)
  if (tftp) expect(read.stdout, `${vm.name}: the pcap's TFTP transfer`).toMatch(/\.69: +TFTP, length \d+, RRQ/)
  expect(read.stdout, `${vm.name}: the pcap's HTTP boot`).toMatch(/\.8702: Flags \[P\.\]/)
}

/**
 * The BMC's part in one machine's life: the commit's power-on (PXE once first), the install's reboot
 * (PXE once, then a power cycle: off and on), and the product's power reading agreeing with ipmitool.
 */
async function bmcRecord(current: Lab, vm: BmcVm, result: InstallResult, nodeId: number): Promise<void> {
  const chassis = await vm.chassisLog()
  result.bmc_chassis = chassis
  const first = vm.powerOns[0]
  const second = vm.powerOns[1]
  expect(first, `${vm.name}: the BMC powered the VM on`).toBeDefined()
  result.powered_on_by_bmc_seconds = Number((((first ?? 0) - vm.startedAt) / 1000).toFixed(2))
  expect(second, `${vm.name}: the install's reboot powered the VM on again through the BMC`).toBeDefined()
  result.rebooted_by_bmc_seconds = Number((((second ?? 0) - vm.startedAt) / 1000).toFixed(2))
  // commit: boot pxe, power 1; the install's reboot: boot pxe, power 0, power 1.
  const firstOn = chassis.indexOf('power 1')
  expect(chassis.slice(0, firstOn).includes('boot pxe'), `${vm.name}: PXE once before the commit's power-on: ${chassis.join(', ')}`).toBe(true)
  const rest = chassis.slice(firstOn + 1)
  expect(rest, `${vm.name}: the reboot through the BMC`).toEqual(expect.arrayContaining(['boot pxe', 'power 0', 'power 1']))
  expect(rest.indexOf('boot pxe')).toBeLessThan(rest.indexOf('power 0'))
  await expectPowerAgrees(current, vm, nodeId, 'on')
  // bmc-configure ran in band (before the install, on the discovery image): the BMC has the
  // framework's own user, whose generated password the product now powers with (never shown).
  const bmc = await current.app.get<{ source: string; username: string; has_password: boolean; address: string }>(`/api/v2/nodes/${nodeId}/bmc`)
  expect(bmc, `${vm.name}: the BMC as bmc-configure left it`).toMatchObject({ source: 'bmc-configure', username: 'crowbar', has_password: true, address: vm.bmc.address })
  expect(JSON.stringify(bmc)).not.toContain(vm.bmc.password)
  const users = await vm.byHand(['user', 'list', '1'])
  expect(users, `${vm.name}: ipmitool user list 1`).toMatch(/^3\s+crowbar\s.*ADMINISTRATOR/m)
  result.bmc_configured = { username: bmc.username, address: bmc.address }
}

describe('lab: discovery, then a Debian install on real VMs', () => {
  beforeAll(async () => {
    lab = await startLab(ARTIFACTS, ['discovery/vmlinuz', 'discovery/initrd.img', 'undionly.kpxe', 'ipxe.efi', 'os/debian-12-amd64.tar.zst'])
  }, 60_000)

  afterAll(stopLab, 60_000)

  test(`VMs (${firmwares.join(', ')}) are discovered, install Debian 12, boot it from disk and are managed again`, async () => {
    const started = performance.now()
    const current = lab as Lab
    const bmcFirmware = firmwares.includes('bios') ? 'bios' : undefined
    const results: InstallResult[] = await startVms(current, 1536, bmcFirmware)
    const fail = (i: number, err: unknown): void => {
      const r = results[i] as InstallResult
      r.error ??= messageOf(err)
    }
    const bmcIndex = current.vms.findIndex(isBmcVm)
    // The machine behind the BMC, on its own: enrolled and committed (which powers it on), then
    // discovered (its registration claims the enrolled node), installed, rebooted through the BMC.
    const bmcFlow = async (vm: BmcVm, result: InstallResult): Promise<void> => {
      const enrolled = await enrollAndCommit(current, vm)
      const node = await discover(current, vm, result, watchdog(vm), { name: enrolled.node.name, committedRoles: [INSTALL_ROLE, BMC_CONFIGURE_ROLE] })
      expect(node.id, 'the registration claimed the node enrolled by its BMC').toBe(enrolled.node.id)
      await install(current, vm, result, node, enrolled.noderoleId, watchdog(vm, INSTALLED_BOOT_FAILURE))
      await flightRecord(current, vm, result, node.id)
      await bmcRecord(current, vm, result, node.id)
    }
    // The others: discovered, then bound together in one deployment and committed.
    const othersFlow = async (): Promise<void> => {
      const others = current.vms.map((vm, i) => ({ vm, i })).filter(({ i }) => i !== bmcIndex)
      const discovered = await Promise.allSettled(others.map(({ vm, i }) => discover(current, vm, results[i] as InstallResult, watchdog(vm))))
      discovered.forEach((o, k) => o.status === 'rejected' && fail(others[k]?.i ?? -1, o.reason))
      const nodes = discovered.map((o) => (o.status === 'fulfilled' ? o.value : undefined))
      if (!nodes.some((n) => n !== undefined)) return
      // The operator's part: a deployment, the install role bound to each discovered node, commit.
      const deployment = await current.app.post<{ id: number; state: string }>('/api/v2/deployments', { name: 'lab-install' })
      expect(deployment.state).toBe('proposed')
      const bound = new Map<number, number>()
      for (const [k, node] of nodes.entries()) {
        if (!node) continue
        const nr = await current.app.post<ApiNodeRole>('/api/v2/noderoles', { deployment_id: deployment.id, node_id: node.id, role: INSTALL_ROLE })
        expect(nr.state).toBe('proposed')
        bound.set(k, nr.id)
      }
      const committed = await current.app.post<{ state: string }>(`/api/v2/deployments/${deployment.id}/commit`, {})
      expect(committed.state).not.toBe('proposed')
      const installs = await Promise.allSettled(
        others.map(async ({ vm, i }, k) => {
          const node = nodes[k]
          const noderoleId = bound.get(k)
          if (!node || noderoleId === undefined) return
          await install(current, vm, results[i] as InstallResult, node, noderoleId, watchdog(vm, INSTALLED_BOOT_FAILURE))
          await flightRecord(current, vm, results[i] as InstallResult, node.id)
        })
      )
      installs.forEach((o, k) => o.status === 'rejected' && fail(others[k]?.i ?? -1, o.reason))
    }
    const bmcVm = current.vms[bmcIndex]
    const flows = await Promise.allSettled([bmcVm && isBmcVm(bmcVm) ? bmcFlow(bmcVm, results[bmcIndex] as InstallResult) : Promise.resolve(), othersFlow()])
    if (flows[0].status === 'rejected') fail(bmcIndex, flows[0].reason)
    if (flows[1].status === 'rejected') for (const i of results.keys()) if (i !== bmcIndex) fail(i, flows[1].reason)
    for (const [i, vm] of current.vms.entries()) {
      const r = results[i] as InstallResult
      if (isBmcVm(vm) && r.powered_on_by_bmc_seconds === undefined && vm.powerOns[0] !== undefined) {
        r.powered_on_by_bmc_seconds = Number(((vm.powerOns[0] - vm.startedAt) / 1000).toFixed(2))
      }
    }

    const report = {
      total_seconds: Number(((performance.now() - started) / 1000).toFixed(2)),
      // The fields first, then the rest of what was measured.
      nodes: results.map(({ firmware, first_api_request_seconds, discovered_seconds, installed_seconds, alive_on_disk_seconds, ...rest }) => ({
        firmware,
        first_api_request_seconds,
        discovered_seconds,
        installed_seconds,
        alive_on_disk_seconds,
        ...rest
      }))
    }
    await writeFile(join(ARTIFACTS, 'lab.json'), `${JSON.stringify(report, null, 2)}\n`)
    const failures = results.filter((r) => r.error)
    if (failures.length === 0) {
      await mkdir(dirname(RESULTS), { recursive: true })
      await writeFile(RESULTS, `${JSON.stringify(report, null, 2)}\n`)
    }
    process.stdout.write(`lab (install): ${JSON.stringify(report)}\n`)
    expect(failures.map((f) => `${f.firmware}: ${f.error}`)).toEqual([])
  }, 30 * 60_000)
})
