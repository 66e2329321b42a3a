// The jigs a role may name. A role whose jig is not active here can be installed but not bound
// (Crowbar refuses it the same way); which are active is the context's (app.ts composes it from the
// jigs the annealer runs), the built-in set when a context has no annealer behind it.
import type { DomainContext } from './context'

export const KNOWN_JIGS = ['noop', 'test', 'script', 'ansible'] as const
/** The jigs app.ts builds by default (jigs/noop-jig, test-jig, script-jig). */
export const BUILT_IN_JIGS: ReadonlySet<string> = new Set(['noop', 'test', 'script'])

export function activeJigsOf(ctx: DomainContext): ReadonlySet<string> {
  return ctx.activeJigs ?? BUILT_IN_JIGS
}
