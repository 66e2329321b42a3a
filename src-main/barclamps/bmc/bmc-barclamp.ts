// The BMC barclamp (DESIGN.md §9): nodes with a BMC are powered through it. While the app runs it
// powers on, at each commit, the nodes that are not alive (Crowbar 2.0's node_role.rb), and keeps
// every BMC's power state current at a modest rate. The power itself is the PowerManager's (the
// operator API and the provisioner's install reboot use the same one).
import { DisposableStore, toDisposable } from '../../base/lifecycle'
import type { BarclampModule } from '../barclamp-module'

export const bmcBarclamp: BarclampModule = {
  name: 'bmc',
  start(app) {
    const store = new DisposableStore()
    const power = app.power
    if (!power) return store
    const log = app.logger.child({ subsystem: 'bmc' })
    const commits = app.domain.commits
    if (commits) {
      store.add(
        commits.register((e) => {
          void power.powerOnForWork(e.nodeIds).catch((err: unknown) => log.error({ err, deployment: e.deploymentId }, 'powering on after a commit failed'))
        })
      )
    }
    power.start()
    store.add(toDisposable(() => power.stop()))
    return store
  }
}
