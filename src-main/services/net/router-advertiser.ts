// IPv6 router advertisements for the admin network's prefix on the served interface. iPXE waits
// ~15 s for one before it carries on booting (the lab measured it); hosts also get their ULA
// address by SLAAC. We advertise the prefix only: router lifetime 0, we route nothing.
import { parseCidr } from '../../barclamps/network/ip-address'
import type { Logger } from '../../log'
import { sendRouterAdvertisement } from './bind-to-device'

/** RFC 4861's shortest interval between unsolicited advertisements (MinRtrAdvInterval >= 3 s). */
const INTERVAL_MS = 3_000

export class RouterAdvertiser {
  private timer: NodeJS.Timeout | undefined
  private readonly prefix: Buffer
  private readonly prefixLength: number
  private failed = false

  constructor(
    private readonly ifname: string,
    prefix: string,
    private readonly logger: Logger
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
    this.timer = setInterval(() => this.advertise(), INTERVAL_MS)
    this.timer.unref()
  }

  stop(): void {
    clearInterval(this.timer)
    this.timer = undefined
  }

  private advertise(): void {
    try {
      sendRouterAdvertisement(this.ifname, this.prefix, this.prefixLength, 86_400, 14_400)
      this.failed = false
    } catch (err) {
      // Said once per outage (no IPv6 link-local yet, IPv6 off), not every 3 s.
      if (!this.failed) this.logger.warn({ err, interface: this.ifname }, 'cannot send IPv6 router advertisements; IPv6 boot clients will wait for one')
      this.failed = true
    }
  }
}
