// What a jig is: something that runs one noderole against its node and returns the wall (the data
// its children receive). The annealer picks the jig by the role's `jig` name.
import type { JsonObject } from '../domain/attributes'

export interface JigTarget {
  readonly nodeId: number
  /** The node's FQDN. */
  readonly name: string
  /** Addresses on the admin network the framework may reach the node at, in preference order. */
  readonly addresses: readonly string[]
}

export interface JigRun {
  readonly noderoleId: number
  readonly role: { readonly name: string; readonly scripts: readonly string[] }
  readonly node: JigTarget
  /** The merged run input (attribute injection). */
  readonly attributes: JsonObject
  /** Aborted when the run must stop (timeout, shutdown). */
  readonly signal: AbortSignal
}

export type JigOutcome =
  | { readonly ok: true; readonly wall: JsonObject; readonly log: string }
  /** `nodeUnreachable`: the node failed the aliveness test (ping + SSH): mark it dead. */
  | { readonly ok: false; readonly log: string; readonly nodeUnreachable?: boolean }

export interface Jig {
  readonly name: string
  run(run: JigRun): Promise<JigOutcome>
}
