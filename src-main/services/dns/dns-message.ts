// DNS messages as data (RFC 1035, 3596, 6891): record types, limits, and the shapes the decoder
// produces and the encoder takes.
export const DnsType = {
  A: 1,
  NS: 2,
  CNAME: 5,
  SOA: 6,
  PTR: 12,
  AAAA: 28,
  OPT: 41,
  IXFR: 251,
  AXFR: 252,
  ANY: 255
} as const

export const DnsClass = { IN: 1, ANY: 255 } as const

export const DnsOpcode = { QUERY: 0 } as const

/** The 4-bit header rcodes, plus BADVERS whose upper bits travel in the OPT record. */
export const DnsRcode = {
  NOERROR: 0,
  FORMERR: 1,
  SERVFAIL: 2,
  NXDOMAIN: 3,
  NOTIMP: 4,
  REFUSED: 5,
  BADVERS: 16
} as const

export interface DnsHeader {
  readonly id: number
  /** true in responses */
  readonly qr: boolean
  readonly opcode: number
  readonly aa: boolean
  readonly tc: boolean
  readonly rd: boolean
  readonly ra: boolean
  readonly z: boolean
  readonly ad: boolean
  readonly cd: boolean
  /** The low 4 bits of the response code; the upper 8 are `EdnsOpt.extendedRcode`. */
  readonly rcode: number
}

export interface DnsQuestion {
  /** Presentation form without the trailing dot (root is ''), case as on the wire. */
  readonly name: string
  readonly type: number
  readonly class: number
}

interface RecordCommon {
  readonly name: string
  readonly class: number
  readonly ttl: number
}

export interface ARecord extends RecordCommon {
  readonly type: 'A'
  readonly address: string
}

export interface AaaaRecord extends RecordCommon {
  readonly type: 'AAAA'
  readonly address: string
}

export interface NameRecord extends RecordCommon {
  readonly type: 'NS' | 'CNAME' | 'PTR'
  readonly target: string
}

export interface SoaRecord extends RecordCommon {
  readonly type: 'SOA'
  readonly mname: string
  readonly rname: string
  readonly serial: number
  readonly refresh: number
  readonly retry: number
  readonly expire: number
  readonly minimum: number
}

/** Any other type (or a typed one outside class IN), rdata kept as bytes. */
export interface RawRecord extends RecordCommon {
  readonly type: 'RAW'
  readonly typeCode: number
  /** A view into the decoded buffer, not a copy. */
  readonly data: Buffer
}

export type DnsRecord = ARecord | AaaaRecord | NameRecord | SoaRecord | RawRecord

export interface EdnsOption {
  readonly code: number
  readonly data: Buffer
}

/** The OPT pseudo-record (RFC 6891), lifted out of the additional section. */
export interface EdnsOpt {
  readonly udpPayloadSize: number
  readonly extendedRcode: number
  readonly version: number
  readonly dnssecOk: boolean
  readonly options: readonly EdnsOption[]
}

export interface DnsMessage {
  readonly header: DnsHeader
  readonly questions: readonly DnsQuestion[]
  readonly answers: readonly DnsRecord[]
  readonly authorities: readonly DnsRecord[]
  /** Without the OPT record: that is `edns`. */
  readonly additionals: readonly DnsRecord[]
  readonly edns: EdnsOpt | null
}

export interface DecodeError {
  readonly error: string
  /** The header when the first 12 bytes were there, so a server can still answer FORMERR. */
  readonly header: DnsHeader | null
}

export function isDecodeError(value: DnsMessage | DecodeError): value is DecodeError {
  return 'error' in value
}

export const TYPE_CODE: Readonly<Record<Exclude<DnsRecord['type'], 'RAW'>, number>> = {
  A: DnsType.A,
  AAAA: DnsType.AAAA,
  NS: DnsType.NS,
  CNAME: DnsType.CNAME,
  PTR: DnsType.PTR,
  SOA: DnsType.SOA
}

export function typeCodeOf(record: DnsRecord): number {
  return record.type === 'RAW' ? record.typeCode : TYPE_CODE[record.type]
}

export const HEADER_SIZE = 12
export const MAX_MESSAGE = 65535
export const MAX_NAME_WIRE = 255
export const MAX_LABEL = 63
/** Pointers must also go strictly backwards, so this is a second fence, not the only one. */
export const MAX_POINTER_HOPS = 64
export const MIN_QUESTION_WIRE = 5
export const MIN_RECORD_WIRE = 11
