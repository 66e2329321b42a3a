// npm run fuzz: the seeded PRNG. Every input is drawn from its own generator, seeded from (run seed,
// protocol, input number), so one crash is replayed from those three numbers without the rest.

/** sfc32 (Chris Doty-Humphrey's small fast counter): 32-bit state words, good enough for fuzzing. */
export class Rng {
  private a: number
  private b: number
  private c: number
  private d: number

  constructor(seed: number, stream = 0, index = 0) {
    this.a = mix(seed ^ 0x9e3779b9)
    this.b = mix(stream ^ 0x243f6a88)
    this.c = mix(index ^ 0xb7e15162)
    this.d = 1
    // The first outputs of a fresh sfc32 state are correlated with the seed: discard them.
    for (let i = 0; i < 12; i++) this.u32()
  }

  u32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0
    this.d = (this.d + 1) | 0
    this.a = this.b ^ (this.b >>> 9)
    this.b = (this.c + (this.c << 3)) | 0
    this.c = (this.c << 21) | (this.c >>> 11)
    this.c = (this.c + t) | 0
    return t >>> 0
  }

  /** 0 .. n-1 (n >= 1). */
  int(n: number): number {
    return n <= 1 ? 0 : Math.floor((this.u32() / 0x1_0000_0000) * n)
  }

  /** lo .. hi, both included. */
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1)
  }

  chance(p: number): boolean {
    return this.u32() / 0x1_0000_0000 < p
  }

  pick<T>(items: readonly T[]): T {
    const item = items[this.int(items.length)]
    if (item === undefined) throw new RangeError('pick from an empty list')
    return item
  }

  bytes(n: number): Buffer {
    const out = Buffer.allocUnsafe(n)
    for (let i = 0; i < n; i++) out[i] = this.u32() & 0xff
    return out
  }
}

/** A 32-bit integer hash (the murmur3 finaliser), to spread seeds that differ by one bit. */
function mix(x: number): number {
  let h = x | 0
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  h ^= h >>> 16
  return h
}

/** Stream numbers: one per protocol and phase, so the same input number differs between them. */
export const STREAMS = { dhcp: 1, dns: 2, tftp: 3, 'dhcp-socket': 11, 'dns-socket': 12, 'tftp-socket': 13 } as const
export type StreamName = keyof typeof STREAMS

export function rngFor(seed: number, stream: StreamName, index: number): Rng {
  return new Rng(seed, STREAMS[stream], index)
}
