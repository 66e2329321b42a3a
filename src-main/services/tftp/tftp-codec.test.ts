// TFTP codec: byte-for-byte against packets captured from curl, tftp-hpa and the tftp package,
// and decoding of hostile input without throwing.
import { describe, expect, it } from 'vitest'
import {
  decodePacket,
  encodeAck,
  encodeData,
  encodeError,
  encodeOack,
  encodeRequest,
  MAX_OPTIONS,
  writeDataHeader,
  type DecodeResult
} from './tftp-codec'

// Captured on loopback (tcpdump) from the real clients.
const CURL_RRQ = Buffer.from(
  '00017078656c696e75782e30006f63746574007473697a65003000626c6b73697a6500313436380074696d656f7574003100',
  'hex'
)
const TFTP_HPA_RRQ = Buffer.from('00017078656c696e75782e30006f6374657400', 'hex')
const PACKAGE_RRQ = Buffer.from(
  '00017078656c696e75782e30006f6374657400626c6b73697a6500313436380074696d656f7574003530300077696e646f7773697a65003800726f6c6c6f7665720030007473697a65003000',
  'hex'
)

function packetOf(result: DecodeResult) {
  if (!result.ok) throw new Error(`expected a packet, got: ${result.reason}`)
  return result.packet
}

describe('tftp codec', () => {
  it('decodes the RRQ curl sends, options in order with their values', () => {
    expect(packetOf(decodePacket(CURL_RRQ))).toEqual({
      op: 'rrq',
      filename: 'pxelinux.0',
      mode: 'octet',
      options: [
        { name: 'tsize', value: '0' },
        { name: 'blksize', value: '1468' },
        { name: 'timeout', value: '1' }
      ]
    })
  })

  it('decodes the option-less RRQ tftp-hpa sends', () => {
    expect(packetOf(decodePacket(TFTP_HPA_RRQ))).toEqual({ op: 'rrq', filename: 'pxelinux.0', mode: 'octet', options: [] })
  })

  it('encodes requests byte-identical to the captured ones', () => {
    expect(encodeRequest('rrq', 'pxelinux.0', 'octet')).toEqual(TFTP_HPA_RRQ)
    expect(
      encodeRequest('rrq', 'pxelinux.0', 'octet', [
        { name: 'blksize', value: '1468' },
        { name: 'timeout', value: '500' },
        { name: 'windowsize', value: '8' },
        { name: 'rollover', value: '0' },
        { name: 'tsize', value: '0' }
      ])
    ).toEqual(PACKAGE_RRQ)
  })

  it('lower-cases option names and the mode, which RFC 2347 and RFC 1350 make case-insensitive', () => {
    const p = packetOf(decodePacket(encodeRequest('rrq', 'Boot.EFI', 'OCTET', [{ name: 'BlkSize', value: '1024' }])))
    expect(p).toEqual({ op: 'rrq', filename: 'Boot.EFI', mode: 'octet', options: [{ name: 'blksize', value: '1024' }] })
  })

  it('encodes DATA, ACK, ERROR and OACK as the RFCs lay them out', () => {
    expect(encodeData(1, Buffer.from('hi'))).toEqual(Buffer.from([0, 3, 0, 1, 0x68, 0x69]))
    expect(encodeData(65535, Buffer.alloc(0))).toEqual(Buffer.from([0, 3, 0xff, 0xff]))
    expect(encodeAck(258)).toEqual(Buffer.from([0, 4, 1, 2]))
    expect(encodeError(1, 'File not found')).toEqual(Buffer.from('\x00\x05\x00\x01File not found\x00', 'latin1'))
    expect(encodeOack([{ name: 'tsize', value: '5' }])).toEqual(Buffer.from('\x00\x06tsize\x005\x00', 'latin1'))
  })

  it('writes a DATA header that, followed by the payload, is the packet encodeData builds', () => {
    const headers = Buffer.alloc(8, 0xaa)
    writeDataHeader(1, headers, 0)
    writeDataHeader(65535, headers, 4)
    expect(Buffer.concat([headers.subarray(0, 4), Buffer.from('hi')])).toEqual(encodeData(1, Buffer.from('hi')))
    expect(headers.subarray(4, 8)).toEqual(encodeData(65535, Buffer.alloc(0)))
    expect(() => writeDataHeader(65536, headers, 0)).toThrow(RangeError)
  })

  it('round-trips DATA, ACK, ERROR and OACK', () => {
    expect(packetOf(decodePacket(encodeData(7, Buffer.from([1, 2, 3]))))).toEqual({
      op: 'data',
      block: 7,
      data: Buffer.from([1, 2, 3])
    })
    expect(packetOf(decodePacket(encodeAck(0)))).toEqual({ op: 'ack', block: 0 })
    expect(packetOf(decodePacket(encodeError(2, 'Access violation')))).toEqual({ op: 'error', code: 2, message: 'Access violation' })
    const options = [
      { name: 'blksize', value: '1468' },
      { name: 'windowsize', value: '8' }
    ]
    expect(packetOf(decodePacket(encodeOack(options)))).toEqual({ op: 'oack', options })
  })

  it('refuses to encode out-of-range block numbers and strings with NUL', () => {
    expect(() => encodeAck(65536)).toThrow(RangeError)
    expect(() => encodeData(-1, Buffer.alloc(0))).toThrow(RangeError)
    expect(() => encodeRequest('rrq', 'a\0b', 'octet')).toThrow(RangeError)
  })

  it.each([
    ['an empty datagram', Buffer.alloc(0)],
    ['one byte', Buffer.from([0])],
    ['three bytes', Buffer.from([0, 4, 0])],
    ['opcode 0', Buffer.from([0, 0, 0, 0])],
    ['opcode 7', Buffer.from([0, 7, 0, 0])],
    ['an RRQ without a NUL after the name', Buffer.from('\x00\x01pxelinux.0', 'latin1')],
    ['an RRQ without a mode', Buffer.from('\x00\x01pxelinux.0\x00', 'latin1')],
    ['an RRQ with an unknown mode', Buffer.from('\x00\x01f\x00binary\x00', 'latin1')],
    ['an RRQ whose option has no value', Buffer.from('\x00\x01f\x00octet\x00blksize\x00', 'latin1')],
    ['an RRQ whose option value lacks its NUL', Buffer.from('\x00\x01f\x00octet\x00blksize\x001468', 'latin1')],
    ['an RRQ with an empty option name', Buffer.from('\x00\x01f\x00octet\x00\x001\x00', 'latin1')],
    ['an RRQ whose name is not UTF-8', Buffer.from('\x00\x01\xff\xfe\x00octet\x00', 'latin1')],
    ['an OACK with a dangling name', Buffer.from('\x00\x06tsize\x00', 'latin1')]
  ])('reports %s as malformed instead of throwing', (_label, buf) => {
    const result = decodePacket(buf)
    expect(result.ok).toBe(false)
  })

  it(`refuses a request with more than ${MAX_OPTIONS} options`, () => {
    const many = Array.from({ length: MAX_OPTIONS + 1 }, (_, i) => ({ name: `x${i}`, value: '1' }))
    expect(decodePacket(encodeRequest('rrq', 'f', 'octet', many)).ok).toBe(false)
    expect(decodePacket(encodeRequest('rrq', 'f', 'octet', many.slice(0, MAX_OPTIONS))).ok).toBe(true)
  })

  it('keeps the code of an ERROR whose message has no terminator', () => {
    expect(packetOf(decodePacket(Buffer.from('\x00\x05\x00\x08abort', 'latin1')))).toEqual({ op: 'error', code: 8, message: 'abort' })
    expect(packetOf(decodePacket(Buffer.from([0, 5, 0, 0])))).toEqual({ op: 'error', code: 0, message: '' })
  })

  it('never throws on 20,000 random datagrams, including ones that start with a valid opcode', () => {
    // A fixed-seed generator so a failure is reproducible.
    let seed = 0x2545f491
    const rand = () => {
      seed ^= seed << 13
      seed ^= seed >>> 17
      seed ^= seed << 5
      return (seed >>> 0) / 0x100000000
    }
    for (let i = 0; i < 20_000; i++) {
      const buf = Buffer.alloc(Math.floor(rand() * 600))
      for (let j = 0; j < buf.length; j++) buf[j] = rand() < 0.2 ? 0 : Math.floor(rand() * 256)
      if (buf.length >= 2 && i % 2 === 0) buf.writeUInt16BE(1 + (i % 6), 0)
      expect(() => decodePacket(buf)).not.toThrow()
    }
  })
})
