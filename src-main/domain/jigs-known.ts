// The jigs a role may name. Issue 3 gives each its runner; a role whose jig is not active here
// can be installed but not bound (Crowbar refuses it the same way).
export const KNOWN_JIGS = ['noop', 'test', 'script', 'ansible'] as const
export const ACTIVE_JIGS: ReadonlySet<string> = new Set(['noop', 'test', 'script'])
