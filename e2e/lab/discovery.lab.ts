// The lab: real VMs (SeaBIOS and OVMF, under TCG) with empty disks PXE-boot from Crowbar's own
// DHCP/TFTP/HTTP services in a network namespace, boot the discovery image, register, and are
// reached over SSH as root with the admin key. Writes bench/results/lab.json with the timings.
import { mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises'
import { rmSync, writeFileSync } from 'node:fs'
import { homedir, tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { startLabApp, type LabApp } from './lab-app'
import { createLabNetwork, removeStaleLabNamespaces, type LabNetwork } from './lab-network'
import { FIRMWARES, formatSerial, startVm, type Firmware, type LabVm } from './lab-vm'
import { captureWire, type WireCapture } from './lab-wire'

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
const IMAGES = process.env.CROWBAR_IMAGES_DIR ?? join(homedir(), '.cache', 'crowbar-desktop', 'images')
/** Another (built) checkout to run, e.g. to try a service fix; default: this one. */
const APP_ROOT = process.env.CROWBAR_LAB_APP_ROOT ?? ROOT
const ARTIFACTS = join(ROOT, 'test-results', 'lab')
const RESULTS = join(ROOT, 'bench', 'results', 'lab.json')
const API_PORT = 8702

// Under TCG on 2 shared cores a boot takes 15-60 s; these bounds leave room without hiding a hang.
const DHCP_TIMEOUT_MS = 90_000
const REGISTER_TIMEOUT_MS = 240_000
const SSH_TIMEOUT_MS = 60_000
const ROLES_TIMEOUT_MS = 120_000
const POLL_MS = 250
/** Console lines that end a boot: fail at once with them instead of waiting out a bound. */
const BOOT_FAILURE = /No more network devices|No bootable device|Kernel panic|PXE-E\d\d|BdsDxe: failed to load|EFI Internal Shell|crowbar-discovery \[[^\]]*\]: FAILED/

interface ApiNode {
  readonly id: number
  readonly name: string
  readonly alive: boolean
  readonly hint: { readonly admin_address?: string }
  readonly discovery: { readonly macs?: readonly string[]; readonly cpus?: number; readonly memory_mb?: number; readonly disks?: ReadonlyArray<{ name: string; size_bytes: number }> }
}
interface ApiNodeRole {
  readonly id: number
  readonly node_id: number
  readonly state: string
}

interface NodeResult {
  firmware: Firmware
  mac: string
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
const firmwares = (process.env.CROWBAR_LAB_VMS ?? 'bios,uefi').split(',').map((f) => f.trim()) as Firmware[]
const nic = process.env.CROWBAR_LAB_NIC === 'e1000' ? 'e1000' : 'virtio-net-pci'

let network: LabNetwork | undefined
let app: LabApp | undefined
let wire: WireCapture | undefined
let workDir: string | undefined
const vms: LabVm[] = []

/** On SIGINT/SIGTERM: no time for promises; kill by PID, delete the namespace and the data, keep the consoles. */
function emergencyStop(): void {
  for (const vm of vms) {
    try {
      process.kill(vm.pid, 'SIGKILL')
      writeFileSync(vm.serialPath, formatSerial(vm.lines))
    } catch {
      // gone, or no artifacts dir
    }
  }
  for (const pid of [app?.pid, wire?.pid]) {
    try {
      if (pid) process.kill(pid, 'SIGKILL')
    } catch {
      // gone
    }
  }
  network?.stopNow()
  if (workDir) rmSync(workDir, { recursive: true, force: true })
}
const onSignal = (sig: NodeJS.Signals): void => {
  emergencyStop()
  process.exit(sig === 'SIGINT' ? 130 : 143)
}

function seconds(vm: LabVm, epochMs?: number): number {
  return Number((((epochMs ?? Date.now()) - vm.startedAtEpochMs) / 1000).toFixed(2))
}

/** Polls `probe` until it returns a value, bounded by `timeoutMs`. */
async function poll<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined> | T | undefined, abandoned: () => boolean): Promise<T> {
  const deadline = Date.now() + timeoutMs
  let lastError = ''
  for (;;) {
    if (abandoned()) throw new Error(`${what}: abandoned`)
    try {
      const value = await probe()
      if (value !== undefined) return value
    } catch (err) {
      lastError = err instanceof Error ? err.message : String(err)
    }
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs / 1000} s${lastError ? ` (last error: ${lastError})` : ''}`)
    await new Promise((r) => setTimeout(r, POLL_MS))
  }
}

async function provision(vm: LabVm, result: NodeResult): Promise<void> {
  const { mac } = vm
  const current = network as LabNetwork
  const api = app as LabApp
  const capture = wire as WireCapture
  // Every wait below also ends when the console shows the boot has failed.
  let failed = false
  const fatal = vm
    .waitForLine(BOOT_FAILURE, 3_600_000)
    .then((line) => {
      const context = vm.lines.filter((l) => l.seconds <= line.seconds).slice(-6)
      throw new Error(`${vm.name}: the boot failed at ${line.seconds.toFixed(1)} s:\n${context.map((l) => `  ${l.text}`).join('\n')}`)
    })
    .catch((err: unknown) => {
      // A failure line, or qemu gone: either way the polls below can stop.
      failed = true
      throw err
    })
  fatal.catch(() => undefined)
  const waitFor = <T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined> | T | undefined): Promise<T> =>
    Promise.race([poll(what, timeoutMs, probe, () => failed), fatal])

  const ack = await waitFor(`${vm.name}: a DHCP ACK for ${mac}`, DHCP_TIMEOUT_MS, () => capture.acks.find((a) => a.mac === mac))
  result.dhcp_seconds = seconds(vm, ack.epochMs)

  const node = await waitFor(`${vm.name}: a node registered with MAC ${mac}`, REGISTER_TIMEOUT_MS, async () => {
    const nodes = await api.get<ApiNode[]>('/api/v2/nodes')
    return nodes.find((n) => n.discovery.macs?.includes(mac))
  })
  result.discovered_seconds = seconds(vm)
  result.name = node.name
  expect(node.name).toBe(`d${mac.replaceAll(':', '-')}.${node.name.split('.').slice(1).join('.')}`)
  expect(node.discovery.cpus).toBeGreaterThanOrEqual(1)
  expect(node.discovery.memory_mb).toBeGreaterThan(512)
  expect(node.discovery.disks).toContainEqual({ name: 'vda', size_bytes: 8 * 1024 ** 3 })

  // The image's first API request: from an address this MAC was given, to the node-facing API.
  const addresses = new Set(capture.acks.filter((a) => a.mac === mac).map((a) => a.address))
  const first = await waitFor(`${vm.name}: a request to /api/node/ from ${[...addresses].join(', ')} on the wire`, 5_000, () =>
    capture.apiRequests.find((r) => addresses.has(r.from) && r.epochMs >= ack.epochMs)
  )
  result.first_api_request_seconds = seconds(vm, first.epochMs)
  expect(first.line).toMatch(/^POST \/api\/node\/register /)

  const address = node.hint.admin_address ?? ack.address
  result.address = address
  const keyPath = join(api.dataDir, 'ssh', 'admin_ed25519')
  const sshArgs = ['-i', keyPath, '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'BatchMode=yes']
  sshArgs.push('-o', 'ConnectTimeout=5', '-o', 'LogLevel=ERROR', `root@${address}`, 'cat /proc/cpuinfo; echo host=$(hostname)')
  const ssh = await waitFor(`${vm.name}: ssh root@${address} with the admin key`, SSH_TIMEOUT_MS, async () => {
    const r = await current.exec('ssh', sshArgs, 20_000)
    if (r.code !== 0) throw new Error(`ssh exit ${r.code}: ${r.stderr.trim()}`)
    return r.stdout
  })
  result.ssh_seconds = seconds(vm)
  expect(ssh).toMatch(/^processor\s*:\s*0/m)
  expect(ssh).toContain(`host=${node.name.split('.')[0]}`)

  await waitFor(`${vm.name}: node ${node.name} alive with every noderole active`, ROLES_TIMEOUT_MS, async () => {
    const [now, noderoles] = await Promise.all([api.get<ApiNode>(`/api/v2/nodes/${node.id}`), api.get<ApiNodeRole[]>('/api/v2/noderoles')])
    const mine = noderoles.filter((nr) => nr.node_id === node.id)
    return now.alive && mine.length > 0 && mine.every((nr) => nr.state === 'active') ? mine : undefined
  })
  result.roles_active_seconds = seconds(vm)
}

/** What the lab needs on this machine, with the Debian package that has it. */
async function checkPrerequisites(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('the lab needs root: it creates network namespaces and tap devices')
  const needs: Array<[string, string]> = [
    ['/usr/bin/qemu-system-x86_64', 'qemu-system-x86'],
    ['/usr/bin/qemu-img', 'qemu-utils'],
    ['/usr/lib/ipxe/qemu/efi-virtio.rom', 'ipxe-qemu'],
    ['/usr/bin/tcpdump', 'tcpdump'],
    ['/usr/bin/ssh', 'openssh-client'],
    ['/usr/bin/curl', 'curl'],
    ['/dev/net/tun', 'the tun driver (modprobe tun)']
  ]
  if (firmwares.some((f) => f !== 'bios')) needs.push(['/usr/share/OVMF/OVMF_CODE_4M.fd', 'ovmf'])
  const missing: string[] = []
  for (const [path, pkg] of needs) await stat(path).catch(() => missing.push(`${path} (${pkg})`))
  if (missing.length > 0) throw new Error(`the lab is missing: ${missing.join(', ')}`)
}

describe('lab: PXE boot into discovery on real VMs', () => {
  beforeAll(async () => {
    process.once('SIGINT', onSignal)
    process.once('SIGTERM', onSignal)
    for (const f of firmwares) if (!FIRMWARES.includes(f)) throw new Error(`CROWBAR_LAB_VMS: unknown firmware "${f}" (one of ${FIRMWARES.join(', ')})`)
    if (nic === 'e1000' && firmwares.includes('uefi')) throw new Error('OVMF has no e1000 driver of its own: with CROWBAR_LAB_NIC=e1000 use uefi-ipxe, not uefi')
    await checkPrerequisites()
    for (const file of ['discovery/vmlinuz', 'discovery/initrd.img', 'undionly.kpxe', 'ipxe.efi']) {
      await stat(join(IMAGES, file)).catch(() => {
        throw new Error(`${join(IMAGES, file)} is missing: run \`npm run build:images\` first`)
      })
    }
    await stat(join(APP_ROOT, 'out', 'main', 'cli.js')).catch(() => {
      throw new Error(`${APP_ROOT}/out is not built: run \`npm run build\` first`)
    })
    await rm(ARTIFACTS, { recursive: true, force: true })
    await mkdir(ARTIFACTS, { recursive: true })
    await removeStaleLabNamespaces()
    workDir = await mkdtemp(join(tmpdir(), 'crowbar-lab-'))
    network = await createLabNetwork(firmwares.length)
    wire = captureWire(network.namespace, network.bridge, API_PORT, join(ARTIFACTS, 'wire.pcap'))
    await wire.ready
    app = await startLabApp({ network, root: APP_ROOT, dataDir: join(workDir, 'data'), bootAssets: IMAGES, logPath: join(ARTIFACTS, 'app.log') })
  }, 60_000)

  afterAll(async () => {
    await Promise.allSettled(vms.map((vm) => vm.stop()))
    await app?.stop()
    await wire?.stop()
    await network?.stop()
    if (workDir) await rm(workDir, { recursive: true, force: true })
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
  }, 60_000)

  test(`PXE-booted VMs (${firmwares.join(', ')}) reach discovery together: DHCP, registration, SSH with the admin key, roles active`, async () => {
    const started = performance.now()
    const current = network as LabNetwork
    const results: NodeResult[] = []
    for (const [i, firmware] of firmwares.entries()) {
      const mac = `52:54:00:c8:00:${(i + 1).toString(16).padStart(2, '0')}`
      const vm = await startVm({
        name: `${firmware}-vm`,
        firmware,
        nic,
        namespace: current.namespace,
        tap: current.taps[i] as string,
        mac,
        dir: workDir as string,
        serialPath: join(ARTIFACTS, `${firmware}-vm.serial.log`)
      })
      vms.push(vm)
      results.push({ firmware, mac })
    }
    const outcomes = await Promise.allSettled(vms.map((vm, i) => provision(vm, results[i] as NodeResult)))
    outcomes.forEach((o, i) => {
      if (o.status === 'rejected') (results[i] as NodeResult).error = o.reason instanceof Error ? o.reason.message : String(o.reason)
    })
    const report = { total_seconds: Number(((performance.now() - started) / 1000).toFixed(2)), nodes: results }
    await writeFile(join(ARTIFACTS, 'lab.json'), `${JSON.stringify(report, null, 2)}\n`)
    const failures = results.filter((r) => r.error)
    if (failures.length === 0) {
      await mkdir(dirname(RESULTS), { recursive: true })
      await writeFile(RESULTS, `${JSON.stringify(report, null, 2)}\n`)
    }
    process.stdout.write(`lab: ${JSON.stringify(report)}\n`)
    expect(failures.map((f) => `${f.firmware}: ${f.error}`)).toEqual([])
  }, 600_000)
})
