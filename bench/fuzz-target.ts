// npm run fuzz: what each protocol's fuzz module provides, and how a failed check is reported.
import type { Rng } from './fuzz-rng'

export type Protocol = 'dhcp' | 'dns' | 'tftp'
export const PROTOCOLS: readonly Protocol[] = ['dhcp', 'dns', 'tftp']

export interface RunResult {
  /** The decoder returned a packet (not an error value). */
  readonly decoded: boolean
  /**
   * Milliseconds of what the server itself does with this datagram, when the target times it
   * apart from its own checks (re-encoding, second opinions); else the whole run is timed.
   */
  readonly serverMs?: number
}

export interface FuzzTarget {
  readonly protocol: Protocol
  /** One input: a valid packet, mutated by structure, then by bytes. */
  generate(rng: Rng): Buffer
  /**
   * Decoder, the pure policy on what decodes, and re-encoding. A throw escaping it is a crash; a
   * broken promise of the code under test (a reply that does not decode again, a policy value out
   * of its range) throws an `InvariantFailure`.
   */
  run(input: Buffer): RunResult
}

/** A property of the code under test that did not hold for one input. */
export class InvariantFailure extends Error {
  override readonly name = 'InvariantFailure'
}

export function check(condition: boolean, what: string): asserts condition {
  if (!condition) throw new InvariantFailure(what)
}
