import { execFile } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { checksumOf, onesSum, tcpFrame, TcpFlag, udpFrame } from './frames'
import { readPcapFile, writePcap } from './pcap-file'

const CLIENT = { mac: '52:54:00:12:34:56', address: '198.19.5.20', port: 2070 }
const SERVER = { mac: '02:00:00:00:00:01', address: '198.19.5.1', port: 69 }

/** The IPv4 header of an Ethernet frame sums (checksum included) to 0xffff when its checksum is right. */
function ipv4HeaderOk(frame: Buffer): boolean {
  return checksumOf(onesSum(frame.subarray(14, 34))) === 0
}

/** The transport checksum verified over the pseudo-header, the header and the whole payload. */
function transportOk(frame: Buffer, protocol: number, wholePayload?: Buffer): boolean {
  const ipLen = frame.readUInt16BE(16)
  const segment = wholePayload ? Buffer.concat([frame.subarray(34, 34 + (protocol === 17 ? 8 : 20)), wholePayload]) : frame.subarray(34, 14 + ipLen)
  const pseudo = Buffer.alloc(12)
  frame.copy(pseudo, 0, 26, 34)
  pseudo[9] = protocol
  pseudo.writeUInt16BE(ipLen - 20, 10)
  return checksumOf(onesSum(segment, onesSum(pseudo))) === 0
}

function tcpdump(args: string[]): Promise<{ stdout: string; stderr: string; code: number }> {
  return new Promise((resolve) => {
    execFile('tcpdump', args, { timeout: 10_000 }, (err, stdout, stderr) => resolve({ stdout, stderr, code: err ? 1 : 0 }))
  })
}

describe('Ethernet, IPv4, UDP and TCP frames', () => {
  it('builds a UDP frame whose IPv4 and UDP checksums verify, with its MACs, addresses and ports', () => {
    const payload = Buffer.from('\x00\x01undionly.kpxe\x00octet\x00', 'latin1')
    const { frame, origLen } = udpFrame({ src: CLIENT, dst: SERVER, payload, id: 7 })
    expect(origLen).toBe(frame.length)
    expect(frame.length).toBe(14 + 20 + 8 + payload.length)
    expect(frame.subarray(0, 6).toString('hex')).toBe('020000000001')
    expect(frame.subarray(6, 12).toString('hex')).toBe('525400123456')
    expect(frame.readUInt16BE(12)).toBe(0x0800)
    expect(frame.readUInt16BE(16)).toBe(20 + 8 + payload.length)
    expect([...frame.subarray(26, 30)]).toEqual([198, 19, 5, 20])
    expect(frame.readUInt16BE(34)).toBe(2070)
    expect(frame.readUInt16BE(36)).toBe(69)
    expect(frame.subarray(42).equals(payload)).toBe(true)
    expect(ipv4HeaderOk(frame)).toBe(true)
    expect(transportOk(frame, 17)).toBe(true)
  })

  it('cuts a payload but keeps its real length in the headers and its checksum over all of it', () => {
    const whole = Buffer.alloc(1468 + 4, 0x5a)
    whole.writeUInt16BE(3, 0)
    whole.writeUInt16BE(9, 2)
    const kept = whole.subarray(0, 516)
    const { frame, origLen } = udpFrame({ src: SERVER, dst: CLIENT, payload: kept, payloadLen: whole.length, payloadSum: onesSum(whole) })
    expect(frame.length).toBe(42 + 516)
    expect(origLen).toBe(42 + whole.length)
    expect(frame.readUInt16BE(16)).toBe(28 + whole.length)
    expect(frame.readUInt16BE(38)).toBe(8 + whole.length)
    expect(ipv4HeaderOk(frame)).toBe(true)
    expect(transportOk(frame, 17, whole)).toBe(true)
  })

  it('builds TCP segments whose checksums verify, with their sequence numbers and flags', () => {
    const payload = Buffer.from('GET /boot/x.ipxe HTTP/1.1\r\nHost: a\r\n\r\n', 'latin1')
    const { frame } = tcpFrame({ src: CLIENT, dst: SERVER, seq: 0xfffffff0, ack: 12345, flags: TcpFlag.PSH | TcpFlag.ACK, payload })
    expect(frame.readUInt32BE(38)).toBe(0xfffffff0)
    expect(frame.readUInt32BE(42)).toBe(12345)
    expect(frame[47]).toBe(0x18)
    expect(frame.subarray(54).equals(payload)).toBe(true)
    expect(ipv4HeaderOk(frame)).toBe(true)
    expect(transportOk(frame, 6)).toBe(true)
    const syn = tcpFrame({ src: CLIENT, dst: SERVER, seq: 1, ack: 99, flags: TcpFlag.SYN }).frame
    expect(syn.readUInt32BE(42)).toBe(0)
    expect(transportOk(syn, 6)).toBe(true)
  })

  it('writes a pcap file that reads back with its times, kept and real lengths, and that tcpdump finds sound', async () => {
    const whole = Buffer.alloc(1472, 1)
    whole.writeUInt16BE(3, 0)
    whole.writeUInt16BE(1, 2)
    const cut = udpFrame({ src: SERVER, dst: CLIENT, payload: whole.subarray(0, 516), payloadLen: whole.length, payloadSum: onesSum(whole) })
    const rrq = udpFrame({ src: CLIENT, dst: { ...SERVER }, payload: Buffer.from('\x00\x01f\x00octet\x00', 'latin1') })
    const syn = tcpFrame({ src: CLIENT, dst: { ...SERVER, port: 8702 }, seq: 100, ack: 0, flags: TcpFlag.SYN })
    const records = [
      { tMicros: 1_767_225_600_123_456, ...rrq },
      { tMicros: 1_767_225_600_200_001, ...cut },
      { tMicros: 1_767_225_601_000_000, ...syn }
    ]
    const file = writePcap(records.map((r) => ({ tMicros: r.tMicros, frame: r.frame, origLen: r.origLen })), 65_535)
    const read = readPcapFile(file)
    expect(read.ok).toBe(true)
    if (!read.ok) return
    expect(read.file.linkType).toBe(1)
    expect(read.file.snaplen).toBe(65_535)
    expect(read.file.records.map((r) => [r.tMicros, r.frame.length, r.origLen])).toEqual([
      [1_767_225_600_123_456, rrq.frame.length, rrq.frame.length],
      [1_767_225_600_200_001, 42 + 516, 42 + 1472],
      [1_767_225_601_000_000, 54, 54]
    ])
    expect(read.file.records[1]?.frame.equals(cut.frame)).toBe(true)

    const dir = await mkdtemp(join(tmpdir(), 'crowbar-pcap-'))
    try {
      const path = join(dir, 'x.pcap')
      await writeFile(path, file)
      const r = await tcpdump(['-r', path, '-nn', '-vv', '-tt'])
      expect(r.code, r.stderr).toBe(0)
      expect(r.stdout).toContain('1767225600.123456')
      expect(r.stdout).toMatch(/198\.19\.5\.20\.2070 > 198\.19\.5\.1\.69: \[udp sum ok\]/)
      expect(r.stdout).toMatch(/198\.19\.5\.20\.2070 > 198\.19\.5\.1\.8702: Flags \[S\], cksum 0x[0-9a-f]+ \(correct\)/)
      expect(r.stdout).not.toMatch(/bad|incorrect/)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  it('refuses what is not a pcap file and drops a truncated last record', () => {
    expect(readPcapFile(Buffer.alloc(10)).ok).toBe(false)
    expect(readPcapFile(Buffer.alloc(24)).ok).toBe(false)
    const file = writePcap([{ tMicros: 1, frame: Buffer.alloc(60), origLen: 60 }, { tMicros: 2, frame: Buffer.alloc(60), origLen: 60 }])
    const read = readPcapFile(file.subarray(0, file.length - 1))
    expect(read.ok && read.file.records.length).toBe(1)
  })
})
