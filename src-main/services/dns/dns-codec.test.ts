// DNS codec: captured and hand-built messages byte for byte, and hostile input that must come back
// as an error value, never a throw.
import { describe, expect, it } from 'vitest'
import {
  DnsEncodeError,
  decodeMessage,
  encodeMessage,
  formatIpv6,
  isDecodeError,
  writeIpv6,
  type DecodeError,
  type DnsMessage
} from './dns-codec'

/** CPU time (user + system, ms) `run` takes: unlike wall time, not stretched by other processes. */
function cpuMs(run: () => void): number {
  const before = process.cpuUsage()
  run()
  const used = process.cpuUsage(before)
  return (used.user + used.system) / 1000
}

/** Hex with spaces and `#` comments allowed, so a fixture can be read field by field. */
function hex(text: string): Buffer {
  return Buffer.from(
    text
      .split('\n')
      .map((line) => line.replace(/#.*/, ''))
      .join('')
      .replace(/\s+/g, ''),
    'hex'
  )
}

function decoded(buf: Buffer): DnsMessage {
  const m = decodeMessage(buf)
  if (isDecodeError(m)) throw new Error(`expected a message, got: ${m.error}`)
  return m
}

function failed(buf: Buffer): DecodeError {
  const m = decodeMessage(buf)
  if (!isDecodeError(m)) throw new Error('expected a decode error, got a message')
  return m
}

const QUERY_HEADER = { qr: false, opcode: 0, aa: false, tc: false, ra: false, z: false, cd: false, rcode: 0 }

/** `dig @127.0.0.1 -p PORT node1.cluster.test A` from BIND 9.18, captured off a UDP socket. */
const DIG_QUERY = hex(`
  8276 0120 0001 0000 0000 0001            # id, flags rd+ad, one question, one additional
  05 6e6f646531 07 636c7573746572 04 74657374 00 0001 0001    # node1.cluster.test A IN
  00 0029 04d0 00000000 000c 000a 0008 eb70b77611fa7c6b       # OPT udp 1232, COOKIE option
`)

/** A response to that query as BIND lays it out: owner compressed to the question. */
const A_RESPONSE = hex(`
  8276 8580 0001 0001 0000 0001            # qr aa rd ra
  05 6e6f646531 07 636c7573746572 04 74657374 00 0001 0001
  c00c 0001 0001 0000012c 0004 c0a87c51    # node1.cluster.test 300 A 192.168.124.81
  00 0029 04d0 00000000 0000               # OPT udp 1232, no options
`)

/** NXDOMAIN with the SOA in authority; the SOA's owner and both rdata names point into the question. */
const NXDOMAIN_RESPONSE = hex(`
  1234 8503 0001 0000 0001 0000            # qr aa rd, NXDOMAIN
  04 6e6f7065 07 636c7573746572 04 74657374 00 0001 0001      # nope.cluster.test A IN
  c011 0006 0001 0000012c 0029             # cluster.test SOA, rdlength 41
  05 61646d696e c011                       # admin.cluster.test
  0a 686f73746d6173746572 c011             # hostmaster.cluster.test
  00000001 00000e10 00000258 00093a80 0000012c
`)

describe('dns codec: captured and hand-built messages', () => {
  it('decodes a captured dig query, EDNS cookie included, and encodes it back byte for byte', () => {
    const m = decoded(DIG_QUERY)
    expect(m.header).toEqual({ ...QUERY_HEADER, id: 0x8276, rd: true, ad: true })
    expect(m.questions).toEqual([{ name: 'node1.cluster.test', type: 1, class: 1 }])
    expect(m.additionals).toEqual([])
    expect(m.edns).toEqual({
      udpPayloadSize: 1232,
      extendedRcode: 0,
      version: 0,
      dnssecOk: false,
      options: [{ code: 10, data: Buffer.from('eb70b77611fa7c6b', 'hex') }]
    })
    expect(encodeMessage(m).toString('hex')).toBe(DIG_QUERY.toString('hex'))
  })

  it('encodes an A answer with the owner compressed to the question, byte for byte', () => {
    const message: DnsMessage = {
      header: { id: 0x8276, qr: true, opcode: 0, aa: true, tc: false, rd: true, ra: true, z: false, ad: false, cd: false, rcode: 0 },
      questions: [{ name: 'node1.cluster.test', type: 1, class: 1 }],
      answers: [{ name: 'node1.cluster.test', type: 'A', class: 1, ttl: 300, address: '192.168.124.81' }],
      authorities: [],
      additionals: [],
      edns: { udpPayloadSize: 1232, extendedRcode: 0, version: 0, dnssecOk: false, options: [] }
    }
    expect(encodeMessage(message).toString('hex')).toBe(A_RESPONSE.toString('hex'))
    expect(decoded(A_RESPONSE)).toEqual(message)
  })

  it('compresses names inside SOA rdata and follows those pointers on decode', () => {
    const message: DnsMessage = {
      header: { id: 0x1234, qr: true, opcode: 0, aa: true, tc: false, rd: true, ra: false, z: false, ad: false, cd: false, rcode: 3 },
      questions: [{ name: 'nope.cluster.test', type: 1, class: 1 }],
      answers: [],
      authorities: [
        {
          name: 'cluster.test',
          type: 'SOA',
          class: 1,
          ttl: 300,
          mname: 'admin.cluster.test',
          rname: 'hostmaster.cluster.test',
          serial: 1,
          refresh: 3600,
          retry: 600,
          expire: 604800,
          minimum: 300
        }
      ],
      additionals: [],
      edns: null
    }
    expect(encodeMessage(message).toString('hex')).toBe(NXDOMAIN_RESPONSE.toString('hex'))
    expect(decoded(NXDOMAIN_RESPONSE)).toEqual(message)
  })

  it('round-trips AAAA, PTR, NS, CNAME and unknown types, with compression matching case-insensitively', () => {
    const message: DnsMessage = {
      header: { id: 7, qr: true, opcode: 0, aa: true, tc: false, rd: false, ra: false, z: false, ad: false, cd: false, rcode: 0 },
      questions: [{ name: 'Node1.Cluster.Test', type: 255, class: 1 }],
      answers: [
        { name: 'Node1.Cluster.Test', type: 'AAAA', class: 1, ttl: 60, address: 'fd00:1::81' },
        { name: 'Node1.Cluster.Test', type: 'CNAME', class: 1, ttl: 60, target: 'other.Cluster.Test' },
        { name: 'Node1.Cluster.Test', type: 'RAW', typeCode: 16, class: 1, ttl: 60, data: Buffer.from('0568656c6c6f', 'hex') }
      ],
      authorities: [{ name: 'Cluster.Test', type: 'NS', class: 1, ttl: 60, target: 'admin.Cluster.Test' }],
      additionals: [{ name: '1.0.0.10.in-addr.arpa', type: 'PTR', class: 1, ttl: 60, target: 'Node1.Cluster.Test' }],
      edns: { udpPayloadSize: 4096, extendedRcode: 0, version: 0, dnssecOk: true, options: [] }
    }
    const bytes = encodeMessage(message)
    expect(decoded(bytes)).toEqual(message)
    // Every later mention of Node1.Cluster.Test is a 2-byte pointer to offset 12.
    expect(bytes.indexOf(Buffer.from('c00c001c', 'hex'))).toBeGreaterThan(0)
    const lowered = encodeMessage({ ...message, answers: [{ name: 'node1.cluster.test', type: 'A', class: 1, ttl: 1, address: '10.0.0.1' }] })
    expect(lowered.indexOf(Buffer.from('c00c0001', 'hex'))).toBeGreaterThan(0)
  })

  it('escapes dots, backslashes and unprintable bytes inside labels and restores the same bytes', () => {
    const bytes = hex(`
      0001 0000 0001 0000 0000 0000
      05 612e625c00 03 616263 00 0001 0001      # label "a.b\\<NUL>", then "abc"
    `)
    const m = decoded(bytes)
    expect(m.questions[0]?.name).toBe('a\\.b\\\\\\000.abc')
    expect(encodeMessage(m).toString('hex')).toBe(bytes.toString('hex'))
  })

  it('keeps the root name as the empty string and accepts a trailing dot when encoding', () => {
    const root = decoded(hex('0001 0000 0001 0000 0000 0000 00 0002 0001'))
    expect(root.questions[0]?.name).toBe('')
    const withDot = encodeMessage({ ...root, questions: [{ name: 'a.b.', type: 1, class: 1 }] })
    expect(decoded(withDot).questions[0]?.name).toBe('a.b')
  })

  it('reads and writes the extended rcode, version and DO bit of OPT', () => {
    const bytes = hex('0001 8000 0000 0000 0000 0001 00 0029 0200 01018000 0000')
    const m = decoded(bytes)
    expect(m.edns).toEqual({ udpPayloadSize: 512, extendedRcode: 1, version: 1, dnssecOk: true, options: [] })
    expect(encodeMessage(m).toString('hex')).toBe(bytes.toString('hex'))
  })

  it('formats IPv6 the RFC 5952 way: lowercase, the longest zero run as ::', () => {
    const cases: Array<[string, string]> = [
      ['20010db8000000000000000000000001', '2001:db8::1'],
      ['00000000000000000000000000000000', '::'],
      ['00000000000000000000000000000001', '::1'],
      ['20010db8000000010000000000000000', '2001:db8:0:1::'],
      ['20010db8000000000001000000000001', '2001:db8::1:0:0:1'],
      ['20010db8000100010001000100010001', '2001:db8:1:1:1:1:1:1'],
      ['fd000000000000000000ffffc0a80001', 'fd00::ffff:c0a8:1']
    ]
    for (const [bytes, text] of cases) expect(formatIpv6(Buffer.from(bytes, 'hex'), 0)).toBe(text)
  })

  it('parses IPv6 text with :: and an IPv4 tail and refuses malformed text', () => {
    const out = Buffer.alloc(16)
    expect(writeIpv6('::ffff:192.0.2.1', 0, out)).toBe(true)
    expect(out.toString('hex')).toBe('00000000000000000000ffffc0000201')
    expect(writeIpv6('FD00:1::81', 0, out)).toBe(true)
    expect(out.toString('hex')).toBe('fd000001000000000000000000000081')
    for (const bad of ['', ':', ':::', '1::2::3', '1:2:3:4:5:6:7:8:9', '1:2:3:4:5:6:7', '12345::', 'fe80::1%eth0', '1:', '::1.2.3', 'g::1']) {
      expect(writeIpv6(bad, 0, out), bad).toBe(false)
    }
  })

  it('refuses to encode names it cannot represent, with a DnsEncodeError naming the name', () => {
    const base = decoded(DIG_QUERY)
    const encodeName = (name: string): Buffer => encodeMessage({ ...base, questions: [{ name, type: 1, class: 1 }] })
    expect(() => encodeName('a..b')).toThrow(DnsEncodeError)
    expect(() => encodeName(`${'x'.repeat(64)}.test`)).toThrow(/label longer than 63/)
    expect(() => encodeName(Array(130).fill('x').join('.'))).toThrow(/longer than 255/)
    expect(() => encodeName('\u00e9\u4e2d.test')).toThrow(/not one byte/)
    expect(encodeName(`${'x'.repeat(63)}.test`).length).toBeGreaterThan(0)
  })
})

describe('dns codec: hostile input', () => {
  it('returns an error without a header for anything shorter than 12 bytes', () => {
    for (let n = 0; n < 12; n++) expect(failed(DIG_QUERY.subarray(0, n)).header).toBeNull()
  })

  it('returns an error with the header for every truncation of a valid message', () => {
    for (const sample of [DIG_QUERY, A_RESPONSE, NXDOMAIN_RESPONSE]) {
      for (let n = 12; n < sample.length; n++) {
        const result = failed(sample.subarray(0, n))
        expect(result.header?.id).toBe(sample.readUInt16BE(0))
      }
    }
  })

  it('refuses counts the message cannot hold before reading any of them', () => {
    const r = failed(hex('0001 0000 ffff ffff ffff ffff 00 0001 0001'))
    expect(r.error).toMatch(/counts .* need at least/)
  })

  it('refuses a pointer to itself, a pointer forwards, and a backward pointer that closes a loop', () => {
    const self = hex('0001 0000 0001 0000 0000 0000 c00c 0001 0001')
    const forward = hex('0001 0000 0001 0000 0000 0000 c010 0001 01 61 00 0001')
    // "a" then a pointer back to that "a": backwards from the pointer, yet an endless "a.a.a...".
    const loop = hex('0001 0000 0001 0000 0000 0000 01 61 c00c 0001 0001')
    // Two names pointing at each other's labels.
    const pair = hex('0001 0000 0002 0000 0000 0000 01 61 c012 0001 0001 01 62 c00c 0001 0001')
    for (const bytes of [self, forward, loop, pair]) expect(failed(bytes).error).toMatch(/does not point backwards/)
  })

  it('refuses a name that decompresses past 255 bytes even through valid pointers', () => {
    const label = `3f${'61'.repeat(63)}`
    // The second question is one 63-byte label plus a pointer to the first name.
    const withFirst = (labels: number): Buffer =>
      hex(`0000 0000 0002 0000 0000 0000 ${label.repeat(labels)} 00 0001 0001 ${label} c00c 0001 0001`)
    expect(decoded(withFirst(2)).questions[1]?.name.length).toBe(3 * 63 + 2)
    expect(failed(withFirst(3)).error).toMatch(/question 1: name longer than 255 bytes/)
  })

  it('refuses extended and reserved label types', () => {
    expect(failed(hex('0001 0000 0001 0000 0000 0000 41 00 0001 0001')).error).toMatch(/label type 0x40/)
    expect(failed(hex('0001 0000 0001 0000 0000 0000 81 00 0001 0001')).error).toMatch(/label type 0x80/)
  })

  it('refuses A and AAAA rdata of the wrong length, and OPT outside the additional section', () => {
    const aWith = (rdata: string): Buffer => hex(`0001 8000 0000 0001 0000 0000 00 0001 0001 00000000 ${(rdata.length / 2).toString(16).padStart(4, '0')} ${rdata}`)
    expect(failed(aWith('0a0000')).error).toMatch(/A rdata of 3 bytes/)
    expect(failed(hex('0001 8000 0000 0001 0000 0000 00 001c 0001 00000000 0004 0a000001')).error).toMatch(/AAAA rdata of 4/)
    expect(failed(hex('0001 8000 0000 0001 0000 0000 00 0029 0200 00000000 0000')).error).toMatch(/OPT record in the answer/)
    expect(failed(hex('0001 0000 0000 0000 0000 0002 00 0029 0200 00000000 0000 00 0029 0200 00000000 0000')).error).toMatch(/more than one OPT/)
    expect(failed(hex('0001 0000 0000 0000 0000 0001 00 0029 0200 00000000 0003 000a00')).error).toMatch(/truncated EDNS option/)
  })

  it('keeps typed rdata of another class as raw bytes instead of misreading it', () => {
    const m = decoded(hex('0001 8000 0000 0001 0000 0000 00 0001 0003 00000000 0002 abcd'))
    expect(m.answers[0]).toMatchObject({ type: 'RAW', typeCode: 1, class: 3 })
  })

  it('survives 50,000 random mutations of valid messages without throwing', () => {
    let seed = 0x5eed
    const random = (): number => {
      // mulberry32: a fixed seed keeps a failure reproducible
      seed = (seed + 0x6d2b79f5) | 0
      let t = seed
      t = Math.imul(t ^ (t >>> 15), t | 1)
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296
    }
    const samples = [DIG_QUERY, A_RESPONSE, NXDOMAIN_RESPONSE]
    let messages = 0
    for (let i = 0; i < 50_000; i++) {
      const sample = samples[i % samples.length] ?? DIG_QUERY
      const bytes = Buffer.from(sample)
      const flips = 1 + Math.floor(random() * 4)
      for (let f = 0; f < flips; f++) bytes[Math.floor(random() * bytes.length)] = Math.floor(random() * 256)
      const cut = random() < 0.3 ? Math.floor(random() * bytes.length) : bytes.length
      const m = decodeMessage(bytes.subarray(0, cut))
      if (isDecodeError(m)) continue
      messages++
      // What decodes must encode again, or fail only with our typed error.
      try {
        const again = encodeMessage(m)
        expect(isDecodeError(decodeMessage(again))).toBe(false)
      } catch (err) {
        expect(err).toBeInstanceOf(DnsEncodeError)
      }
    }
    expect(messages).toBeGreaterThan(1000)
  })

  // Found by `npm run fuzz` (seed 42, DNS input 9023: 8,411 questions that point into one
  // 127-label name). Each pointer expanded every label again: ~1.4M labels and 0.6-0.9 s of CPU
  // to decode this one 64 KB datagram, and as long again to echo the questions in a NOTIMP.
  it('decodes, and echoes, 10,800 questions pointing into one 255-byte name in linear time', () => {
    const longName = Buffer.concat([...Array.from({ length: 127 }, () => Buffer.from([1, 0x61])), Buffer.from([0])])
    const bytes = Buffer.concat([
      hex('1234 0900 2a30 0000 0000 0000'), // id, opcode 1 (IQUERY) with RD, 10,800 questions
      longName,
      hex('0001 0001'), // a.a.(...).a A IN
      ...Array.from({ length: 10_799 }, () => hex('c00c 0001 0001')) // the same name, by pointer
    ])
    expect(bytes.length).toBe(65_065)
    let m: DnsMessage | DecodeError | undefined
    expect(cpuMs(() => (m = decodeMessage(bytes)))).toBeLessThan(150)
    if (!m || isDecodeError(m)) throw new Error('expected a message')
    const name = Array.from({ length: 127 }, () => 'a').join('.')
    expect(m.questions).toHaveLength(10_800)
    expect(m.questions.every((q) => q.name === name && q.type === 1 && q.class === 1)).toBe(true)
    const query = m
    let echoed: Buffer | undefined
    expect(cpuMs(() => (echoed = encodeMessage({ ...query, header: { ...query.header, qr: true, rcode: 4 } })))).toBeLessThan(100)
    // The first name in full, every other one a pointer to it: the reply is the query's size.
    expect(echoed?.subarray(4).equals(bytes.subarray(4))).toBe(true)
  })
})
