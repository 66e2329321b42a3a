// IPv6 router advertisements for the admin network's prefix on the served interface, every 3 s and
// in answer to each router solicitation. iPXE waits ~15 s for one before it carries on booting
// (the lab measured it), and with periodic ones only it still waits half the period on average;
// hosts also get their ULA address by SLAAC. We advertise the prefix only: router lifetime 0.
import { parseCidr } from '../../base/ip-address'
import type { Logger } from '../../base/log'
import { sendRouterAdvertisement, startSolicitationResponder, type SolicitationResponder } from './bind-to-device'

/** RFC 4861's shortest interval between unsolicited advertisements (MinRtrAdvInterval >= 3 s). */
const INTERVAL_MS = 3_000
const VALID_SECONDS = 86_400
const PREFERRED_SECONDS = 14_400

export class RouterAdvertiser {
  private timer: NodeJS.Timeout | undefined
  private responder: SolicitationResponder | undefined
  private readonly prefix: Buffer
  private readonly prefixLength: number
  private failed = false

  constructor(
    private readonly ifname: string,
    prefix: string,
    private readonly logger: Logger,
    /** Unsolicited advertisements' period (tests lengthen it to see the answers alone). */
    private readonly intervalMs: number = INTERVAL_MS
  ) {
    const cidr = parseCidr(prefix)
    if (typeof cidr === 'string' || cidr.family !== 6) throw new Error(`not an IPv6 prefix: ${prefix}`)
    this.prefix = Buffer.alloc(16)
    for (let i = 0; i < 16; i++) this.prefix[i] = Number((cidr.network >> BigInt(8 * (15 - i))) & 0xffn)
    this.prefixLength = cidr.prefixLength
  }

  start(): void {
    if (this.timer) return
    this.advertise()
    this.timer = setInterval(() => this.advertise(), this.intervalMs)
    this.timer.unref()
    try {
      this.responder = startSolicitationResponder(this.ifname, this.prefix, this.prefixLength, VALID_SECONDS, PREFERRED_SECONDS)
    } catch (err) {
      this.logger.warn({ err, interface: this.ifname }, 'cannot answer IPv6 router solicitations; boot clients wait for the periodic advertisement')
    }
  }

  /** Advertisements sent in answer to solicitations. */
  answered(): number {
    return this.responder?.answered() ?? 0
  }

  stop(): void {
    clearInterval(this.timer)
    this.timer = undefined
    this.responder?.stop()
    this.responder = undefined
  }

  private advertise(): void {
    try {
      sendRouterAdvertisement(this.ifname, this.prefix, this.prefixLength, VALID_SECONDS, PREFERRED_SECONDS)
      this.failed = false
    } catch (err) {
      // Said once per outage (no IPv6 link-local yet, IPv6 off), not every 3 s.
      if (!this.failed) this.logger.warn({ err, interface: this.ifname }, 'cannot send IPv6 router advertisements; IPv6 boot clients will wait for one')
      this.failed = true
    }
  }
}
