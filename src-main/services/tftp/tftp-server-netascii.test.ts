// netascii reads on the wire (RFC 1350): tftp-hpa in its default mode and in binary mode, and a raw
// UDP client that checks the converted bytes, block boundaries, the OACK and windows.
import { randomBytes } from 'node:crypto'
import { promises as fs } from 'node:fs'
import path from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { encodeAck, encodeRequest, type TftpOption } from './tftp-codec'
import { UdpTestClient } from '../../testing/tftp-test-client'
import { opts, probe, run, sha256, useTftpFixture, waitFor } from '../../testing/tftp-test-fixture'
import type { TftpTransferEvent } from './tftp-server'

const fx = useTftpFixture()

const bytes = (s: string): Buffer => Buffer.from(s, 'latin1')
/** The mapping stated independently of the code under test: CR -> CR NUL, then LF -> CR LF. */
const netascii = (input: Buffer): Buffer => bytes(input.toString('latin1').replace(/\r/g, '\r\0').replace(/\n/g, '\r\n'))
const textOf = (lines: number): Buffer =>
  bytes(Array.from({ length: lines }, (_, i) => `line ${i}: ${'abcdefghij'.repeat(i % 13)}\n`).join(''))

const TEXT = textOf(3000)
/** Over 256 KiB converted, so a transfer needs several chunk reads. */
const LONG_TEXT = textOf(12_000)
const MIXED = bytes('unix line\nwindows line\r\nold mac line\rtwo bare\r\rNUL\0here\n\n')
const BINARY = Buffer.concat([randomBytes(70_000), bytes('\r\n\r\0\n\r'), Buffer.alloc(100, 0x0d), Buffer.alloc(100, 0x0a)])
/** 510 bytes and a LF: exactly 512 on the wire. */
const EXACT_512 = Buffer.concat([Buffer.alloc(510, 0x61), bytes('\n')])

beforeAll(async () => {
  await fs.writeFile(path.join(fx.root, 'text.txt'), TEXT)
  await fs.writeFile(path.join(fx.root, 'long.txt'), LONG_TEXT)
  await fs.writeFile(path.join(fx.root, 'mixed.txt'), MIXED)
  await fs.writeFile(path.join(fx.root, 'binary.bin'), BINARY)
  await fs.writeFile(path.join(fx.root, 'exact-512-netascii.txt'), EXACT_512)
})

/** tftp-hpa's `get`; no `-m` leaves its default mode, netascii. */
async function hpaGet(port: number, name: string, out: string, mode?: 'netascii' | 'binary'): Promise<Buffer> {
  const args = [...(mode ? ['-m', mode] : []), '127.0.0.1', String(port), '-c', 'get', name, out]
  await run('tftp', args, { timeout: 30_000 })
  return fs.readFile(out)
}

interface RawRead {
  readonly data: Buffer
  readonly oack: readonly TftpOption[] | null
  readonly dataPackets: number
  readonly lastBlockLength: number
}

/**
 * Reads in the given mode, ACKing after each window or the last block. With `keepOfWindow`
 * below the window size, it ACKs only that many blocks of each full window and drops the rest,
 * so the server must send the window again from inside the one it sent.
 */
async function rawRead(port: number, name: string, mode: string, options: readonly TftpOption[] = [], keepOfWindow?: number): Promise<RawRead> {
  const client = await UdpTestClient.open()
  try {
    await client.send(encodeRequest('rrq', name, mode, options), port)
    const blocks: Buffer[] = []
    let oack: TftpOption[] | null = null
    let blockSize = 512
    let windowSize = 1
    let peer = 0
    let sinceAck = 0
    let dataPackets = 0
    for (let guard = 0; guard < 100_000; guard++) {
      const r = await client.next(3000)
      if (!r) throw new Error(`no packet within 3 s reading ${name} (expecting block ${blocks.length + 1})`)
      peer ||= r.from.port
      const p = r.packet
      if (p.op === 'error') throw Object.assign(new Error(`TFTP error ${p.code}: ${p.message}`), { code: p.code })
      if (p.op === 'oack') {
        oack = [...p.options]
        for (const o of p.options) {
          if (o.name === 'blksize') blockSize = Number(o.value)
          if (o.name === 'windowsize') windowSize = Number(o.value)
        }
        await client.send(encodeAck(0), peer)
        continue
      }
      if (p.op !== 'data') throw new Error(`unexpected ${p.op}`)
      dataPackets++
      if (p.block !== ((blocks.length + 1) & 0xffff)) throw new Error(`block ${p.block} out of order (expecting ${blocks.length + 1})`)
      blocks.push(Buffer.from(p.data))
      if (p.data.length < blockSize) {
        await client.send(encodeAck(p.block), peer)
        return { data: Buffer.concat(blocks), oack, dataPackets, lastBlockLength: p.data.length }
      }
      if (++sinceAck < windowSize) continue
      sinceAck = 0
      if (keepOfWindow !== undefined && keepOfWindow < windowSize) blocks.splice(blocks.length - (windowSize - keepOfWindow))
      await client.send(encodeAck(blocks.length & 0xffff), peer)
    }
    throw new Error('the transfer did not end')
  } finally {
    await client.close()
  }
}

describe('tftp server in netascii mode', () => {
  it('tftp-hpa in its default mode (netascii) fetches a text file with LF line endings byte-identical', async () => {
    const s = await fx.startServer()
    const got = await hpaGet(s.port, 'text.txt', path.join(fx.base, 'hpa-text.out'))
    expect(sha256(got)).toBe(sha256(TEXT))
    // The default really was netascii: the server sent the converted stream.
    const done = await waitFor('the completion log', () => fx.logLines.find((l) => l.msg === 'TFTP transfer complete'))
    expect(done).toMatchObject({ mode: 'netascii', bytes: netascii(TEXT).length })
  })

  it('tftp-hpa in netascii mode fetches bare CRs, CR LF pairs, NULs and random bytes byte-identical', async () => {
    const s = await fx.startServer()
    expect(await hpaGet(s.port, 'mixed.txt', path.join(fx.base, 'hpa-mixed.out'), 'netascii')).toEqual(MIXED)
    expect(sha256(await hpaGet(s.port, 'binary.bin', path.join(fx.base, 'hpa-binary-ascii.out'), 'netascii'))).toBe(sha256(BINARY))
  })

  it('tftp-hpa with -m binary (octet) fetches a file full of CR, LF and NUL byte-identical and unconverted', async () => {
    const s = await fx.startServer()
    const got = await hpaGet(s.port, 'binary.bin', path.join(fx.base, 'hpa-binary.out'), 'binary')
    expect(sha256(got)).toBe(sha256(BINARY))
    const done = await waitFor('the completion log', () => fx.logLines.find((l) => l.msg === 'TFTP transfer complete'))
    expect(done).toMatchObject({ mode: 'octet', bytes: BINARY.length })
  })

  it('sends LF as CR LF and CR as CR NUL, and grants blksize but leaves tsize out of a netascii OACK', async () => {
    const s = await fx.startServer()
    const read = await rawRead(s.port, 'mixed.txt', 'netascii', opts(['tsize', '0'], ['blksize', '1024']))
    expect(read.oack).toEqual(opts(['blksize', '1024']))
    expect(read.data).toEqual(bytes('unix line\r\nwindows line\r\0\r\nold mac line\r\0two bare\r\0\r\0NUL\0here\r\n\r\n'))
    // The same request in octet mode still answers tsize with the file's size.
    expect((await rawRead(s.port, 'mixed.txt', 'octet', opts(['tsize', '0']))).oack).toEqual(opts(['tsize', String(MIXED.length)]))
  })

  it('ends a netascii stream of exactly 512 bytes with an empty second block', async () => {
    const s = await fx.startServer()
    const read = await rawRead(s.port, 'exact-512-netascii.txt', 'netascii')
    expect(read.data).toEqual(netascii(EXACT_512))
    expect(read.dataPackets).toBe(2)
    expect(read.lastBlockLength).toBe(0)
  })

  it('sends an empty file in netascii as one empty block', async () => {
    const s = await fx.startServer()
    const read = await rawRead(s.port, 'empty.bin', 'netascii', opts(['tsize', '0']))
    expect(read).toEqual({ data: Buffer.alloc(0), oack: null, dataPackets: 1, lastBlockLength: 0 })
  })

  it('streams a netascii file over several reads in full windows of 1468-byte blocks', async () => {
    const s = await fx.startServer()
    const read = await rawRead(s.port, 'long.txt', 'netascii', opts(['blksize', '1468'], ['windowsize', '8']))
    expect(sha256(read.data)).toBe(sha256(netascii(LONG_TEXT)))
  })

  it('resends from inside a window when the client ACKs half of each, across chunk reads', async () => {
    const s = await fx.startServer()
    const read = await rawRead(s.port, 'long.txt', 'netascii', opts(['windowsize', '8']), 4)
    expect(sha256(read.data)).toBe(sha256(netascii(LONG_TEXT)))
    expect(read.dataPackets).toBeGreaterThan(Math.ceil(netascii(LONG_TEXT).length / 512))
  })

  it('takes mode names in any case and refuses mail mode with error 4 and a plain message', async () => {
    const s = await fx.startServer()
    expect((await rawRead(s.port, 'mixed.txt', 'NETASCII')).data).toEqual(netascii(MIXED))
    expect((await rawRead(s.port, 'mixed.txt', 'Octet')).data).toEqual(MIXED)
    const { replies } = await probe(s.port, encodeRequest('rrq', 'mixed.txt', 'mail'))
    expect(replies.map((r) => r.packet)).toEqual([{ op: 'error', code: 4, message: 'mail mode is not served; use octet or netascii' }])
  })

  it('reports a completed netascii transfer with its mode and its size on the wire', async () => {
    const events: TftpTransferEvent[] = []
    const s = await fx.startServer({ onTransfer: (e) => events.push(e) })
    await rawRead(s.port, 'text.txt', 'netascii')
    const event = await waitFor('the transfer event', () => events[0])
    expect(event).toMatchObject({ file: 'text.txt', mode: 'netascii', bytes: netascii(TEXT).length })
  })
})
