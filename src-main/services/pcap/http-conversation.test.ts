import { execFile } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import type { CapturedHttpExchange } from './captured-packet'
import { httpConversation } from './http-conversation'
import { writePcap } from './pcap-file'

const exchange = (bodyLen: number): CapturedHttpExchange => {
  const body = Buffer.alloc(Math.min(bodyLen, 1460), 0x41)
  return {
    requestAt: 1_767_225_600_000_000,
    answeredAt: 1_767_225_600_004_000,
    client: { address: '198.19.5.20', port: 41000 },
    server: { address: '198.19.5.1', port: 8702 },
    requestHead: Buffer.from('GET /files/undionly.kpxe HTTP/1.1\r\nHost: 198.19.5.1:8702\r\nUser-Agent: curl/8\r\nAccept: */*\r\n\r\n', 'latin1'),
    requestBodyLen: 0,
    responseHead: Buffer.from(`HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: ${bodyLen}\r\n\r\n`, 'latin1'),
    responseBody: body,
    responseBodyLen: bodyLen
  }
}

const seqOf = (f: Buffer): number => f.readUInt32BE(38)
const ackOf = (f: Buffer): number => f.readUInt32BE(42)
const flagsOf = (f: Buffer): number => f[47] as number
const payloadLenOf = (f: Buffer): number => f.length - 54

describe('an HTTP exchange drawn as TCP', () => {
  it('draws handshake, request, response head, first body segment and FINs, with a sequence gap for the body not kept', () => {
    const frames = httpConversation(exchange(70_000), '52:54:00:12:34:56', '02:00:00:00:00:01')
    expect(frames.map((f) => [f.direction, flagsOf(f.frame)])).toEqual([
      ['in', 0x02],
      ['out', 0x12],
      ['in', 0x10],
      ['in', 0x18],
      ['out', 0x10],
      ['out', 0x18],
      ['out', 0x18],
      ['out', 0x11],
      ['in', 0x11],
      ['out', 0x10]
    ])
    const [syn, synAck, , request, , head, body, fin, clientFin, lastAck] = frames.map((f) => f.frame) as Buffer[]
    const c0 = seqOf(syn!)
    const s0 = seqOf(synAck!)
    expect(ackOf(synAck!)).toBe((c0 + 1) >>> 0)
    expect(seqOf(request!)).toBe((c0 + 1) >>> 0)
    expect(seqOf(head!)).toBe((s0 + 1) >>> 0)
    expect(seqOf(body!)).toBe((s0 + 1 + payloadLenOf(head!)) >>> 0)
    expect(payloadLenOf(body!)).toBe(1460)
    // The FIN comes after all 70,000 body bytes: 68,540 of them were not kept.
    expect(seqOf(fin!)).toBe((s0 + 1 + payloadLenOf(head!) + 70_000) >>> 0)
    expect(ackOf(clientFin!)).toBe((seqOf(fin!) + 1) >>> 0)
    expect(ackOf(lastAck!)).toBe((seqOf(clientFin!) + 1) >>> 0)
    expect(frames.map((f) => f.t)).toEqual([...frames.map((f) => f.t)].sort((a, b) => a - b))
    expect(frames[5]!.t).toBeGreaterThanOrEqual(1_767_225_600_004_000)
  })

  it('reads in tcpdump as the GET and its answer, checksums correct', async () => {
    const frames = httpConversation(exchange(70_000), '52:54:00:12:34:56', '02:00:00:00:00:01')
    const dir = await mkdtemp(join(tmpdir(), 'crowbar-pcap-'))
    try {
      const path = join(dir, 'http.pcap')
      await writeFile(path, writePcap(frames.map((f) => ({ tMicros: f.t, frame: f.frame, origLen: f.origLen }))))
      const out = await new Promise<string>((resolve) => execFile('tcpdump', ['-r', path, '-nn', '-vv', '-A'], (_e, stdout) => resolve(stdout)))
      expect(out).toContain('GET /files/undionly.kpxe HTTP/1.1')
      expect(out).toContain('HTTP/1.1 200 OK')
      expect(out.match(/\(correct\)/g)?.length).toBe(10)
      expect(out).not.toMatch(/incorrect|bad/)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})
