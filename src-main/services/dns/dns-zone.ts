// The cluster's DNS data (forward zone plus the reverse zones of the addresses it holds) and the
// answer policy. Pure: no sockets, so every rcode decision is tested from fixed messages.
import {
  DnsClass,
  DnsOpcode,
  DnsRcode,
  DnsType,
  type DnsHeader,
  type DnsMessage,
  type DnsQuestion,
  type DnsRecord,
  type EdnsOpt,
  type SoaRecord
} from './dns-codec'
import { isWithin, normalizeName, parseAddress } from './dns-names'

export interface DnsHost {
  readonly fqdn: string
  readonly addresses: readonly string[]
}

/**
 * What the server publishes. The server reads it at every query and indexes it once per object
 * identity, so hand it a new object when the data changes and the same object until then.
 */
export interface DnsZone {
  /** The cluster domain, e.g. `cluster.example`; names are compared case-insensitively. */
  readonly domain: string
  readonly ttl: number
  readonly hosts: readonly DnsHost[]
  /** Named in the NS and SOA records; published as a host when it lies inside `domain`. */
  readonly nameserver: DnsHost
  /** SOA serial, default 1. Nothing transfers our zones, so it only matters to curious readers. */
  readonly serial?: number
}

export type PolicyResult =
  | { readonly kind: 'answer'; readonly message: DnsMessage }
  | { readonly kind: 'forward' }
  /** Responses (QR set) arriving at the server: answering them lets two servers ping-pong. */
  | { readonly kind: 'drop' }

/** Our UDP payload size in EDNS replies: the DNS Flag Day 2020 value, safe from fragmentation. */
export const ADVERTISED_UDP_SIZE = 1232

/** Reverse zones are cut at these boundaries, the usual delegation points. */
const SOA_REFRESH = 3600
const SOA_RETRY = 600
const SOA_EXPIRE = 7 * 86400
const DEFAULT_TTL = 300

interface Authority {
  readonly apex: string
  /** The SOA as one-record arrays, ready to drop into a message without copying. */
  readonly soa: readonly DnsRecord[]
  readonly ns: readonly DnsRecord[]
  /** Addresses of the nameserver when we publish them: the additional section of NS answers. */
  glue: readonly DnsRecord[]
}

/** A name we hold, with its records by type; fields rather than a Map keeps big zones cheap. */
interface Owner {
  readonly authority: Authority
  a?: DnsRecord[]
  aaaa?: DnsRecord[]
  ptr?: DnsRecord[]
  soa?: readonly DnsRecord[]
  ns?: readonly DnsRecord[]
  /** Every record of the name, for ANY; built on the first ANY query, which is rare. */
  all?: readonly DnsRecord[]
}

function recordsOf(o: Owner, type: number): readonly DnsRecord[] | undefined {
  switch (type) {
    case DnsType.A:
      return o.a
    case DnsType.AAAA:
      return o.aaaa
    case DnsType.PTR:
      return o.ptr
    case DnsType.SOA:
      return o.soa
    case DnsType.NS:
      return o.ns
    case DnsType.ANY:
      return (o.all ??= [...(o.soa ?? []), ...(o.ns ?? []), ...(o.a ?? []), ...(o.aaaa ?? []), ...(o.ptr ?? [])])
    default:
      return undefined
  }
}

/** Appends unless a record with the same address or target is there: hosts may repeat one. */
function addOnce(list: DnsRecord[], record: DnsRecord): void {
  for (const r of list) {
    if ((r.type === 'A' || r.type === 'AAAA') && (record.type === 'A' || record.type === 'AAAA') && r.address === record.address) return
    if (r.type === 'PTR' && record.type === 'PTR' && r.target === record.target) return
  }
  list.push(record)
}

interface ZoneIndex {
  readonly owners: Map<string, Owner>
  readonly apexes: Map<string, Authority>
  readonly problems: readonly string[]
}

const indexes = new WeakMap<DnsZone, ZoneIndex>()

function indexOf(zone: DnsZone): ZoneIndex {
  let index = indexes.get(zone)
  if (!index) {
    index = buildIndex(zone)
    indexes.set(zone, index)
  }
  return index
}

/** Entries the index skipped, each saying which and why; the server logs them once per zone. */
export function zoneProblems(zone: DnsZone): readonly string[] {
  return indexOf(zone).problems
}

function buildIndex(zone: DnsZone): ZoneIndex {
  const problems: string[] = []
  const owners = new Map<string, Owner>()
  const apexes = new Map<string, Authority>()
  const domain = normalizeName(zone.domain)
  if (!domain) {
    problems.push(`domain "${zone.domain}" is not a DNS name: nothing is published`)
    return { owners, apexes, problems }
  }
  let ttl = zone.ttl
  if (!Number.isInteger(ttl) || ttl < 0 || ttl > 0x7fffffff) {
    problems.push(`ttl ${zone.ttl} is not a whole number of seconds from 0 to 2^31-1: using ${DEFAULT_TTL}`)
    ttl = DEFAULT_TTL
  }
  const serial = zone.serial ?? 1
  const nameserver = normalizeName(zone.nameserver.fqdn)
  if (!nameserver) problems.push(`nameserver "${zone.nameserver.fqdn}" is not a DNS name: the SOA and NS name the domain instead`)
  const nsName = nameserver ?? domain

  const authority = (apex: string): Authority => {
    let a = apexes.get(apex)
    if (!a) {
      const soa: SoaRecord = {
        name: apex,
        type: 'SOA',
        class: DnsClass.IN,
        ttl,
        mname: nsName,
        rname: `hostmaster.${domain}`,
        serial,
        refresh: SOA_REFRESH,
        retry: SOA_RETRY,
        expire: SOA_EXPIRE,
        minimum: ttl
      }
      a = { apex, soa: [soa], ns: [{ name: apex, type: 'NS', class: DnsClass.IN, ttl, target: nsName }], glue: [] }
      apexes.set(apex, a)
    }
    return a
  }
  const owner = (name: string, auth: Authority): Owner => {
    let o = owners.get(name)
    if (!o) {
      o = { authority: auth }
      owners.set(name, o)
    }
    return o
  }

  const forward = authority(domain)
  const hosts = nameserver && isWithin(nameserver, domain) ? [zone.nameserver, ...zone.hosts] : zone.hosts
  for (const host of hosts) {
    const fqdn = normalizeName(host.fqdn)
    if (!fqdn) {
      problems.push(`host "${host.fqdn}" is not a DNS name: skipped`)
      continue
    }
    if (!isWithin(fqdn, domain)) {
      problems.push(`host "${host.fqdn}" is outside the domain ${domain}: skipped`)
      continue
    }
    const o = owner(fqdn, forward)
    for (const text of host.addresses) {
      const address = parseAddress(text)
      if (!address) {
        problems.push(`host "${host.fqdn}": "${text}" is not an IPv4 or IPv6 address: skipped`)
        continue
      }
      if (address.family === 4) addOnce((o.a ??= []), { name: fqdn, type: 'A', class: DnsClass.IN, ttl, address: address.text })
      else addOnce((o.aaaa ??= []), { name: fqdn, type: 'AAAA', class: DnsClass.IN, ttl, address: address.text })
      const reverse = owner(address.reverse, authority(address.reverseApex))
      addOnce((reverse.ptr ??= []), { name: address.reverse, type: 'PTR', class: DnsClass.IN, ttl, target: fqdn })
    }
  }

  for (const a of apexes.values()) {
    const o = owner(a.apex, a)
    o.soa = a.soa
    o.ns = a.ns
    const ns = nameserver ? owners.get(nameserver) : undefined
    a.glue = ns ? [...(ns.a ?? []), ...(ns.aaaa ?? [])] : []
  }
  // Names between a record and its apex exist without records (empty non-terminals): they get
  // NODATA, not NXDOMAIN, or resolvers doing RFC 8020 cuts would prune the names below them.
  // A parent that already exists has its own ancestors done (or will, as a name in this list).
  for (const [name, o] of [...owners.entries()]) {
    const apex = o.authority.apex
    let dot = name.indexOf('.')
    while (dot >= 0 && name.length - dot - 1 > apex.length) {
      const parent = name.slice(dot + 1)
      if (owners.has(parent)) break
      owner(parent, o.authority)
      dot = name.indexOf('.', dot + 1)
    }
  }
  return { owners, apexes, problems }
}

function authorityFor(index: ZoneIndex, name: string): Authority | undefined {
  let suffix = name
  for (;;) {
    const a = index.apexes.get(suffix)
    if (a) return a
    const dot = suffix.indexOf('.')
    if (dot < 0) return undefined
    suffix = suffix.slice(dot + 1)
  }
}

// Shared, frozen reply parts: most answers are assembled without allocating anything but the message.
const NONE: readonly DnsRecord[] = Object.freeze([])
const NO_QUESTIONS: readonly DnsQuestion[] = Object.freeze([])
const EDNS_PLAIN: EdnsOpt = Object.freeze({ udpPayloadSize: ADVERTISED_UDP_SIZE, extendedRcode: 0, version: 0, dnssecOk: false, options: [] })
const EDNS_DO: EdnsOpt = Object.freeze({ ...EDNS_PLAIN, dnssecOk: true })
const EDNS_BADVERS: EdnsOpt = Object.freeze({ ...EDNS_PLAIN, extendedRcode: DnsRcode.BADVERS >> 4 })
const DROP: PolicyResult = Object.freeze({ kind: 'drop' })
const FORWARD: PolicyResult = Object.freeze({ kind: 'forward' })

interface ReplyParts {
  readonly rcode: number
  readonly aa: boolean
  readonly questions: readonly DnsQuestion[]
  readonly answers?: readonly DnsRecord[]
  readonly authorities?: readonly DnsRecord[]
  readonly additionals?: readonly DnsRecord[]
  readonly edns?: EdnsOpt | null
}

function reply(query: DnsMessage, forwarding: boolean, parts: ReplyParts): PolicyResult {
  return { kind: 'answer', message: replyMessage(query, forwarding, parts) }
}

function replyMessage(query: DnsMessage, forwarding: boolean, parts: ReplyParts): DnsMessage {
  const q: DnsHeader = query.header
  const header: DnsHeader = {
    id: q.id,
    qr: true,
    opcode: q.opcode,
    aa: parts.aa,
    tc: false,
    rd: q.rd,
    ra: forwarding,
    z: false,
    ad: false,
    cd: q.cd,
    rcode: parts.rcode & 0xf
  }
  const edns = parts.edns !== undefined ? parts.edns : query.edns ? (query.edns.dnssecOk ? EDNS_DO : EDNS_PLAIN) : null
  return {
    header,
    questions: parts.questions,
    answers: parts.answers ?? NONE,
    authorities: parts.authorities ?? NONE,
    additionals: parts.additionals ?? NONE,
    edns
  }
}

/** Answer (authoritatively) for our zones, forward or refuse the rest. */
export function policy(query: DnsMessage, zone: DnsZone, forwarding: boolean): PolicyResult {
  if (query.header.qr) return DROP
  if (query.edns && query.edns.version > 0) {
    return reply(query, forwarding, { rcode: DnsRcode.BADVERS, aa: false, questions: query.questions, edns: EDNS_BADVERS })
  }
  if (query.header.opcode !== DnsOpcode.QUERY) return reply(query, forwarding, { rcode: DnsRcode.NOTIMP, aa: false, questions: query.questions })
  const question = query.questions.length === 1 ? query.questions[0] : undefined
  if (!question || question.type === DnsType.OPT) return reply(query, forwarding, { rcode: DnsRcode.FORMERR, aa: false, questions: NO_QUESTIONS })

  const index = indexOf(zone)
  const name = question.name.toLowerCase()
  const owner = index.owners.get(name)
  const authority = owner?.authority ?? authorityFor(index, name)
  if (!authority) {
    if (forwarding) return FORWARD
    return reply(query, forwarding, { rcode: DnsRcode.REFUSED, aa: false, questions: query.questions })
  }
  const questions = query.questions
  // Zone transfers are not offered, and only class IN holds data.
  if (question.type === DnsType.AXFR || question.type === DnsType.IXFR || (question.class !== DnsClass.IN && question.class !== DnsClass.ANY)) {
    return reply(query, forwarding, { rcode: DnsRcode.REFUSED, aa: false, questions })
  }
  if (!owner) return reply(query, forwarding, { rcode: DnsRcode.NXDOMAIN, aa: true, questions, authorities: authority.soa })
  const answers = recordsOf(owner, question.type)
  if (!answers || answers.length === 0) {
    return reply(query, forwarding, { rcode: DnsRcode.NOERROR, aa: true, questions, authorities: authority.soa })
  }
  const additionals = question.type === DnsType.NS ? authority.glue : NONE
  return reply(query, forwarding, { rcode: DnsRcode.NOERROR, aa: true, questions, answers, additionals })
}

// Replies the server sends when the policy above could not run or its answer does not fit.

/** FORMERR for a message whose header was readable but whose body was not. */
export function formatErrorReply(header: DnsHeader, forwarding: boolean): DnsMessage {
  return {
    header: {
      ...header,
      qr: true,
      aa: false,
      tc: false,
      ra: forwarding,
      z: false,
      ad: false,
      rcode: DnsRcode.FORMERR
    },
    questions: NO_QUESTIONS,
    answers: NONE,
    authorities: NONE,
    additionals: NONE,
    edns: null
  }
}

/**
 * SERVFAIL: our side failed (zone source threw, upstream silent), not the client. It echoes only
 * the first question, as every answer does: a query may carry thousands (the fuzzer sent 10 KB of
 * them), and echoing all would make a UDP reply too large for the client to take.
 */
export function serverFailureReply(query: DnsMessage, forwarding: boolean): DnsMessage {
  return replyMessage(query, forwarding, { rcode: DnsRcode.SERVFAIL, aa: false, questions: query.questions.slice(0, 1) })
}

/**
 * The same reply with TC set, no records and at most the first question (one name is at most 255
 * bytes, so this always fits in 512): the client repeats the question over TCP.
 */
export function truncatedReply(message: DnsMessage): DnsMessage {
  return {
    ...message,
    header: { ...message.header, tc: true },
    questions: message.questions.slice(0, 1),
    answers: NONE,
    authorities: NONE,
    additionals: NONE
  }
}

/** The largest UDP reply this client takes: 512, or its EDNS size capped at ours. */
export function udpLimitOf(query: DnsMessage): number {
  return query.edns ? Math.max(512, Math.min(query.edns.udpPayloadSize, ADVERTISED_UDP_SIZE)) : 512
}
