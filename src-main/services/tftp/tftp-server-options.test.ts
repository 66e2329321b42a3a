// The TFTP server's option negotiation on the wire, seen by a raw UDP client: OACK contents,
// limits, windows, retransmission after the negotiated timeout and block-number rollover.
import { promises as fs } from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { encodeAck, encodeRequest } from './tftp-codec'
import { tftpRead, UdpTestClient } from '../../testing/tftp-test-client'
import { BIG, opts, probe, sha256, useTftpFixture } from '../../testing/tftp-test-fixture'

const fx = useTftpFixture()

describe('tftp option negotiation on the wire', () => {
  it('answers blksize, tsize=0, timeout and windowsize 8 with an OACK carrying the granted values and the real size', async () => {
    const s = await fx.startServer()
    const request = encodeRequest('rrq', 'big.bin', 'octet', opts(['blksize', '1468'], ['tsize', '0'], ['timeout', '2'], ['windowsize', '8']))
    const client = await UdpTestClient.open()
    try {
      await client.send(request, s.port)
      const first = await client.next(2000)
      expect(first?.packet).toEqual({
        op: 'oack',
        options: opts(['blksize', '1468'], ['tsize', String(BIG)], ['timeout', '2'], ['windowsize', '8'])
      })
      expect(first?.from.port).not.toBe(s.port)
      // After ACK 0 a whole window of 8 full blocks comes without waiting for another ACK.
      await client.send(encodeAck(0), first?.from.port ?? 0)
      const window = await client.drain(200, 1500)
      const data = window.filter((r) => r.packet.op === 'data')
      expect(data.map((r) => (r.packet.op === 'data' ? r.packet.block : -1))).toEqual([1, 2, 3, 4, 5, 6, 7, 8])
      expect(data.every((r) => r.packet.op === 'data' && r.packet.data.length === 1468)).toBe(true)
    } finally {
      await client.close()
    }
  })

  it('lowers blksize and windowsize beyond its limits and leaves out unknown options', async () => {
    const s = await fx.startServer()
    const { replies } = await probe(
      s.port,
      encodeRequest('rrq', 'small.txt', 'octet', opts(['BLKSIZE', '65464'], ['rollover', '0'], ['WindowSize', '1000'], ['timeout', '3000']))
    )
    expect(replies[0]?.packet).toEqual({ op: 'oack', options: opts(['blksize', '1468'], ['windowsize', '64']) })
  })

  it('starts a request without options at DATA 1 with 512-byte blocks', async () => {
    const s = await fx.startServer()
    const client = await UdpTestClient.open()
    try {
      await client.send(encodeRequest('rrq', 'small.txt', 'octet'), s.port)
      const first = await client.next(2000)
      expect(first?.packet.op).toBe('data')
      if (first?.packet.op === 'data') {
        expect(first.packet.block).toBe(1)
        expect(first.packet.data.length).toBe(512)
      }
    } finally {
      await client.close()
    }
  })

  it('retransmits an unacknowledged block after the negotiated timeout', async () => {
    const s = await fx.startServer()
    const client = await UdpTestClient.open()
    try {
      await client.send(encodeRequest('rrq', 'small.txt', 'octet', opts(['timeout', '1'])), s.port)
      const oack = await client.next(2000)
      expect(oack?.packet).toEqual({ op: 'oack', options: opts(['timeout', '1']) })
      await client.send(encodeAck(0), oack?.from.port ?? 0)
      const first = await client.next(2000)
      const sentAt = performance.now()
      const again = await client.next(3000)
      const gap = performance.now() - sentAt
      expect(first?.packet.op === 'data' && first.packet.block).toBe(1)
      expect(again?.packet.op === 'data' && again.packet.block).toBe(1)
      expect(gap).toBeGreaterThan(700)
      expect(gap).toBeLessThan(2500)
    } finally {
      await client.close()
    }
  })

  it('after an ACK inside the window, sends the next window from the block after it', async () => {
    const s = await fx.startServer()
    const client = await UdpTestClient.open()
    try {
      await client.send(encodeRequest('rrq', 'big.bin', 'octet', opts(['windowsize', '8'])), s.port)
      const oack = await client.next(2000)
      const tid = oack?.from.port ?? 0
      await client.send(encodeAck(0), tid)
      expect((await client.drain(150)).length).toBe(8)
      // As if blocks 5..8 were lost: the receiver acknowledges the last block it has in order.
      await client.send(encodeAck(4), tid)
      const next = await client.drain(150)
      expect(next.map((r) => (r.packet.op === 'data' ? r.packet.block : -1))).toEqual([5, 6, 7, 8, 9, 10, 11, 12])
    } finally {
      await client.close()
    }
  })

  it('wraps block numbers from 65535 to 0 on a file longer than 65535 blocks', async () => {
    const s = await fx.startServer()
    const expected = sha256(await fs.readFile(path.join(fx.root, 'rollover.bin')))
    const result = await tftpRead(s.port, 'rollover.bin', opts(['blksize', '8'], ['windowsize', '64']))
    expect(result.dataPackets).toBeGreaterThanOrEqual(75_001)
    expect(sha256(result.data)).toBe(expected)
  })
})
