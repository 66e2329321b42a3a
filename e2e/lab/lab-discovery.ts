// What the lab tests share: the run's setup and teardown (namespace, wire capture, the app, VMs,
// all stopped by PID also on a signal), bounded polling, and one VM's way into discovery: DHCP,
// registration, SSH with the admin key, discovery roles active.
import { mkdir, mkdtemp, rm, stat } from 'node:fs/promises'
import { rmSync, writeFileSync } from 'node:fs'
import { homedir, tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { expect } from 'vitest'
import { messageOf } from '../../src-main/base/error-message'
import { startLabApp, type LabApp } from './lab-app'
import { createLabNetwork, removeStaleLabNamespaces, type LabNetwork } from './lab-network'
import { FIRMWARES, formatSerial, startVm, type Firmware, type LabVm, type VmOptions } from './lab-vm'
import { startBmcVm, type BmcVm } from './lab-bmc'
import { captureWire, type WireCapture } from './lab-wire'

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
export const IMAGES = process.env.CROWBAR_IMAGES_DIR ?? join(homedir(), '.cache', 'crowbar-desktop', 'images')
/** Another (built) checkout to run, e.g. to try a service fix; default: this one. */
const APP_ROOT = process.env.CROWBAR_LAB_APP_ROOT ?? ROOT
export const RESULTS = join(ROOT, 'bench', 'results', 'lab.json')
const API_PORT = 8702

// Under TCG on 2 shared cores a boot takes 15-60 s; these bounds leave room without hiding a hang.
const DHCP_TIMEOUT_MS = 90_000
const REGISTER_TIMEOUT_MS = 240_000
const SSH_TIMEOUT_MS = 60_000
const ROLES_TIMEOUT_MS = 120_000
const POLL_MS = 250
/** Console lines that end a boot: fail at once with them instead of waiting out a bound. */
export const BOOT_FAILURE = /No more network devices|No bootable device|Kernel panic|PXE-E\d\d|BdsDxe: failed to load|EFI Internal Shell|crowbar-discovery \[[^\]]*\]: FAILED/

export interface ApiNode {
  readonly id: number
  readonly name: string
  readonly alive: boolean
  readonly bootenv: string
  readonly hint: { readonly admin_address?: string }
  readonly addresses: ReadonlyArray<{ readonly network: string; readonly family: 4 | 6; readonly address: string }>
  readonly discovery: {
    readonly macs?: readonly string[]
    readonly cpus?: number
    readonly memory_mb?: number
    readonly disks?: ReadonlyArray<{ name: string; size_bytes: number; removable?: boolean }>
    readonly nics?: ReadonlyArray<{ name: string; mac: string; speed_mbps: number | null; bus_path: string | null; link: boolean | null }>
    readonly model?: string | null
  }
}
export interface ApiNodeRole {
  readonly id: number
  readonly node_id: number
  readonly role: string
  readonly state: string
}

export interface NodeResult {
  firmware: Firmware
  mac: string
  node_id?: number
  name?: string
  address?: string
  /** Seconds from VM start: the DHCP ACK of the firmware's (PXE/iPXE) request. */
  dhcp_seconds?: number
  /** The booted discovery image's first request to the node-facing API (seen on the wire). */
  first_api_request_seconds?: number
  /** The node is listed by the operator API. */
  discovered_seconds?: number
  /** `ssh root@node cat /proc/cpuinfo` with the admin key works. */
  ssh_seconds?: number
  /** Every noderole of the node is active (the discovery roles ran). */
  roles_active_seconds?: number
  error?: string
}

/** Which VMs boot together (CROWBAR_LAB_VMS=bios,uefi,uefi-ipxe) and their NIC (CROWBAR_LAB_NIC=e1000). */
export const firmwares = (process.env.CROWBAR_LAB_VMS ?? 'bios,uefi').split(',').map((f) => f.trim()) as Firmware[]
export const nic = process.env.CROWBAR_LAB_NIC === 'e1000' ? 'e1000' : 'virtio-net-pci'

/** One lab run: a namespace with the app and a wire capture; VMs are added by `startVms`. */
export interface Lab {
  readonly network: LabNetwork
  readonly app: LabApp
  readonly wire: WireCapture
  readonly vms: LabVm[]
  readonly artifacts: string
  readonly workDir: string
  /** The admin private key, for ssh -i. */
  readonly keyPath: string
}

let current: { network?: LabNetwork; app?: LabApp; wire?: WireCapture; vms: LabVm[]; workDir?: string } = { vms: [] }

/** On SIGINT/SIGTERM: no time for promises; kill by PID, delete the namespace and the data, keep the consoles. */
function emergencyStop(): void {
  for (const vm of current.vms) {
    try {
      process.kill(vm.pid, 'SIGKILL')
      writeFileSync(vm.serialPath, formatSerial(vm.lines))
    } catch {
      // gone, or no artifacts dir
    }
  }
  for (const pid of [current.app?.pid, current.wire?.pid]) {
    try {
      if (pid) process.kill(pid, 'SIGKILL')
    } catch {
      // gone
    }
  }
  current.network?.stopNow()
  if (current.workDir) rmSync(current.workDir, { recursive: true, force: true })
}
const onSignal = (sig: NodeJS.Signals): void => {
  emergencyStop()
  process.exit(sig === 'SIGINT' ? 130 : 143)
}

/** What the lab needs on this machine, with the Debian package that has it. */
async function checkPrerequisites(images: readonly string[]): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('the lab needs root: it creates network namespaces and tap devices')
  const needs: Array<[string, string]> = [
    ['/usr/bin/qemu-system-x86_64', 'qemu-system-x86'],
    ['/usr/bin/qemu-img', 'qemu-utils'],
    ['/usr/lib/ipxe/qemu/efi-virtio.rom', 'ipxe-qemu'],
    ['/usr/bin/tcpdump', 'tcpdump'],
    ['/usr/bin/ssh', 'openssh-client'],
    ['/usr/bin/curl', 'curl'],
    ['/usr/bin/ipmi_sim', 'openipmi'],
    ['/usr/bin/ipmitool', 'ipmitool'],
    ['/dev/net/tun', 'the tun driver (modprobe tun)']
  ]
  if (firmwares.some((f) => f !== 'bios')) needs.push(['/usr/share/OVMF/OVMF_CODE_4M.fd', 'ovmf'])
  const missing: string[] = []
  for (const [path, pkg] of needs) await stat(path).catch(() => missing.push(`${path} (${pkg})`))
  if (missing.length > 0) throw new Error(`the lab is missing: ${missing.join(', ')}`)
  for (const file of images) {
    await stat(join(IMAGES, file)).catch(() => {
      throw new Error(`${join(IMAGES, file)} is missing: run \`npm run build:images\` first`)
    })
  }
  await stat(join(APP_ROOT, 'out', 'main', 'cli.js')).catch(() => {
    throw new Error(`${APP_ROOT}/out is not built: run \`npm run build\` first`)
  })
}

/** Namespace, wire capture and the app; `artifacts` is emptied first. */
export async function startLab(artifacts: string, images: readonly string[]): Promise<Lab> {
  process.once('SIGINT', onSignal)
  process.once('SIGTERM', onSignal)
  for (const f of firmwares) if (!FIRMWARES.includes(f)) throw new Error(`CROWBAR_LAB_VMS: unknown firmware "${f}" (one of ${FIRMWARES.join(', ')})`)
  if (nic === 'e1000' && firmwares.includes('uefi')) throw new Error('OVMF has no e1000 driver of its own: with CROWBAR_LAB_NIC=e1000 use uefi-ipxe, not uefi')
  await checkPrerequisites(images)
  await rm(artifacts, { recursive: true, force: true })
  await mkdir(artifacts, { recursive: true })
  await removeStaleLabNamespaces()
  current = { vms: [] }
  current.workDir = await mkdtemp(join(tmpdir(), 'crowbar-lab-'))
  current.network = await createLabNetwork(firmwares.length)
  current.wire = captureWire(current.network.namespace, current.network.bridge, API_PORT, join(artifacts, 'wire.pcap'))
  await current.wire.ready
  current.app = await startLabApp({ network: current.network, root: APP_ROOT, dataDir: join(current.workDir, 'data'), bootAssets: IMAGES, logPath: join(artifacts, 'app.log') })
  const { network, app, wire, vms, workDir } = current
  return { network, app, wire, vms, artifacts, workDir, keyPath: join(app.dataDir, 'ssh', 'admin_ed25519') }
}

/** Stops VMs, app, capture and namespace by PID, deletes the data. Safe after a partial start. */
export async function stopLab(): Promise<void> {
  await Promise.allSettled(current.vms.map((vm) => vm.stop()))
  await current.app?.stop()
  await current.wire?.stop()
  await current.network?.stop()
  if (current.workDir) await rm(current.workDir, { recursive: true, force: true })
  current = { vms: [] }
  process.off('SIGINT', onSignal)
  process.off('SIGTERM', onSignal)
}

/**
 * The lab BMC's address, on the lab namespace's `lo` (lab-bmc.ts), in the lab's bmc network
 * (198.18.60.0/24, install.lab.ts), whose one host address it is: bmc-configure's allocation.
 */
export const LAB_BMC_ADDRESS = '198.18.60.10'

/**
 * One VM per firmware, started together, each on its tap with an empty disk. The VM of
 * `bmcFirmware` (if any) is put behind a BMC (lab-bmc.ts) and stays off until the BMC powers it on.
 */
export async function startVms(lab: Lab, memoryMiB?: number, bmcFirmware?: Firmware): Promise<NodeResult[]> {
  const results: NodeResult[] = []
  for (const [i, firmware] of firmwares.entries()) {
    const mac = `52:54:00:c8:00:${(i + 1).toString(16).padStart(2, '0')}`
    const options: VmOptions = {
      name: `${firmware}-vm`,
      firmware,
      nic,
      namespace: lab.network.namespace,
      tap: lab.network.taps[i] as string,
      mac,
      dir: lab.workDir,
      serialPath: join(lab.artifacts, `${firmware}-vm.serial.log`),
      ...(memoryMiB ? { memoryMiB } : {})
    }
    const vm = firmware === bmcFirmware ? await startBmcVm({ ...options, bmcAddress: LAB_BMC_ADDRESS }) : await startVm(options)
    lab.vms.push(vm)
    results.push({ firmware, mac })
  }
  return results
}

export function isBmcVm(vm: LabVm): vm is BmcVm {
  return 'bmc' in vm
}

export function seconds(vm: LabVm, epochMs?: number): number {
  return Number((((epochMs ?? Date.now()) - vm.startedAtEpochMs) / 1000).toFixed(2))
}

/** Polls `probe` until it returns a value, bounded by `timeoutMs`. */
export async function poll<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined> | T | undefined, abandoned: () => boolean): Promise<T> {
  const deadline = Date.now() + timeoutMs
  let lastError = ''
  for (;;) {
    if (abandoned()) throw new Error(`${what}: abandoned`)
    try {
      const value = await probe()
      if (value !== undefined) return value
    } catch (err) {
      lastError = messageOf(err)
    }
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs / 1000} s${lastError ? ` (last error: ${lastError})` : ''}`)
    await new Promise((r) => setTimeout(r, POLL_MS))
  }
}

export type WaitFor = <T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined> | T | undefined) => Promise<T>

/** Bounded waits that also end as soon as the console shows a line matching `failure`. */
export function watchdog(vm: LabVm, failure: RegExp = BOOT_FAILURE): WaitFor {
  let failed = false
  const fatal = vm
    .waitForLine(failure, 3_600_000)
    .then((line) => {
      const context = vm.lines.filter((l) => l.seconds <= line.seconds).slice(-6)
      throw new Error(`${vm.name}: the boot failed at ${line.seconds.toFixed(1)} s:\n${context.map((l) => `  ${l.text}`).join('\n')}`)
    })
    .catch((err: unknown) => {
      // A failure line, or qemu gone: either way the polls can stop.
      failed = true
      throw err
    })
  fatal.catch(() => undefined)
  return <T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined> | T | undefined): Promise<T> =>
    Promise.race([poll(what, timeoutMs, probe, () => failed), fatal])
}

/** ssh root@address with the admin key, inside the namespace; any host key (the node's changes per boot). */
export function sshArgs(lab: Lab, address: string, command: string): string[] {
  return ['-i', lab.keyPath, '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'BatchMode=yes', '-o', 'ConnectTimeout=5', '-o', 'LogLevel=ERROR', `root@${address}`, command]
}

/** A node the operator enrolled by its BMC before it booted: its name, and the roles already committed for it. */
export interface Enrolled {
  readonly name: string
  /** Roles bound and committed before discovery (they run once it registers): not waited for here. */
  readonly committedRoles: readonly string[]
}

/**
 * One VM from power-on to discovery: DHCP, registration, SSH with the admin key, every noderole
 * active. `enrolled`: the machine's registration claims that node instead of making one.
 */
export async function discover(lab: Lab, vm: LabVm, result: NodeResult, waitFor: WaitFor, enrolled?: Enrolled): Promise<ApiNode> {
  const { mac } = vm
  const { app: api, wire: capture, network } = lab
  const ack = await waitFor(`${vm.name}: a DHCP ACK for ${mac}`, DHCP_TIMEOUT_MS, () => capture.acks.find((a) => a.mac === mac))
  result.dhcp_seconds = seconds(vm, ack.epochMs)

  const node = await waitFor(`${vm.name}: a node registered with MAC ${mac}`, REGISTER_TIMEOUT_MS, async () => {
    const nodes = await api.get<ApiNode[]>('/api/v2/nodes')
    return nodes.find((n) => n.discovery.macs?.includes(mac))
  })
  result.discovered_seconds = seconds(vm)
  result.node_id = node.id
  result.name = node.name
  expect(node.name).toBe(enrolled?.name ?? `d${mac.replaceAll(':', '-')}.${node.name.split('.').slice(1).join('.')}`)
  expect(node.bootenv).toBe('discovery')
  expect(node.discovery.cpus).toBeGreaterThanOrEqual(1)
  expect(node.discovery.memory_mb).toBeGreaterThan(512)
  // The VM's empty virtio disk, fixed (not removable): what the installers default to.
  expect(node.discovery.disks).toContainEqual({ name: 'vda', size_bytes: 8 * 1024 ** 3, removable: false })
  // The NIC inventory conduits resolve against: the boot NIC with its PCI path (its bus order) and carrier.
  expect(node.discovery.nics).toContainEqual(expect.objectContaining({ mac, bus_path: expect.stringMatching(/^[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]$/), link: true }))

  // The image's first API request: from an address this MAC was given, to the node-facing API.
  const addresses = new Set(capture.acks.filter((a) => a.mac === mac).map((a) => a.address))
  const first = await waitFor(`${vm.name}: a request to /api/node/ from ${[...addresses].join(', ')} on the wire`, 5_000, () =>
    capture.apiRequests.find((r) => addresses.has(r.from) && r.epochMs >= ack.epochMs)
  )
  result.first_api_request_seconds = seconds(vm, first.epochMs)
  expect(first.line).toMatch(/^POST \/api\/node\/register /)

  const address = node.hint.admin_address ?? ack.address
  result.address = address
  const ssh = await waitFor(`${vm.name}: ssh root@${address} with the admin key`, SSH_TIMEOUT_MS, async () => {
    const r = await network.exec('ssh', sshArgs(lab, address, 'cat /proc/cpuinfo; echo host=$(hostname)'), 20_000)
    if (r.code !== 0) throw new Error(`ssh exit ${r.code}: ${r.stderr.trim()}`)
    return r.stdout
  })
  result.ssh_seconds = seconds(vm)
  expect(ssh).toMatch(/^processor\s*:\s*0/m)
  expect(ssh).toContain(`host=${node.name.split('.')[0]}`)

  await waitFor(`${vm.name}: node ${node.name} alive with every noderole active`, ROLES_TIMEOUT_MS, async () => {
    const [now, noderoles] = await Promise.all([api.get<ApiNode>(`/api/v2/nodes/${node.id}`), api.get<ApiNodeRole[]>('/api/v2/noderoles')])
    const mine = noderoles.filter((nr) => nr.node_id === node.id && !enrolled?.committedRoles.includes(nr.role))
    return now.alive && mine.length > 0 && mine.every((nr) => nr.state === 'active') ? mine : undefined
  })
  result.roles_active_seconds = seconds(vm)
  return node
}
