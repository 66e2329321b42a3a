// The DNS answer policy from fixed query messages: which rcode, which records, which flags.
import { describe, expect, it } from 'vitest'
import { decodeMessage, encodeMessage, isDecodeError, DnsType, type DnsMessage, type DnsQuestion, type EdnsOpt } from './dns-codec'
import { reverseNameOf } from './dns-names'
import { policy, serverFailureReply, truncatedReply, udpLimitOf, zoneProblems, type DnsZone, type PolicyResult } from './dns-zone'

const ZONE: DnsZone = {
  domain: 'Cluster.Test.',
  ttl: 300,
  nameserver: { fqdn: 'admin.cluster.test', addresses: ['192.168.124.10', 'fd00:1::10'] },
  hosts: [
    { fqdn: 'node1.cluster.test', addresses: ['192.168.124.81', 'FD00:1:0:0::81', '192.168.124.81'] },
    { fqdn: 'node2.rack1.cluster.test.', addresses: ['192.168.124.82'] },
    { fqdn: 'alias.cluster.test', addresses: ['192.168.124.81'] },
    { fqdn: 'bad name.cluster.test', addresses: ['192.168.124.90'] },
    { fqdn: 'node9.other.test', addresses: ['10.9.9.9'] },
    { fqdn: 'node3.cluster.test', addresses: ['not-an-address', '192.168.124.83'] }
  ]
}

const EDNS: EdnsOpt = { udpPayloadSize: 4096, extendedRcode: 0, version: 0, dnssecOk: false, options: [] }

interface QueryOptions {
  readonly edns?: EdnsOpt | null
  readonly opcode?: number
  readonly qr?: boolean
  readonly qclass?: number
  readonly questions?: readonly DnsQuestion[]
}

function query(name: string, type: number, o: QueryOptions = {}): DnsMessage {
  return {
    header: { id: 4242, qr: o.qr ?? false, opcode: o.opcode ?? 0, aa: false, tc: false, rd: true, ra: false, z: false, ad: false, cd: true, rcode: 0 },
    questions: o.questions ?? [{ name, type, class: o.qclass ?? 1 }],
    answers: [],
    authorities: [],
    additionals: [],
    edns: o.edns === undefined ? null : o.edns
  }
}

function answer(result: PolicyResult): DnsMessage {
  if (result.kind !== 'answer') throw new Error(`expected an answer, got ${result.kind}`)
  // Every reply the policy makes must survive the wire.
  const wire = decodeMessage(encodeMessage(result.message))
  if (isDecodeError(wire)) throw new Error(wire.error)
  return result.message
}

function ask(name: string, type: number, o: QueryOptions = {}, forwarding = false): DnsMessage {
  return answer(policy(query(name, type, o), ZONE, forwarding))
}

const rdata = (m: DnsMessage, section: 'answers' | 'authorities' | 'additionals' = 'answers'): string[] =>
  m[section].map((r) => {
    switch (r.type) {
      case 'A':
      case 'AAAA':
        return `${r.name} ${r.type} ${r.address}`
      case 'SOA':
        return `${r.name} SOA ${r.mname} ${r.rname} ${r.serial} ${r.minimum}`
      case 'RAW':
        return `${r.name} TYPE${r.typeCode}`
      default:
        return `${r.name} ${r.type} ${r.target}`
    }
  })

describe('dns policy for the forward zone', () => {
  it('answers A for a host authoritatively, echoing id, question, RD and CD', () => {
    const m = ask('node1.cluster.test', DnsType.A)
    expect(m.header).toMatchObject({ id: 4242, qr: true, aa: true, rd: true, cd: true, ra: false, tc: false, rcode: 0 })
    expect(m.questions).toEqual([{ name: 'node1.cluster.test', type: 1, class: 1 }])
    expect(rdata(m)).toEqual(['node1.cluster.test A 192.168.124.81'])
    expect(m.answers[0]?.ttl).toBe(300)
  })

  it('matches names case-insensitively and keeps the question as asked', () => {
    const m = ask('NODE1.Cluster.TEST', DnsType.A)
    expect(m.questions[0]?.name).toBe('NODE1.Cluster.TEST')
    expect(rdata(m)).toEqual(['node1.cluster.test A 192.168.124.81'])
  })

  it('answers AAAA in canonical text and drops duplicate addresses', () => {
    expect(rdata(ask('node1.cluster.test', DnsType.AAAA))).toEqual(['node1.cluster.test AAAA fd00:1::81'])
  })

  it('answers ANY with every record of the name', () => {
    expect(rdata(ask('node1.cluster.test', DnsType.ANY))).toEqual(['node1.cluster.test A 192.168.124.81', 'node1.cluster.test AAAA fd00:1::81'])
  })

  it('answers SOA and NS at the apex, with the nameserver addresses as additional records', () => {
    expect(rdata(ask('cluster.test', DnsType.SOA))).toEqual(['cluster.test SOA admin.cluster.test hostmaster.cluster.test 1 300'])
    const ns = ask('cluster.test', DnsType.NS)
    expect(rdata(ns)).toEqual(['cluster.test NS admin.cluster.test'])
    expect(rdata(ns, 'additionals')).toEqual(['admin.cluster.test A 192.168.124.10', 'admin.cluster.test AAAA fd00:1::10'])
  })

  it('publishes the nameserver as a host when it is inside the domain', () => {
    expect(rdata(ask('admin.cluster.test', DnsType.A))).toEqual(['admin.cluster.test A 192.168.124.10'])
  })

  it('answers NXDOMAIN with the SOA in authority for an unknown name in the domain', () => {
    const m = ask('nope.cluster.test', DnsType.A)
    expect(m.header).toMatchObject({ aa: true, rcode: 3 })
    expect(m.answers).toEqual([])
    expect(rdata(m, 'authorities')).toEqual(['cluster.test SOA admin.cluster.test hostmaster.cluster.test 1 300'])
  })

  it('answers NOERROR with no records (NODATA) for a known name asked for a type it lacks', () => {
    const m = ask('node2.rack1.cluster.test', DnsType.AAAA)
    expect(m.header).toMatchObject({ aa: true, rcode: 0 })
    expect(m.answers).toEqual([])
    expect(rdata(m, 'authorities')).toEqual(['cluster.test SOA admin.cluster.test hostmaster.cluster.test 1 300'])
  })

  it('answers NODATA, not NXDOMAIN, for a name that only has names below it', () => {
    const m = ask('rack1.cluster.test', DnsType.A)
    expect(m.header.rcode).toBe(0)
    expect(m.answers).toEqual([])
  })

  it('refuses zone transfers and classes other than IN', () => {
    expect(ask('cluster.test', DnsType.AXFR).header).toMatchObject({ rcode: 5, aa: false })
    expect(ask('cluster.test', DnsType.IXFR).header.rcode).toBe(5)
    expect(ask('node1.cluster.test', DnsType.A, { qclass: 3 }).header.rcode).toBe(5)
  })
})

describe('dns policy for the reverse zones', () => {
  it('answers PTR for an IPv4 address, one record per host holding it', () => {
    const m = ask('81.124.168.192.in-addr.arpa', DnsType.PTR)
    expect(m.header).toMatchObject({ aa: true, rcode: 0 })
    expect(rdata(m)).toEqual(['81.124.168.192.in-addr.arpa PTR node1.cluster.test', '81.124.168.192.in-addr.arpa PTR alias.cluster.test'])
  })

  it('answers PTR for an IPv6 address under ip6.arpa', () => {
    const name = reverseNameOf('fd00:1::81')
    expect(name).toBe('1.8.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.1.0.0.0.0.0.d.f.ip6.arpa')
    expect(rdata(ask(name ?? '', DnsType.PTR))).toEqual([`${name} PTR node1.cluster.test`])
  })

  it('answers NXDOMAIN with the reverse zone SOA for an address we do not hold in a /24 we serve', () => {
    const m = ask('99.124.168.192.in-addr.arpa', DnsType.PTR)
    expect(m.header).toMatchObject({ aa: true, rcode: 3 })
    expect(rdata(m, 'authorities')).toEqual(['124.168.192.in-addr.arpa SOA admin.cluster.test hostmaster.cluster.test 1 300'])
  })

  it('answers SOA at a reverse zone apex and NODATA between an ip6.arpa apex and its PTRs', () => {
    expect(rdata(ask('124.168.192.in-addr.arpa', DnsType.SOA))).toHaveLength(1)
    const apex = '0.0.0.0.0.0.0.0.1.0.0.0.0.0.d.f.ip6.arpa' // fd00:1::/64
    expect(rdata(ask(apex, DnsType.NS))).toEqual([`${apex} NS admin.cluster.test`])
    const between = ask(`0.0.${apex}`, DnsType.PTR)
    expect(between.header.rcode).toBe(0)
    expect(between.answers).toEqual([])
  })

  it('refuses reverse names in networks we hold no address in', () => {
    expect(ask('1.0.0.10.in-addr.arpa', DnsType.PTR).header).toMatchObject({ rcode: 5, aa: false })
    expect(ask('168.192.in-addr.arpa', DnsType.SOA).header.rcode).toBe(5)
  })
})

describe('dns policy for names outside our zones', () => {
  it('refuses them without AA when forwarding is off', () => {
    const m = ask('example.com', DnsType.A)
    expect(m.header).toMatchObject({ rcode: 5, aa: false, ra: false })
    expect(m.questions).toEqual([{ name: 'example.com', type: 1, class: 1 }])
  })

  it('forwards them when forwarding is on, and still answers our own names with RA set', () => {
    expect(policy(query('example.com', DnsType.A), ZONE, true)).toEqual({ kind: 'forward' })
    expect(policy(query('test', DnsType.A), ZONE, true)).toEqual({ kind: 'forward' })
    const own = ask('node1.cluster.test', DnsType.A, {}, true)
    expect(own.header).toMatchObject({ aa: true, ra: true, rcode: 0 })
    expect(ask('nope.cluster.test', DnsType.A, {}, true).header.rcode).toBe(3)
  })
})

describe('dns policy for the message itself', () => {
  it('replies with an OPT advertising 1232 bytes only when the query had one, copying DO', () => {
    expect(ask('node1.cluster.test', DnsType.A).edns).toBeNull()
    expect(ask('node1.cluster.test', DnsType.A, { edns: EDNS }).edns).toEqual({ ...EDNS, udpPayloadSize: 1232 })
    expect(ask('node1.cluster.test', DnsType.A, { edns: { ...EDNS, dnssecOk: true } }).edns?.dnssecOk).toBe(true)
  })

  it('answers BADVERS to an EDNS version it does not speak', () => {
    const m = ask('node1.cluster.test', DnsType.A, { edns: { ...EDNS, version: 1 } })
    expect(m.header.rcode).toBe(0)
    expect(m.edns).toMatchObject({ extendedRcode: 1, version: 0 })
    expect(m.answers).toEqual([])
  })

  it('answers NOTIMP to opcodes other than QUERY', () => {
    expect(ask('node1.cluster.test', DnsType.A, { opcode: 2 }).header).toMatchObject({ rcode: 4, opcode: 2 })
  })

  it('answers FORMERR to zero or several questions and to a question for OPT', () => {
    expect(ask('', 1, { questions: [] }).header.rcode).toBe(1)
    const two = [
      { name: 'node1.cluster.test', type: 1, class: 1 },
      { name: 'alias.cluster.test', type: 1, class: 1 }
    ]
    expect(ask('', 1, { questions: two }).header.rcode).toBe(1)
    expect(ask('node1.cluster.test', DnsType.OPT).header.rcode).toBe(1)
  })

  it('drops responses instead of answering them', () => {
    expect(policy(query('node1.cluster.test', DnsType.A, { qr: true }), ZONE, false)).toEqual({ kind: 'drop' })
  })

  it('truncates to the question and OPT with TC set, and sizes UDP replies from EDNS', () => {
    const m = ask('node1.cluster.test', DnsType.A, { edns: EDNS })
    const t = truncatedReply(m)
    expect(t.header.tc).toBe(true)
    expect(t.questions).toEqual(m.questions)
    expect([t.answers, t.authorities, t.additionals]).toEqual([[], [], []])
    expect(t.edns).toEqual(m.edns)
    expect(udpLimitOf(query('a', 1))).toBe(512)
    expect(udpLimitOf(query('a', 1, { edns: { ...EDNS, udpPayloadSize: 100 } }))).toBe(512)
    expect(udpLimitOf(query('a', 1, { edns: { ...EDNS, udpPayloadSize: 1400 } }))).toBe(1232)
    expect(udpLimitOf(query('a', 1, { edns: { ...EDNS, udpPayloadSize: 1000 } }))).toBe(1000)
  })
})

describe('dns zone data', () => {
  it('skips entries it cannot publish and says which and why', () => {
    expect(zoneProblems(ZONE)).toEqual([
      'host "bad name.cluster.test" is not a DNS name: skipped',
      'host "node9.other.test" is outside the domain cluster.test: skipped',
      'host "node3.cluster.test": "not-an-address" is not an IPv4 or IPv6 address: skipped'
    ])
    expect(rdata(ask('node3.cluster.test', DnsType.A))).toEqual(['node3.cluster.test A 192.168.124.83'])
    expect(ask('node9.other.test', DnsType.A).header.rcode).toBe(5)
    expect(ask('9.9.9.10.in-addr.arpa', DnsType.PTR).header.rcode).toBe(5)
  })

  it('indexes a zone object once and a new object afresh', () => {
    const first = ask('node1.cluster.test', DnsType.A)
    const again = ask('node1.cluster.test', DnsType.A)
    // The same record array: the lookup map was built once for this object.
    expect(again.answers).toBe(first.answers)
    const moved: DnsZone = { ...ZONE, hosts: [{ fqdn: 'node1.cluster.test', addresses: ['192.168.124.181'] }] }
    expect(rdata(answer(policy(query('node1.cluster.test', DnsType.A), moved, false)))).toEqual(['node1.cluster.test A 192.168.124.181'])
  })

  it('names an outside nameserver in NS and SOA without publishing its addresses', () => {
    const zone: DnsZone = { domain: 'lab.test', ttl: 60, serial: 2024, hosts: [], nameserver: { fqdn: 'ns.example.net', addresses: ['10.0.0.53'] } }
    const ns = answer(policy(query('lab.test', DnsType.NS), zone, false))
    expect(rdata(ns)).toEqual(['lab.test NS ns.example.net'])
    expect(ns.additionals).toEqual([])
    expect(rdata(answer(policy(query('lab.test', DnsType.SOA), zone, false)))).toEqual(['lab.test SOA ns.example.net hostmaster.lab.test 2024 60'])
    expect(answer(policy(query('53.0.0.10.in-addr.arpa', DnsType.PTR), zone, false)).header.rcode).toBe(5)
  })

  it('publishes nothing for an invalid domain and says so', () => {
    const zone: DnsZone = { ...ZONE, domain: 'not a domain' }
    expect(zoneProblems(zone)[0]).toMatch(/domain "not a domain" is not a DNS name/)
    expect(answer(policy(query('node1.cluster.test', DnsType.A), zone, false)).header.rcode).toBe(5)
  })

  it('a SERVFAIL to a query of many questions echoes only the first, so it fits a UDP reply (fuzz seed 2412595269, dns:17510)', () => {
    const label = 'x'.repeat(60)
    const many = Array.from({ length: 40 }, (_, i) => ({ name: `${label}.${label}.${label}.q${i}.test`, type: 1, class: 1 }))
    const q = query('', 1, { questions: many })
    const fail = serverFailureReply(q, true)
    expect(fail.header.rcode).toBe(2)
    expect(fail.questions).toEqual([many[0]])
    expect(encodeMessage(fail).length).toBeLessThanOrEqual(512)
    // Truncation, the last resort for any reply too large, keeps at most one question too.
    const huge = truncatedReply({ ...fail, questions: many })
    expect(huge.questions).toHaveLength(1)
    expect(encodeMessage(huge).length).toBeLessThanOrEqual(512)
  })
})
