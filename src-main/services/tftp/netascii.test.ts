// The netascii converter, without files or sockets: each byte's mapping, and the same output
// however the input and the output are cut into pieces.
import { randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { NetasciiEncoder } from './netascii'

const bytes = (s: string): Buffer => Buffer.from(s, 'latin1')

/** An independent statement of the mapping: CR -> CR NUL first, then LF -> CR LF. */
const reference = (input: Buffer): Buffer => bytes(input.toString('latin1').replace(/\r/g, '\r\0').replace(/\n/g, '\r\n'))

/** Feeds `input` in pieces of `inPiece` bytes into outputs of `outPiece` bytes, as a source would. */
function convert(input: Buffer, inPiece: number, outPiece: number): Buffer {
  const encoder = new NetasciiEncoder()
  const outputs: Buffer[] = []
  let out = Buffer.alloc(outPiece)
  let used = 0
  const flush = (): void => {
    outputs.push(out.subarray(0, used))
    out = Buffer.alloc(outPiece)
    used = 0
  }
  for (let at = 0; at < input.length; at += inPiece) {
    let piece: Buffer = input.subarray(at, Math.min(at + inPiece, input.length))
    // Bounded: every call writes at least one byte or uses up the piece.
    while (piece.length > 0 || encoder.hasPending) {
      const step = encoder.encode(piece, out.subarray(used))
      piece = piece.subarray(step.consumed)
      used += step.written
      if (used === outPiece) flush()
    }
  }
  flush()
  return Buffer.concat(outputs)
}

const whole = (input: Buffer): Buffer => convert(input, Math.max(1, input.length), Math.max(1, 2 * input.length))

describe('netascii encoder', () => {
  it('sends LF as CR LF, CR as CR NUL, and CR LF in the file as CR NUL CR LF', () => {
    expect(whole(bytes('a\nb'))).toEqual(bytes('a\r\nb'))
    expect(whole(bytes('a\rb'))).toEqual(bytes('a\r\0b'))
    expect(whole(bytes('a\r\nb'))).toEqual(bytes('a\r\0\r\nb'))
    expect(whole(bytes('\n\n\r\r'))).toEqual(bytes('\r\n\r\n\r\0\r\0'))
  })

  it('passes NUL and 8-bit bytes through unchanged', () => {
    const input = Buffer.from([0x00, 0xff, 0x80, 0x00, 0x0c, 0x09, 0x7f])
    expect(whole(input)).toEqual(input)
  })

  it('turns an empty file into an empty stream', () => {
    const encoder = new NetasciiEncoder()
    expect(encoder.encode(Buffer.alloc(0), Buffer.alloc(16))).toEqual({ consumed: 0, written: 0 })
    expect(encoder.hasPending).toBe(false)
  })

  it('converts a CR that ends one input chunk the same as one inside a chunk', () => {
    // "x\r" then "\ny": the CR is the last byte of the first read, its LF the first of the next.
    expect(convert(bytes('x\r\ny\r'), 2, 64)).toEqual(bytes('x\r\0\r\ny\r\0'))
    expect(convert(bytes('x\r'), 2, 64)).toEqual(bytes('x\r\0'))
  })

  it('carries the second byte of CR LF or CR NUL into the next output when the first fills it', () => {
    const encoder = new NetasciiEncoder()
    const first = Buffer.alloc(2)
    expect(encoder.encode(bytes('a\nb'), first)).toEqual({ consumed: 2, written: 2 })
    expect(first).toEqual(bytes('a\r'))
    expect(encoder.hasPending).toBe(true)
    const second = Buffer.alloc(8)
    // The held LF goes out before the rest of the input.
    expect(encoder.encode(bytes('b'), second)).toEqual({ consumed: 1, written: 2 })
    expect(second.subarray(0, 2)).toEqual(bytes('\nb'))
    expect(encoder.hasPending).toBe(false)
    // A CR's NUL is held the same way, and an empty output takes nothing.
    expect(encoder.encode(bytes('\r'), Buffer.alloc(1))).toEqual({ consumed: 1, written: 1 })
    expect(encoder.encode(bytes('z'), Buffer.alloc(0))).toEqual({ consumed: 0, written: 0 })
    const third = Buffer.alloc(1)
    expect(encoder.encode(Buffer.alloc(0), third)).toEqual({ consumed: 0, written: 1 })
    expect(third).toEqual(Buffer.from([0]))
  })

  it('fills a 512-byte block exactly when 511 file bytes hold one LF, the CR LF split or not', () => {
    // LF last: its CR is byte 511 and its LF byte 512 of the block.
    const lfLast = Buffer.concat([Buffer.alloc(510, 0x61), bytes('\n')])
    expect(whole(lfLast)).toHaveLength(512)
    expect(convert(lfLast, 64, 512)).toEqual(reference(lfLast))
    // CR last, cut into 511-byte outputs: the CR ends the first output and its NUL opens the next.
    const crLast = Buffer.concat([Buffer.alloc(510, 0x61), bytes('\r')])
    const split = convert(crLast, 511, 511)
    expect(split).toHaveLength(512)
    expect(split.subarray(509)).toEqual(bytes('a\r\0'))
  })

  it('gives the same stream for any cut of input and output as the whole-file mapping', () => {
    const text = bytes('line one\nline two\r\nbare\rcr\n\n\r\r\n\0end')
    const random = randomBytes(4096)
    for (const input of [text, random, Buffer.alloc(300, 0x0a), Buffer.alloc(300, 0x0d)]) {
      const expected = reference(input)
      for (const [inPiece, outPiece] of [
        [1, 1],
        [1, 2],
        [3, 5],
        [7, 512],
        [512, 511],
        [4096, 1468]
      ] as const) {
        expect(convert(input, inPiece, outPiece)).toEqual(expected)
      }
    }
  })
})
