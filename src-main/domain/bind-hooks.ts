// The barclamps' part in binding: hooks that add system data to a noderole when it is bound (the
// network's addresses, the provisioner's install data). A barclamp registers its hook when it
// starts and releases it with the Disposable it gets back.
import { toDisposable, type Disposable } from '../base/lifecycle'
import type { BindHook } from './context'

export class BindHookRegistry {
  private readonly hooks: BindHook[] = []

  register(hook: BindHook): Disposable {
    this.hooks.push(hook)
    return toDisposable(() => {
      const at = this.hooks.indexOf(hook)
      if (at >= 0) this.hooks.splice(at, 1)
    })
  }

  /** In registration order; each one's result is merged into the noderole's system data. */
  get all(): readonly BindHook[] {
    return this.hooks
  }
}
