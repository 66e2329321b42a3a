// Addresses the store had no MAC for, remembered a while, so a stranger's flood (TFTP or HTTP from
// an address no DHCP reply of ours named) is not looked up once per packet. Bounded: the oldest
// is forgotten first. Shared by the recorder's events and its packets.
const MISS_MS = 5000
const MAX_MISSES = 4096

export class AddressMisses {
  private readonly misses = new Map<string, number>()

  /** `now`: milliseconds on any steady clock. */
  constructor(private readonly now: () => number) {}

  /** Whether the address was looked up in vain within the last few seconds. */
  recent(address: string): boolean {
    const missed = this.misses.get(address)
    return missed !== undefined && this.now() - missed < MISS_MS
  }

  note(address: string): void {
    this.misses.delete(address)
    this.misses.set(address, this.now())
    if (this.misses.size > MAX_MISSES) {
      const oldest = this.misses.keys().next().value
      if (oldest !== undefined) this.misses.delete(oldest)
    }
  }
}
