// The answer cache's key and patching, from encoded queries: what may share a reply, what must not.
import { describe, expect, it } from 'vitest'
import { AnswerCache, answerKeyOf } from './dns-answer-cache'
import { DnsType, encodeMessage, type DnsMessage, type EdnsOpt } from './dns-codec'

function query(name: string, options: { id?: number; type?: number; edns?: Partial<EdnsOpt> | null; rd?: boolean; cd?: boolean } = {}): Buffer {
  const edns = options.edns === undefined || options.edns === null ? null : { udpPayloadSize: 1232, extendedRcode: 0, version: 0, dnssecOk: false, options: [], ...options.edns }
  const message: DnsMessage = {
    header: { id: options.id ?? 1, qr: false, opcode: 0, aa: false, tc: false, rd: options.rd ?? true, ra: false, z: false, ad: false, cd: options.cd ?? false, rcode: 0 },
    questions: [{ name, type: options.type ?? DnsType.A, class: 1 }],
    answers: [],
    authorities: [],
    additionals: [],
    edns
  }
  return encodeMessage(message)
}

const keyOf = (bytes: Buffer): string | undefined => answerKeyOf(bytes)?.key

describe('answer cache key', () => {
  it('is the same for queries that differ only in id, letter case, RD or CD', () => {
    const k = keyOf(query('node1.cluster.test'))
    expect(k).toBeDefined()
    expect(keyOf(query('NODE1.Cluster.test', { id: 999, rd: false, cd: true }))).toBe(k)
  })

  it('differs by type, by EDNS presence, by DO bit and by the UDP size the client takes', () => {
    const keys = [
      keyOf(query('n.test')),
      keyOf(query('n.test', { type: DnsType.AAAA })),
      keyOf(query('n.test', { edns: {} })),
      keyOf(query('n.test', { edns: { dnssecOk: true } })),
      keyOf(query('n.test', { edns: { udpPayloadSize: 600 } }))
    ]
    expect(new Set(keys).size).toBe(5)
    // Sizes beyond what we send (1232) and below 512 shape the reply like those limits.
    expect(keyOf(query('n.test', { edns: { udpPayloadSize: 4096 } }))).toBe(keyOf(query('n.test', { edns: {} })))
    expect(keyOf(query('n.test', { edns: { udpPayloadSize: 100 } }))).toBe(keyOf(query('n.test', { edns: { udpPayloadSize: 512 } })))
  })

  it('leaves odd queries to the full path: responses, other opcodes, EDNS version 1, non-ASCII names, junk', () => {
    const response = query('n.test')
    response.writeUInt8(response.readUInt8(2) | 0x80, 2)
    const notify = query('n.test')
    notify.writeUInt8(notify.readUInt8(2) | (4 << 3), 2)
    const badOption = query('n.test', { edns: { options: [{ code: 10, data: Buffer.alloc(8) }] } })
    badOption.writeUInt16BE(200, badOption.length - 10)
    for (const bytes of [
      response,
      notify,
      query('n.test', { edns: { version: 1 } }),
      query('caf\\233.test'),
      query('n.test', { type: DnsType.OPT }),
      badOption,
      query('n.test').subarray(0, 20),
      Buffer.alloc(0)
    ]) {
      expect(answerKeyOf(bytes)).toBeNull()
    }
    expect(answerKeyOf(query('n.test', { edns: { options: [{ code: 10, data: Buffer.alloc(8) }] } }))).not.toBeNull()
  })

  it('never throws on random bytes', () => {
    for (let i = 0; i < 5_000; i++) {
      const bytes = Buffer.from(Array.from({ length: i % 64 }, () => Math.floor(Math.random() * 256)))
      if (i % 2 === 0 && bytes.length >= 12) query('n.test').copy(bytes, 0, 0, 12)
      expect(() => answerKeyOf(bytes)).not.toThrow()
    }
  })
})

describe('answer cache', () => {
  const zone = {}
  const reply = (q: Buffer): Buffer => {
    const r = Buffer.concat([q, Buffer.from([0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 1, 44, 0, 4, 10, 0, 0, 1])])
    r.writeUInt8(r.readUInt8(2) | 0x84, 2)
    r.writeUInt16BE(1, 6)
    return r
  }

  it('answers with the query id, RD, CD and question bytes patched into the remembered reply', () => {
    const cache = new AnswerCache()
    const first = query('node1.test', { id: 7 })
    const key = answerKeyOf(first)
    if (!key) throw new Error('no key')
    expect(cache.replyTo(zone, key, first)).toBeNull()
    cache.remember(zone, key, first, reply(first))
    const second = query('NoDe1.TEST', { id: 0xbeef, rd: false, cd: true })
    const secondKey = answerKeyOf(second)
    if (!secondKey) throw new Error('no key')
    const hit = cache.replyTo(zone, secondKey, second)
    expect(hit).toEqual(reply(second))
  })

  it('forgets everything when handed another zone object', () => {
    const cache = new AnswerCache()
    const q = query('node1.test')
    const key = answerKeyOf(q)
    if (!key) throw new Error('no key')
    cache.remember(zone, key, q, reply(q))
    expect(cache.replyTo(zone, key, q)).not.toBeNull()
    expect(cache.replyTo({}, key, q)).toBeNull()
    expect(cache.size).toBe(0)
  })

  it('keeps no reply whose question differs from the query, and starts over when full', () => {
    const cache = new AnswerCache(2)
    const q = query('node1.test')
    const key = answerKeyOf(q)
    if (!key) throw new Error('no key')
    const formerr = Buffer.from(q.subarray(0, 12))
    formerr.writeUInt16BE(0, 4)
    cache.remember(zone, key, q, formerr)
    expect(cache.size).toBe(0)
    for (const name of ['a.test', 'b.test', 'c.test']) {
      const each = query(name)
      const k = answerKeyOf(each)
      if (k) cache.remember(zone, k, each, reply(each))
    }
    expect(cache.size).toBe(1)
  })
})
