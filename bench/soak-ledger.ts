// bench:soak's ledger of what the DHCP storm was told: every ACK (MAC, address) it received and
// still holds (not released since). An address ACKed to a second MAC while the first still holds it
// is doubled; a held lease the store does not have (with the same MAC) after a crash is lost.
import type { StormEvent, StormStats } from './soak-storm'

export interface LeaseFinding {
  readonly mac: string
  readonly ip: string
  /** Where it was found: "after kill 3", "at the end", "renewal refused". */
  readonly when: string
  readonly detail: string
}

export class LeaseLedger {
  /** MAC -> the address its last ACK gave it, while it holds it. */
  private readonly held = new Map<string, string>()
  /** Address -> the MAC holding it. */
  private readonly holder = new Map<string, string>()
  /** Distinct (MAC, address) pairs ever ACKed. */
  private readonly pairs = new Set<string>()
  private readonly lostPairs = new Map<string, LeaseFinding>()
  /** MAC -> the address it released (each storm MAC releases at most once) and when (the caller's clock). */
  private readonly released = new Map<string, { ip: string; at: number }>()
  readonly doubled: LeaseFinding[] = []
  acks = 0
  renewAcks = 0
  releases = 0
  ready = false
  lastStats: StormStats | undefined
  finalStats: StormStats | undefined

  /** `at`: when the event was heard, in the caller's clock (seconds), kept for releases. */
  apply(event: StormEvent, at = 0): void {
    switch (event.e) {
      case 'ready':
        this.ready = true
        return
      case 'stats':
        this.lastStats = event.stats
        if (event.final) this.finalStats = event.stats
        return
      case 'ack': {
        if (event.renew) this.renewAcks++
        else this.acks++
        this.pairs.add(`${event.mac} ${event.ip}`)
        const other = this.holder.get(event.ip)
        if (other !== undefined && other !== event.mac) {
          this.doubled.push({ mac: event.mac, ip: event.ip, when: 'during the storm', detail: `ACKed to ${event.mac} while ${other} still held it (never released)` })
        }
        const before = this.held.get(event.mac)
        if (before !== undefined && before !== event.ip && this.holder.get(before) === event.mac) this.holder.delete(before)
        this.held.set(event.mac, event.ip)
        this.holder.set(event.ip, event.mac)
        return
      }
      case 'release':
        this.releases++
        this.released.set(event.mac, { ip: event.ip, at })
        this.drop(event.mac, event.ip)
        return
      case 'nak':
        if (event.renew && this.held.get(event.mac) === event.ip) {
          this.lose({ mac: event.mac, ip: event.ip, when: 'renewal refused', detail: `the server NAKed the renewal of a lease it had ACKed: ${event.message}` })
          this.drop(event.mac, event.ip)
        }
        return
    }
  }

  /** Compares what is held with the store's leases (MAC -> address); records and returns what is missing. */
  check(leases: ReadonlyMap<string, string>, when: string): LeaseFinding[] {
    const missing: LeaseFinding[] = []
    for (const [mac, ip] of this.held) {
      const stored = leases.get(mac)
      if (stored === ip) continue
      const finding = { mac, ip, when, detail: stored === undefined ? 'no lease for this MAC in the store' : `the store leases ${stored} to this MAC instead` }
      missing.push(finding)
      this.lose(finding)
    }
    return missing
  }

  /**
   * Store leases nobody holds: `released` ones the client gave back (the RELEASE was lost, or
   * never applied), `unacked` ones whose ACK the client never saw (a REQUEST cut off by a kill).
   */
  leftovers(leases: ReadonlyMap<string, string>): { released: Array<{ mac: string; ip: string; released_at_s: number }>; unacked: Array<{ mac: string; ip: string }> } {
    const out = { released: [] as Array<{ mac: string; ip: string; released_at_s: number }>, unacked: [] as Array<{ mac: string; ip: string }> }
    for (const [mac, ip] of leases) {
      if (this.held.get(mac) === ip) continue
      const r = this.released.get(mac)
      if (r?.ip === ip) out.released.push({ mac, ip, released_at_s: r.at })
      else out.unacked.push({ mac, ip })
    }
    return out
  }

  get acked(): number {
    return this.pairs.size
  }

  get holding(): number {
    return this.held.size
  }

  get lost(): LeaseFinding[] {
    return [...this.lostPairs.values()]
  }

  private lose(f: LeaseFinding): void {
    const key = `${f.mac} ${f.ip}`
    if (!this.lostPairs.has(key)) this.lostPairs.set(key, f)
  }

  private drop(mac: string, ip: string): void {
    if (this.held.get(mac) === ip) this.held.delete(mac)
    if (this.holder.get(ip) === mac) this.holder.delete(ip)
  }
}
