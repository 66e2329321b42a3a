// Secrets a role's scripts need at run time (a BMC password to set), handed to the script jig for
// one run and never kept: not in the noderole's attributes or wall, not in the job's log. They
// reach the node on the script's stdin inside the SSH session (encrypted, host key pinned), under
// `crowbar_secrets`. A barclamp registers the provider of its role's secrets while it runs.
import { toDisposable, type Disposable } from '../base/lifecycle'

export interface SecretRun {
  readonly noderoleId: number
  readonly nodeId: number
  readonly role: string
}

/** Flat string values (the scripts read them with sed: no quotes or backslashes in them). */
export type SecretProvider = (run: SecretRun) => Promise<Readonly<Record<string, string>>>

export class SecretInputs {
  private readonly providers = new Map<string, SecretProvider>()

  register(role: string, provider: SecretProvider): Disposable {
    this.providers.set(role, provider)
    return toDisposable(() => {
      if (this.providers.get(role) === provider) this.providers.delete(role)
    })
  }

  /** The run's secrets, or undefined when its role has none. A provider's failure rejects (the run fails with it). */
  async for(run: SecretRun): Promise<Readonly<Record<string, string>> | undefined> {
    const provider = this.providers.get(run.role)
    if (!provider) return undefined
    const secrets = await provider(run)
    for (const [key, value] of Object.entries(secrets)) {
      if (!/^[a-z][a-z0-9_]{0,63}$/.test(key) || /["\\\n\r]/.test(value)) throw new Error(`secret ${JSON.stringify(key.slice(0, 64))} of role ${run.role} is not a flat name and value`)
    }
    return secrets
  }
}
