// The netascii source over real files: converted a read at a time, forward only, overlaps served
// from the previous chunk, and a file that shrinks under it reported rather than cut short.
import { randomBytes } from 'node:crypto'
import { promises as fs } from 'node:fs'
import type { FileHandle } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { NetasciiSource, OctetSource } from './read-source'

const bytes = (s: string): Buffer => Buffer.from(s, 'latin1')
const reference = (input: Buffer): Buffer => bytes(input.toString('latin1').replace(/\r/g, '\r\0').replace(/\n/g, '\r\n'))

let dir = ''
const handles: FileHandle[] = []

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'crowbar-tftp-source-'))
})
afterEach(async () => {
  for (const h of handles.splice(0)) await h.close().catch(() => undefined)
})
afterAll(async () => {
  if (dir) await fs.rm(dir, { recursive: true, force: true })
})

async function fileWith(name: string, content: Buffer): Promise<{ handle: FileHandle; size: number }> {
  const file = path.join(dir, name)
  await fs.writeFile(file, content)
  const handle = await fs.open(file, 'r')
  handles.push(handle)
  return { handle, size: content.length }
}

/** Reads the whole stream in chunks of `chunk` bytes, each starting `back` bytes before the last one's end. */
async function readAll(source: NetasciiSource, chunk: number, back = 0): Promise<Buffer> {
  const parts: Buffer[] = []
  let position = 0
  let end = 0
  for (let guard = 0; guard < 100_000; guard++) {
    const out = Buffer.alloc(chunk)
    const n = await source.read(out, position)
    parts.push(out.subarray(end - position, n))
    end = position + n
    if (n < chunk) return Buffer.concat(parts)
    position = Math.max(0, end - back)
  }
  throw new Error('the stream did not end')
}

describe('netascii read source', () => {
  it('converts a file read in pieces smaller than a line, a CR ending a piece included', async () => {
    const content = bytes('first\r\nsecond\nthird\rfourth\n\n\0\xff\r')
    const { handle, size } = await fileWith('lines.txt', content)
    // 3-byte file reads put the CR of "first\r\n" at the end of the second read.
    expect(await readAll(new NetasciiSource(handle, size, 3), 512)).toEqual(reference(content))
  })

  it('splits CR LF across two chunks when the block boundary falls between them', async () => {
    const content = Buffer.concat([Buffer.alloc(511, 0x61), bytes('\nz')])
    const { handle, size } = await fileWith('boundary.txt', content)
    const source = new NetasciiSource(handle, size, 64)
    const first = Buffer.alloc(512)
    expect(await source.read(first, 0)).toBe(512)
    expect(first.subarray(510)).toEqual(bytes('a\r'))
    const second = Buffer.alloc(512)
    expect(await source.read(second, 512)).toBe(2)
    expect(second.subarray(0, 2)).toEqual(bytes('\nz'))
  })

  it('serves a chunk that starts inside the previous one from that chunk, then goes on converting', async () => {
    const content = randomBytes(20_000)
    const { handle, size } = await fileWith('random.bin', content)
    expect(await readAll(new NetasciiSource(handle, size, 1000), 4096, 1536)).toEqual(reference(content))
  })

  it('ends an empty file at once and a converted size of 2 x 512 with an empty last read', async () => {
    const empty = await fileWith('empty.txt', Buffer.alloc(0))
    expect(await new NetasciiSource(empty.handle, empty.size).read(Buffer.alloc(512), 0)).toBe(0)
    const lines = await fileWith('two-blocks.txt', Buffer.alloc(512, 0x0a))
    const source = new NetasciiSource(lines.handle, lines.size, 100)
    expect(await source.read(Buffer.alloc(1024), 0)).toBe(1024)
    expect(await source.read(Buffer.alloc(1024), 1024)).toBe(0)
  })

  it('reports a file that shrank below its size at open instead of ending the stream early', async () => {
    const { handle } = await fileWith('shrinking.txt', bytes('short\n'))
    await expect(new NetasciiSource(handle, 100).read(Buffer.alloc(512), 0)).rejects.toThrow('file shrank during transfer')
  })

  it('reads no further than the size at open, as octet mode does, however the file grows', async () => {
    const content = bytes('one\ntwo\n')
    const { handle } = await fileWith('growing.txt', Buffer.concat([content, bytes('added later\n')]))
    expect(await readAll(new NetasciiSource(handle, content.length), 512)).toEqual(reference(content))
  })

  it('refuses a read before the previous one or past what was converted', async () => {
    const { handle, size } = await fileWith('order.txt', Buffer.alloc(4000, 0x61))
    const source = new NetasciiSource(handle, size)
    await source.read(Buffer.alloc(1024), 0)
    await source.read(Buffer.alloc(1024), 512)
    await expect(source.read(Buffer.alloc(1024), 0)).rejects.toThrow(/outside/)
    await expect(source.read(Buffer.alloc(1024), 4000)).rejects.toThrow(/outside/)
  })

  it('octet reads the file where each position lies', async () => {
    const content = randomBytes(3000)
    const { handle, size } = await fileWith('octet.bin', content)
    const source = new OctetSource(handle, size)
    const out = Buffer.alloc(1000)
    expect(await source.read(out, 1500)).toBe(1000)
    expect(out).toEqual(content.subarray(1500, 2500))
    expect(source.wireSize).toBe(3000)
  })
})
