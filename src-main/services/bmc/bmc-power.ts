// What Crowbar asks of a node's BMC, whichever protocol it speaks (IPMI 2.0 or Redfish), and the one
// error it can fail with: a kind the caller can act on and a message an engineer can read.

export type PowerState = 'on' | 'off'

export interface PxeOnceOptions {
  /** Boot the network loader in UEFI mode (IPMI `options=efiboot`, Redfish `BootSourceOverrideMode: UEFI`). */
  readonly uefi?: boolean
}

/**
 * Power control of one node through its BMC. Every call ends within the client's bound (its
 * `timeoutMs`) with a result or a `BmcError`; none throws anything else.
 */
export interface BmcPower {
  /** The BMC's address as the messages name it. */
  readonly host: string
  status(): Promise<PowerState>
  on(): Promise<void>
  /** Hard off (the power button held down), not an ACPI shutdown request. */
  off(): Promise<void>
  /** Off, then on again. */
  cycle(): Promise<void>
  /** The reset line: a warm reboot without a power transition. */
  reset(): Promise<void>
  /** Boot from the network at the next boot only; later boots use the normal order again. */
  pxeOnce(options?: PxeOnceOptions): Promise<void>
}

export const BMC_ERROR_KINDS = [
  /** The BMC refused the user name or password (or the user's privilege). */
  'auth',
  /** No route to the BMC, or nobody answers at its address on the local network. */
  'unreachable',
  /** The BMC did not answer within the bound. */
  'timeout',
  /** The BMC (or its host) refused: nothing listens on the port, or the BMC turned the command down. */
  'refused',
  /** The BMC answered something we cannot use: a malformed or unexpected reply, no common cipher suite, a changed certificate, a missing tool. */
  'protocol'
] as const
export type BmcErrorKind = (typeof BMC_ERROR_KINDS)[number]

/** The one error a BmcPower call fails with; the message names the BMC and says what to check. */
export class BmcError extends Error {
  override readonly name = 'BmcError'
  constructor(
    readonly kind: BmcErrorKind,
    message: string
  ) {
    super(message)
  }
}

/** Most BMCs answer within a second or two; some take several seconds for a power transition. */
export const DEFAULT_BMC_TIMEOUT_MS = 12_000

/** "12 s" — how the bound is written in messages. */
export function secondsText(ms: number): string {
  const s = ms / 1000
  return `${Number.isInteger(s) ? s : s.toFixed(1)} s`
}
