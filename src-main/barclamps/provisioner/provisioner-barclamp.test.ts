import { describe, expect, it } from 'vitest'
import { BarclampDefinitionSchema } from '../../model'
import { installedByThisRun, OS_INSTALL_ROLE, osInstallSystemData } from './os-install-role'
import { provisionerBarclamp } from './provisioner-barclamp'

describe('the provisioner barclamp', () => {
  it('declares provisioner-os-install as a script role on a managed node', () => {
    const def = BarclampDefinitionSchema.parse(provisionerBarclamp.definition)
    const role = def.roles.find((r) => r.name === OS_INSTALL_ROLE)
    expect(role).toMatchObject({ jig: 'script', requires: ['crowbar-managed-node'] })
    expect(role?.scripts).toHaveLength(1)
  })

  it('gives the install the API, the node and the admin key as system data', () => {
    expect(osInstallSystemData({ id: 3, name: 'n3.lab.example' }, 'http://192.0.2.1:8702', 'ssh-ed25519 AAAA crowbar-admin\n')).toEqual({
      provisioner: { install_api: 'http://192.0.2.1:8702', install_node_id: 3, install_fqdn: 'n3.lab.example', install_admin_key: 'ssh-ed25519 AAAA crowbar-admin' }
    })
    // Without boot services there is no API URL: the script falls back to the kernel line.
    expect(osInstallSystemData({ id: 3, name: 'n3.lab.example' }, undefined, 'k')).toEqual({
      provisioner: { install_node_id: 3, install_fqdn: 'n3.lab.example', install_admin_key: 'k' }
    })
  })

  it('reboots only after a run on the installer, never after the re-run on the installed OS', () => {
    expect(installedByThisRun({ provisioner: { installed: 'debian-12', firmware: 'bios', ran_on: 'installer' } })).toBe(true)
    expect(installedByThisRun({ provisioner: { installed: 'debian-12', firmware: 'bios', ran_on: 'installed-os' } })).toBe(false)
    expect(installedByThisRun({})).toBe(false)
    expect(installedByThisRun({ provisioner: 'installer' })).toBe(false)
  })
})
