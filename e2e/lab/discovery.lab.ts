// The lab: real VMs (SeaBIOS and OVMF, under TCG) with empty disks PXE-boot from Crowbar's own
// DHCP/TFTP/HTTP services in a network namespace, boot the discovery image, register, and are
// reached over SSH as root with the admin key. The timings go to test-results/lab/discovery/lab.json
// (install.lab.ts writes bench/results/lab.json, which adds the install).
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { discover, firmwares, ROOT, startLab, startVms, stopLab, watchdog, type Lab, type NodeResult } from './lab-discovery'

const ARTIFACTS = join(ROOT, 'test-results', 'lab', 'discovery')
let lab: Lab | undefined

describe('lab: PXE boot into discovery on real VMs', () => {
  beforeAll(async () => {
    lab = await startLab(ARTIFACTS, ['discovery/vmlinuz', 'discovery/initrd.img', 'undionly.kpxe', 'ipxe.efi'])
  }, 60_000)

  afterAll(stopLab, 60_000)

  test(`PXE-booted VMs (${firmwares.join(', ')}) reach discovery together: DHCP, registration, SSH with the admin key, roles active`, async () => {
    const started = performance.now()
    const current = lab as Lab
    const results = await startVms(current)
    const outcomes = await Promise.allSettled(current.vms.map((vm, i) => discover(current, vm, results[i] as NodeResult, watchdog(vm))))
    outcomes.forEach((o, i) => {
      if (o.status === 'rejected') (results[i] as NodeResult).error = o.reason instanceof Error ? o.reason.message : String(o.reason)
    })
    const report = { total_seconds: Number(((performance.now() - started) / 1000).toFixed(2)), nodes: results }
    await writeFile(join(ARTIFACTS, 'lab.json'), `${JSON.stringify(report, null, 2)}\n`)
    process.stdout.write(`lab (discovery): ${JSON.stringify(report)}\n`)
    expect(results.filter((r) => r.error).map((f) => `${f.firmware}: ${f.error}`)).toEqual([])
  }, 600_000)
})
