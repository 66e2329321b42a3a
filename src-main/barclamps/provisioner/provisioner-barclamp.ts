// The provisioner barclamp: `provisioner-os-install` puts the OS image on a discovered node's disk
// (its script runs on the discovery image over SSH), then reboots it into the installed OS (see
// os-install-role.ts). It also answers booting machines over HTTP boot: their iPXE scripts and
// answer files, and the node-facing API the discovery image and installers call.
import { DisposableStore } from '../../base/lifecycle'
import { adminAddressesOf } from '../network/allocations'
import type { BarclampDefinitionInput, BarclampModule } from '../barclamp-module'
import { bootScriptRoutes } from './boot-scripts'
import { nodeApiRoutes } from './node-api'
import { OS_IMAGE, OS_INSTALL_ROLE, osInstallSystemData, rebootIntoInstalledOs } from './os-install-role'
import { OS_INSTALL_SCRIPT } from './os-install-script'

const definition: BarclampDefinitionInput = {
  name: 'provisioner',
  description: 'Installs operating systems on discovered nodes',
  version: '2.0',
  roles: [
    {
      name: OS_INSTALL_ROLE,
      description: 'Installs the OS image on the node’s disk from the discovery image, then reboots it into the installed OS',
      jig: 'script',
      requires: ['crowbar-managed-node'],
      flags: { destructive: true },
      // install_disk empty: the first fixed disk. Overridable per deployment or per noderole.
      attributes: { provisioner: { install_image: OS_IMAGE.name, install_image_path: OS_IMAGE.path, install_disk: '' } },
      scripts: [OS_INSTALL_SCRIPT]
    }
  ]
}

export const provisionerBarclamp: BarclampModule = {
  name: 'provisioner',
  definition,
  start(app) {
    const store = new DisposableStore()
    const publicKey = app.adminKeys.publicKey
    store.add(
      app.bindHooks.register((_t, bound) =>
        Promise.resolve(bound.role === OS_INSTALL_ROLE ? osInstallSystemData({ id: bound.node.id, name: bound.node.name }, app.bootUrl(), publicKey) : undefined)
      )
    )
    const deps = {
      keyPair: app.adminKeys,
      pins: app.hostKeys,
      addressesOf: (nodeId: number) => adminAddressesOf(app.domain.db, nodeId),
      logger: app.logger.child({ subsystem: 'provisioner' }),
      power: app.power
    }
    store.add(app.hooks.register(OS_INSTALL_ROLE, { on_active: (event, ctx) => rebootIntoInstalledOs(event, ctx, deps) }))
    store.add(app.bootRoutes.add(...bootScriptRoutes(app.domain, publicKey), ...nodeApiRoutes(app.domain, publicKey, undefined, app.bootRecorder, app.power)))
    return store
  }
}
