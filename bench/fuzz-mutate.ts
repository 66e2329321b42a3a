// npm run fuzz: byte-level mutations applied after the structured ones: bit flips, byte and
// 16-bit sets from values that sit on boundaries, truncation, extension, chunks duplicated,
// removed or copied over, and random bytes inserted. Each is bounded in the size it adds.
import type { Rng } from './fuzz-rng'

const INTERESTING_8 = [0x00, 0x01, 0x02, 0x03, 0x04, 0x10, 0x20, 0x2e, 0x3f, 0x40, 0x41, 0x5c, 0x7f, 0x80, 0x81, 0xbf, 0xc0, 0xc1, 0xfe, 0xff] as const
const INTERESTING_16 = [0x0000, 0x0001, 0x0002, 0x00ff, 0x0100, 0x01ff, 0x0200, 0x03ff, 0x0400, 0x7fff, 0x8000, 0xc000, 0xc00c, 0xfffe, 0xffff] as const

/** Largest input a mutation may produce: a UDP datagram's ceiling on loopback. */
export const MAX_INPUT = 65507

export type Mutation = (buf: Buffer, rng: Rng) => Buffer

const at = (buf: Buffer, rng: Rng): number => rng.int(buf.length)

export const byteMutations: readonly Mutation[] = [
  function flipBit(buf, rng) {
    if (buf.length === 0) return buf
    const i = at(buf, rng)
    buf[i] = (buf[i] as number) ^ (1 << rng.int(8))
    return buf
  },
  function setByte(buf, rng) {
    if (buf.length === 0) return buf
    buf[at(buf, rng)] = rng.chance(0.6) ? rng.pick(INTERESTING_8) : rng.int(256)
    return buf
  },
  function setU16(buf, rng) {
    if (buf.length < 2) return buf
    const value = rng.pick(INTERESTING_16)
    const i = rng.int(buf.length - 1)
    if (rng.chance(0.5)) buf.writeUInt16BE(value, i)
    else buf.writeUInt16LE(value, i)
    return buf
  },
  function addToByte(buf, rng) {
    if (buf.length === 0) return buf
    const i = at(buf, rng)
    buf[i] = ((buf[i] as number) + rng.range(-8, 8)) & 0xff
    return buf
  },
  function truncate(buf, rng) {
    return buf.subarray(0, rng.int(buf.length + 1))
  },
  function extend(buf, rng) {
    const n = rng.chance(0.8) ? rng.range(1, 64) : rng.range(65, 4096)
    const fill = rng.int(3)
    const tail = fill === 0 ? Buffer.alloc(n) : fill === 1 ? rng.bytes(n) : Buffer.alloc(n, rng.pick(INTERESTING_8))
    return Buffer.concat([buf, tail]).subarray(0, MAX_INPUT)
  },
  function duplicateChunk(buf, rng) {
    if (buf.length === 0) return buf
    const start = at(buf, rng)
    const end = Math.min(buf.length, start + rng.range(1, 64))
    const times = rng.chance(0.9) ? 1 : rng.range(2, 64)
    const chunk = buf.subarray(start, end)
    const insertAt = rng.int(buf.length + 1)
    return Buffer.concat([buf.subarray(0, insertAt), ...Array.from({ length: times }, () => chunk), buf.subarray(insertAt)]).subarray(0, MAX_INPUT)
  },
  function removeChunk(buf, rng) {
    if (buf.length === 0) return buf
    const start = at(buf, rng)
    const end = Math.min(buf.length, start + rng.range(1, 32))
    return Buffer.concat([buf.subarray(0, start), buf.subarray(end)])
  },
  function copyOver(buf, rng) {
    if (buf.length < 2) return buf
    const from = at(buf, rng)
    const to = at(buf, rng)
    const n = Math.min(rng.range(1, 32), buf.length - from, buf.length - to)
    buf.copy(buf, to, from, from + n)
    return buf
  },
  function insertRandom(buf, rng) {
    const insertAt = rng.int(buf.length + 1)
    return Buffer.concat([buf.subarray(0, insertAt), rng.bytes(rng.range(1, 16)), buf.subarray(insertAt)]).subarray(0, MAX_INPUT)
  }
]

/**
 * Up to `max` byte mutations on a copy of `buf`; a quarter of inputs get none, so the valid and
 * structurally mutated packets reach the policy code too.
 */
export function mutateBytes(buf: Buffer, rng: Rng, max = 4): Buffer {
  let out: Buffer = Buffer.from(buf)
  if (rng.chance(0.25)) return out
  const n = rng.range(1, max)
  for (let i = 0; i < n; i++) out = rng.pick(byteMutations)(out, rng)
  return out
}
