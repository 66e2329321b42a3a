// Transfer slots cannot be held: a silent client loses its slot within the stall bound whatever
// timeout it asked for, one address gets a bounded share of the slots, a full server hands the
// slot of a stalled transfer to a new request, and refusals under a flood are counted, not logged
// one by one. Raw clients from several loopback addresses, and tftp-hpa and curl in a namespace.
import dgram from 'node:dgram'
import { promises as fs } from 'node:fs'
import path from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { decodePacket, encodeRequest, type TftpPacket } from './tftp-codec'
import { tftpRead } from '../../testing/tftp-test-client'
import { opts, sha256, useTftpFixture, waitFor } from '../../testing/tftp-test-fixture'
import { createTestLink, run, type TestLink } from '../../testing/test-link'
import { TftpServer } from './tftp-server'

const fx = useTftpFixture()

/** A UDP socket on any loopback address, keeping what arrives with its arrival time. */
async function rawClient(address: string): Promise<{
  socket: dgram.Socket
  received: Array<{ packet: TftpPacket; at: number; fromPort: number }>
  close(): void
}> {
  // A large receive buffer: a burst of replies must not be dropped before this loop reads them.
  const socket = dgram.createSocket({ type: 'udp4', recvBufferSize: 4 * 1024 * 1024 })
  const received: Array<{ packet: TftpPacket; at: number; fromPort: number }> = []
  socket.on('message', (raw, from) => {
    const decoded = decodePacket(raw)
    if (decoded.ok) received.push({ packet: decoded.packet, at: performance.now(), fromPort: from.port })
  })
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject)
    socket.bind(0, address, () => resolve())
  })
  return { socket, received, close: () => socket.close() }
}

const errors = (received: ReadonlyArray<{ packet: TftpPacket }>): string[] =>
  received.flatMap((r) => (r.packet.op === 'error' ? [r.packet.message] : []))

describe('tftp transfer slots', () => {
  const closers: Array<() => void> = []
  afterEach(() => {
    for (const close of closers.splice(0)) close()
  })
  async function clientAt(address: string): Promise<Awaited<ReturnType<typeof rawClient>>> {
    const c = await rawClient(address)
    closers.push(c.close)
    return c
  }

  it('a client asking timeout=255 that never ACKs gets 5 retransmissions a second apart, then an ERROR, within 7 s', async () => {
    const s = await fx.startServer()
    const c = await clientAt('127.0.0.1')
    const sentAt = performance.now()
    c.socket.send(encodeRequest('rrq', 'big.bin', 'octet', opts(['timeout', '255'])), s.port, '127.0.0.1')
    await waitFor('the ERROR that ends the transfer', () => (errors(c.received).length > 0 ? true : undefined), 16_000)
    const endedAfter = (performance.now() - sentAt) / 1000
    // 255 s is left out of the OACK (RFC 2349 allows no other answer): no OACK, DATA 1 at once.
    expect(c.received.some((r) => r.packet.op === 'oack')).toBe(false)
    expect(c.received.filter((r) => r.packet.op === 'data').length).toBe(6)
    expect(errors(c.received)).toEqual(['timed out'])
    expect(endedAfter).toBeGreaterThan(5)
    expect(endedAfter).toBeLessThan(7)
  }, 20_000)

  it('a negotiated timeout and many retries do not stretch the no-progress bound', async () => {
    const s = await fx.startServer({ retries: 50, stallMs: 3000 })
    const c = await clientAt('127.0.0.1')
    const sentAt = performance.now()
    c.socket.send(encodeRequest('rrq', 'big.bin', 'octet', opts(['timeout', '5'])), s.port, '127.0.0.1')
    await waitFor('the ERROR that ends the transfer', () => (errors(c.received).length > 0 ? true : undefined), 10_000)
    const endedAfter = (performance.now() - sentAt) / 1000
    expect(c.received[0]?.packet).toEqual({ op: 'oack', options: opts(['timeout', '5']) })
    expect(errors(c.received)).toEqual(['timed out'])
    expect(endedAfter).toBeGreaterThan(2.9)
    expect(endedAfter).toBeLessThan(4)
    await waitFor('the timed-out log line', () => fx.logLines.find((l) => l.msg === 'TFTP transfer timed out'))
  }, 15_000)

  it('one address gets at most 8 transfers at once; the 9th is refused with an ERROR saying why while another address is served', async () => {
    const s = await fx.startServer()
    const holder = await clientAt('127.0.0.2')
    for (let i = 0; i < 9; i++) holder.socket.send(encodeRequest('rrq', 'big.bin', 'octet', opts(['blksize', '1468'])), s.port, '127.0.0.1')
    await waitFor('eight OACKs and one ERROR', () => (holder.received.length >= 9 ? true : undefined))
    expect(holder.received.filter((r) => r.packet.op === 'oack').length).toBe(8)
    expect(errors(holder.received)).toEqual(['too many transfers from 127.0.0.2 at once (8); retry when one ends'])
    expect(holder.received.find((r) => r.packet.op === 'error')?.fromPort).toBe(s.port)
    expect(sha256((await tftpRead(s.port, 'big.bin', opts(['blksize', '1468'], ['windowsize', '8']))).data)).toBe(fx.bigSha)
  })

  it('a full server gives the slot of the longest-stalled transfer to a new request, but refuses while every transfer moves', async () => {
    const s = await fx.startServer({ maxTransfers: 4, stallMs: 60_000, retries: 100 })
    const holders = await Promise.all(['127.0.0.2', '127.0.0.3', '127.0.0.4', '127.0.0.5'].map(clientAt))
    for (const h of holders) h.socket.send(encodeRequest('rrq', 'big.bin', 'octet', opts(['blksize', '1468'])), s.port, '127.0.0.1')
    await waitFor('four OACKs', () => (holders.every((h) => h.received.length > 0) ? true : undefined))
    // Just opened, the four are not stalled yet: a fifth address is told the server is busy.
    await expect(tftpRead(s.port, 'small.txt')).rejects.toMatchObject({ code: 0, message: 'TFTP error 0: server busy, retry later' })
    await new Promise((r) => setTimeout(r, 2200))
    expect((await tftpRead(s.port, 'small.txt')).data.length).toBe(2200)
    const preempted = holders.filter((h) => errors(h.received).includes('server busy and this transfer had stalled; retry later'))
    expect(preempted).toHaveLength(1)
    expect(fx.logLines.some((l) => l.msg === 'TFTP transfer preempted: stalled while every slot was taken')).toBe(true)
  }, 15_000)

  it('2,000 refused packets make one log line per kind and one summary that counts them all', async () => {
    const s = await fx.startServer({ logIntervalMs: 3000 })
    const c = await clientAt('127.0.0.1')
    for (let i = 0; i < 1000; i++) {
      c.socket.send(Buffer.from([0, 9, i & 0xff]), s.port, '127.0.0.1')
      c.socket.send(encodeRequest('wrq', `upload-${i}.bin`, 'octet'), s.port, '127.0.0.1')
      // In batches, so neither socket's receive buffer overflows (the server shares this loop).
      if (i % 25 === 24) await new Promise((r) => setTimeout(r, 5))
    }
    const summary = await waitFor('the summary line', () => fx.logLines.find((l) => l.msg.startsWith('TFTP refused')), 6000)
    // Every refusal was answered, so the client's count of ERRORs is the server's count.
    const answered = c.received.length
    expect(answered).toBeGreaterThan(1900)
    expect(summary.msg).toMatch(/^TFTP refused [\d,]+ packets in the last \d s: [\d,]+ (malformed|write request), [\d,]+ (malformed|write request)$/)
    expect((summary as typeof summary & { total?: number }).total).toBe(answered)
    const refusalLines = fx.logLines.filter((l) => l.msg === 'TFTP request refused')
    expect(refusalLines.map((l) => l.reason)).toEqual([expect.stringMatching(/^malformed request/), 'write refused: the server is read-only'])
  })
})

const isRoot = process.getuid?.() === 0
const hasClients = (await run('sh', ['-c', 'command -v tftp && command -v curl'])).code === 0

describe.skipIf(!isRoot || !hasClients)('tftp slot hold from a namespace', () => {
  let link: TestLink | undefined
  let server: TftpServer | undefined
  afterEach(async () => {
    await server?.stop()
    server = undefined
    await link?.stop()
    link = undefined
  })

  it('300 never-ACKing RRQs with timeout=255 from one address leave tftp-hpa and curl on another address served', async () => {
    link = await createTestLink()
    const victim = `${link.prefix}2`
    const attacker = `${link.prefix}3`
    await link.exec('ip', ['addr', 'add', `${victim}/24`, 'dev', link.peerIf])
    await link.exec('ip', ['addr', 'add', `${attacker}/24`, 'dev', link.peerIf])
    server = new TftpServer({ root: fx.root, address: link.hostAddress, port: 0 })
    await server.start()
    const port = server.port

    // The attacker: one socket, 300 read requests asking a 255 s timeout, never an ACK, kept open
    // (a closed port would end the transfers at once). It prints the ERRORs it gets.
    const script = `
      const dgram = require('node:dgram')
      const s = dgram.createSocket('udp4')
      const rrq = Buffer.concat([Buffer.from([0, 1]), ...['big.bin', 'octet', 'timeout', '255', 'blksize', '512'].map((f) => Buffer.from(f + '\\0'))])
      // Transfers by their port (an OACK is retransmitted each second), refusals by count.
      const transfers = new Set()
      let errors = 0
      s.on('message', (m, from) => { if (m[1] === 6) transfers.add(from.port); if (m[1] === 5) errors++ })
      s.bind(0, ${JSON.stringify(attacker)}, () => {
        // 20 every 5 ms: fast, yet no receive buffer on the way overflows.
        let sent = 0
        const burst = () => {
          for (let i = 0; i < 20 && sent < 300; i++, sent++) s.send(rrq, ${port}, ${JSON.stringify(link.hostAddress)})
          if (sent < 300) setTimeout(burst, 5)
          else setTimeout(() => console.log(JSON.stringify({ transfers: transfers.size, errors })), 1000)
        }
        burst()
        setTimeout(() => s.close(), 60000)
      })`
    const flood = link.spawn(process.execPath, ['-e', script])
    let floodOut = ''
    flood.stdout?.on('data', (d: Buffer) => (floodOut += d.toString()))
    const seen = await waitFor('the attacker’s report', () => (floodOut.includes('}') ? (JSON.parse(floodOut) as { transfers: number; errors: number }) : undefined), 10_000)
    // It holds its 8 slots (OACKs, waiting for an ACK that never comes); the other 292 are refused.
    expect(seen).toEqual({ transfers: 8, errors: 292 })

    const hpaOut = path.join(fx.base, 'ns-hpa.out')
    const started = performance.now()
    const hpa = await link.exec('tftp', ['-m', 'binary', link.hostAddress, String(port), '-c', 'get', 'big.bin', hpaOut], 30_000)
    const hpaSeconds = (performance.now() - started) / 1000
    expect(hpa.code, hpa.stdout + hpa.stderr).toBe(0)
    expect(sha256(await fs.readFile(hpaOut))).toBe(fx.bigSha)

    const curlOut = path.join(fx.base, 'ns-curl.out')
    const curl = await link.exec('curl', ['-sS', '--max-time', '30', '--tftp-blksize', '1468', `tftp://${link.hostAddress}:${port}/big.bin`, '-o', curlOut], 35_000)
    expect(curl.code, curl.stderr).toBe(0)
    expect(sha256(await fs.readFile(curlOut))).toBe(fx.bigSha)
    console.log(`300 never-ACKing RRQs (timeout=255) from ${attacker}: 292 refused at once; tftp-hpa from ${victim} got 5 MB in ${hpaSeconds.toFixed(2)} s`)
  }, 60_000)
})
