// Who is told when a deployment's proposal is committed (Crowbar's node_role.rb: a commit powers on
// each node that is not alive; the BMC barclamp listens). Told after the transaction committed,
// never inside it: a listener's work (a BMC call of seconds) must not hold the store.
import { toDisposable, type Disposable } from '../base/lifecycle'

export interface DeploymentCommitted {
  readonly deploymentId: number
  /** The nodes of the noderoles the commit moved to todo or blocked (they have work to do now). */
  readonly nodeIds: readonly number[]
}

export type CommitListener = (event: DeploymentCommitted) => void

export class CommitListeners {
  private readonly listeners = new Set<CommitListener>()

  register(listener: CommitListener): Disposable {
    this.listeners.add(listener)
    return toDisposable(() => {
      this.listeners.delete(listener)
    })
  }

  notify(event: DeploymentCommitted): void {
    for (const listener of this.listeners) {
      try {
        listener(event)
      } catch {
        // A listener's failure is its own to log: the commit has happened either way.
      }
    }
  }
}
