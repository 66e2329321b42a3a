// The TFTP server keeps serving through missing files, garbage, stray datagrams, client aborts and
// closed client ports, and reports each completed transfer even to a throwing listener.
import { describe, expect, it } from 'vitest'
import { encodeAck, encodeError, encodeRequest } from './tftp-codec'
import { TftpReadError, tftpRead, UdpTestClient } from '../../testing/tftp-test-client'
import { BIG, opts, probe, sha256, useTftpFixture, waitFor } from '../../testing/tftp-test-fixture'
import type { TftpTransferEvent } from './tftp-server'

const fx = useTftpFixture()

describe('tftp server robustness', () => {
  it('answers a missing file with error 1 and keeps serving the next request', async () => {
    const s = await fx.startServer()
    await expect(tftpRead(s.port, 'missing.bin')).rejects.toMatchObject({ code: 1 })
    await expect(tftpRead(s.port, 'pxelinux.cfg/01-52-54-00-00-00-01')).rejects.toBeInstanceOf(TftpReadError)
    const next = await tftpRead(s.port, 'small.txt')
    expect(next.data.toString()).toBe('small file\n'.repeat(200))
  })

  it('answers garbage and a mail-mode request with error 4, then keeps serving', async () => {
    const s = await fx.startServer()
    expect((await probe(s.port, Buffer.from([0, 9, 1, 2, 3]))).replies[0]?.packet).toMatchObject({ op: 'error', code: 4 })
    expect((await probe(s.port, Buffer.from([0]))).replies[0]?.packet).toMatchObject({ op: 'error', code: 4 })
    expect((await probe(s.port, encodeRequest('rrq', 'small.txt', 'mail'))).replies[0]?.packet).toMatchObject({
      op: 'error',
      code: 4
    })
    // An ERROR sent to the listening port is never answered (no error ping-pong).
    expect((await probe(s.port, encodeError(0, 'hello'))).replies).toEqual([])
    expect((await tftpRead(s.port, 'small.txt')).data.length).toBe(2200)
  })

  // The transfer socket is connected to the client (as tftpd-hpa's is), so the kernel drops a
  // foreign TID's packet: RFC 1350's error 5 reply ("should") is given up for that.
  it('ignores a 1-byte datagram on a transfer port and a foreign port, finishing the transfer', async () => {
    const s = await fx.startServer()
    const client = await UdpTestClient.open()
    const stranger = await UdpTestClient.open()
    try {
      await client.send(encodeRequest('rrq', 'small.txt', 'octet'), s.port)
      const first = await client.next(2000)
      const tid = first?.from.port ?? 0
      expect(first?.packet).toMatchObject({ op: 'data', block: 1 })
      await client.send(Buffer.from([4]), tid)
      await stranger.send(encodeAck(1), tid)
      expect(await stranger.drain(300)).toEqual([])
      const received = [first]
      for (let block = 1; block <= 5; block++) {
        await client.send(encodeAck(block), tid)
        const r = await client.next(2000)
        received.push(r)
        if (r?.packet.op === 'data' && r.packet.data.length < 512) break
      }
      const blocks = received.map((r) => (r?.packet.op === 'data' ? r.packet.block : -1))
      expect(blocks).toEqual([1, 2, 3, 4, 5])
      await client.send(encodeAck(5), tid)
      await waitFor('the completion log', () => fx.logLines.find((l) => l.msg === 'TFTP transfer complete'))
    } finally {
      await client.close()
      await stranger.close()
    }
  })

  it('ends a transfer quietly when the client answers the OACK with error 8, as UEFI does after a tsize probe', async () => {
    const s = await fx.startServer()
    const client = await UdpTestClient.open()
    try {
      await client.send(encodeRequest('rrq', 'big.bin', 'octet', opts(['tsize', '0'], ['blksize', '1468'])), s.port)
      const oack = await client.next(2000)
      expect(oack?.packet).toEqual({ op: 'oack', options: opts(['tsize', String(BIG)], ['blksize', '1468']) })
      await client.send(encodeError(8, 'User aborted the transfer'), oack?.from.port ?? 0)
      await waitFor('the client-abort log', () => fx.logLines.find((l) => l.msg === 'TFTP transfer ended by the client'))
      expect(await client.drain(200)).toEqual([])
    } finally {
      await client.close()
    }
    expect(sha256((await tftpRead(s.port, 'big.bin', opts(['blksize', '1468'], ['windowsize', '16']))).data)).toBe(fx.bigSha)
  })

  it('ends a transfer at once when the client port closes, without waiting out the retries', async () => {
    const s = await fx.startServer({ timeoutMs: 200, retries: 50 })
    const client = await UdpTestClient.open()
    try {
      await client.send(encodeRequest('rrq', 'big.bin', 'octet', opts(['blksize', '1468'])), s.port)
      expect((await client.next(2000))?.packet).toMatchObject({ op: 'oack' })
    } finally {
      await client.close()
    }
    // The next OACK retransmission meets a closed port; 50 retries would take 10 s.
    await waitFor('the client-gone log', () => fx.logLines.find((l) => l.msg === 'TFTP transfer ended: the client port is closed'))
    expect(fx.logLines.some((l) => l.msg === 'TFTP transfer timed out' || l.msg === 'TFTP transfer failed')).toBe(false)
  })

  it('reports each completed transfer with file, bytes, duration and client', async () => {
    const events: TftpTransferEvent[] = []
    const s = await fx.startServer({
      onTransfer: (e) => {
        events.push(e)
        throw new Error('a throwing listener must not break the server')
      }
    })
    await tftpRead(s.port, '/sub/boot.cfg')
    const event = await waitFor('the transfer event', () => events[0])
    expect(event).toMatchObject({ file: '/sub/boot.cfg', bytes: 6 })
    expect(event.client).toMatch(/^127\.0\.0\.1:\d+$/)
    expect(event.ms).toBeGreaterThanOrEqual(0)
    expect((await tftpRead(s.port, 'sub/boot.cfg')).data.toString()).toBe('config')
  })
})
