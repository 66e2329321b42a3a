// The install script run by a real shell (dash and busybox ash, the two it meets) in its plan-only
// mode and on an "installed OS" (a marker file): attribute parsing and the re-run's wall.
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { deepMerge, type JsonObject } from '../../domain/attributes'
import { INSTALLED_MARKER, OS_INSTALL_SCRIPT } from './os-install-script'
import { installedByThisRun, osInstallSystemData } from './os-install-role'
import { provisionerBarclamp } from './provisioner-barclamp'

const SHELLS = ['/bin/dash', '/usr/bin/busybox'].filter((sh) => spawnSync(sh, [...(sh.endsWith('busybox') ? ['sh'] : []), '-c', 'true']).status === 0)
const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGxT2k3Jb3a0D2hH1x4x8mS0eYx3rN1yq8mZJf0bq1Qb crowbar-admin'

let dir: string
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'os-install-'))
})
afterEach(() => rmSync(dir, { recursive: true, force: true }))

/** What the script jig passes: the merged attributes as one line of JSON. */
function attributes(user: JsonObject = {}): string {
  const defaults = provisionerBarclamp.definition?.roles[0]?.attributes ?? {}
  const system = osInstallSystemData({ id: 7, name: 'd52-54-00-c8-00-01.lab.example' }, 'http://198.18.50.1:8702', `${KEY}\n`)
  const parents = { crowbar: { network: { admin: { v4: { address: '198.18.50.20' } } } } }
  return JSON.stringify([parents, system, user].reduce((acc, layer) => deepMerge(acc, layer), defaults as JsonObject))
}

function run(shell: string, input: string, env: Record<string, string>): { code: number | null; stdout: string; stderr: string } {
  const script = join(dir, 'os-install.sh')
  writeFileSync(script, OS_INSTALL_SCRIPT)
  const args = shell.endsWith('busybox') ? ['sh', script] : [script]
  const r = spawnSync(shell, args, { input, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env }, encoding: 'utf8', timeout: 10_000 })
  return { code: r.status, stdout: r.stdout, stderr: r.stderr }
}

describe('the provisioner-os-install script', () => {
  it('is plain POSIX sh with nothing left of the TypeScript around it', () => {
    expect(SHELLS.length).toBeGreaterThan(0)
    for (const shell of SHELLS) {
      const r = spawnSync(shell, shell.endsWith('busybox') ? ['sh', '-n', '-c', OS_INSTALL_SCRIPT] : ['-n', '-c', OS_INSTALL_SCRIPT])
      expect(r.status, `${shell}: ${String(r.stderr)}`).toBe(0)
    }
    expect(OS_INSTALL_SCRIPT.startsWith('#!/bin/sh\n')).toBe(true)
    expect(OS_INSTALL_SCRIPT).not.toMatch(/undefined|\[object |__MARKER__/)
    expect(OS_INSTALL_SCRIPT).toContain(`marker=${INSTALLED_MARKER}`)
  })

  it.each(SHELLS)('reads the API, the node and its key from the attributes JSON (%s)', (shell) => {
    const r = run(shell, attributes({ provisioner: { install_disk: '/dev/vda' } }), { OS_INSTALL_PLAN_ONLY: '1', OS_INSTALL_MARKER: join(dir, 'none') })
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    const plan = JSON.parse(r.stdout) as Record<string, string>
    expect(plan).toMatchObject({
      api: 'http://198.18.50.1:8702',
      node_id: '7',
      fqdn: 'd52-54-00-c8-00-01.lab.example',
      host: 'd52-54-00-c8-00-01',
      image: 'debian-12',
      image_path: 'os/debian-12-amd64.tar.zst',
      disk: '/dev/vda',
      root: '/dev/vda3',
      esp: '/dev/vda2',
      admin_key: KEY
    })
    expect(['bios', 'uefi']).toContain(plan.firmware)
  })

  it.each(SHELLS)('names the partitions of a disk whose name ends in a digit with a p (%s)', (shell) => {
    const r = run(shell, attributes({ provisioner: { install_disk: '/dev/nvme0n1' } }), { OS_INSTALL_PLAN_ONLY: '1', OS_INSTALL_MARKER: join(dir, 'none') })
    expect(JSON.parse(r.stdout)).toMatchObject({ root: '/dev/nvme0n1p3', esp: '/dev/nvme0n1p2' })
  })

  it.each(SHELLS)('on the installed OS reports what is installed and changes nothing (%s)', (shell) => {
    const marker = join(dir, 'installed')
    writeFileSync(marker, 'image=debian-12\nfirmware=uefi\ndisk=/dev/vda\nnode_id=7\n')
    const r = run(shell, attributes(), { OS_INSTALL_MARKER: marker })
    expect(r.code).toBe(0)
    const wall = JSON.parse(r.stdout) as JsonObject
    expect(wall).toEqual({ provisioner: { installed: 'debian-12', firmware: 'uefi', ran_on: 'installed-os' } })
    expect(installedByThisRun(wall)).toBe(false)
  })

  it.each(SHELLS)('refuses to install without a node id, before touching any disk (%s)', (shell) => {
    const input = JSON.stringify({ provisioner: { install_api: 'http://198.18.50.1:8702', install_image_path: 'os/x.tar.zst' } })
    const r = run(shell, input, { OS_INSTALL_MARKER: join(dir, 'none') })
    expect(r.code).toBe(1)
    expect(r.stderr).toContain('os-install: FAILED: no install_node_id attribute')
  })
})
