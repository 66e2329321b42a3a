import { describe, expect, it } from 'vitest'
import type { CapturedDatagram } from '../pcap/captured-packet'
import { onesSum } from '../pcap/frames'
import { TransferCapture } from './transfer-capture'

const CLIENT = { address: '198.19.5.20', port: 2070 }
const SERVER = { address: '198.19.5.1', port: 40000 }

const data = (block: number, size = 1468): [Buffer, Buffer] => {
  const header = Buffer.from([0, 3, block >> 8, block & 0xff])
  return [header, Buffer.alloc(size, block & 0xff)]
}
const ack = (block: number): Buffer => Buffer.from([0, 4, block >> 8, block & 0xff])
const opOf = (d: CapturedDatagram): number => d.payload.readUInt16BE(0)
const blockOf = (d: CapturedDatagram): number => d.payload.readUInt16BE(2)

function transfer(): { capture: TransferCapture; seen: CapturedDatagram[] } {
  const seen: CapturedDatagram[] = []
  let t = 1_000_000
  return { capture: new TransferCapture((d) => seen.push(d), CLIENT, SERVER, () => t++), seen }
}

describe('TFTP transfer capture', () => {
  it('keeps the OACK, the first 8 DATA and ACKs, every retransmission and the last 8 DATA/ACK packets of a long transfer', () => {
    const { capture, seen } = transfer()
    capture.sent(Buffer.from('\x00\x06blksize\x001468\x00', 'latin1'))
    capture.received(ack(0))
    for (let b = 1; b <= 100; b++) {
      capture.sent(data(b, b === 100 ? 10 : 1468))
      if (b === 50) capture.sent(data(50), true)
      capture.received(ack(b))
    }
    // Before the end only the head and the retransmission are out.
    expect(seen.length).toBe(1 + 1 + 8 + 7 + 1)
    capture.end()
    capture.end()
    const summary = seen.map((d) => `${d.direction}${opOf(d)}:${blockOf(d)}`)
    expect(summary.slice(0, 2)).toEqual(['out6:25196', 'in4:0'])
    const dataBlocks = seen.filter((d) => opOf(d) === 3).map(blockOf)
    const ackBlocks = seen.filter((d) => opOf(d) === 4).map(blockOf)
    expect(dataBlocks).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 50, 97, 98, 99, 100])
    expect(ackBlocks).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 97, 98, 99, 100])
    expect(seen.every((d) => (d.direction === 'out' ? d.src === SERVER && d.dst === CLIENT : d.src === CLIENT && d.dst === SERVER))).toBe(true)
  })

  it('cuts DATA to 512 bytes kept with its real length and the whole payload’s sum, and keeps a short block whole', () => {
    const { capture, seen } = transfer()
    const [header, payload] = data(1)
    capture.sent([header, payload])
    capture.sent(data(2, 100))
    capture.end()
    const [first, second] = seen
    expect(first?.payload.length).toBe(4 + 512)
    expect(first?.payloadLen).toBe(4 + 1468)
    expect(first?.payloadSum).toBe(onesSum(payload, onesSum(header)))
    expect(first?.payload.subarray(0, 4).equals(header)).toBe(true)
    expect(second?.payload.length).toBe(104)
    expect(second?.payloadLen).toBe(104)
    expect(second?.payloadSum).toBeUndefined()
    expect(seen.map((d) => d.t)).toEqual([...seen.map((d) => d.t)].sort((a, b) => a - b))
  })

  it('hands over an ERROR at once and nothing after the end', () => {
    const { capture, seen } = transfer()
    capture.received(Buffer.from('\x00\x05\x00\x08aborted\x00', 'latin1'))
    expect(seen.map(opOf)).toEqual([5])
    capture.end()
    capture.sent(data(1))
    expect(seen.length).toBe(1)
  })

  it('survives a sink that throws', () => {
    const capture = new TransferCapture(() => {
      throw new Error('sink down')
    }, CLIENT, SERVER, () => 1)
    expect(() => capture.sent(data(1))).not.toThrow()
  })
})
