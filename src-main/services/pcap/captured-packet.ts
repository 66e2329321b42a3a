// What a boot server hands its optional packet sink (the boot flight recorder's pcap): datagrams
// it received and sent, and HTTP exchanges to be drawn as TCP conversations. The server does only
// cheap work here (references and small copies); frames are built later, off the packet path.

export interface PacketEndpoint {
  /** Dotted IPv4 (packets of other families are not captured). */
  readonly address: string
  readonly port: number
}

/** Which way a packet went, from our server's side. */
export type PacketDirection = 'in' | 'out'

export interface CapturedDatagram {
  /** Microseconds since the epoch. */
  readonly t: number
  readonly direction: PacketDirection
  readonly src: PacketEndpoint
  readonly dst: PacketEndpoint
  /** The UDP payload kept: all of it, or its first bytes when cut. The sink may keep it. */
  readonly payload: Buffer
  /** The payload's real length. */
  readonly payloadLen: number
  /** onesSum (frames.ts) of the whole payload when it was cut, so the UDP checksum stays right. */
  readonly payloadSum?: number
  /** The client's MAC when the packet names it (DHCP's chaddr); else the sink maps the client's address. */
  readonly clientMac?: string
  /** Sent to the link's broadcast address (a DHCP reply to a client without an address). */
  readonly broadcast?: boolean
}

export type DatagramSink = (datagram: CapturedDatagram) => void
/**
 * A sink told the client's MAC first, with the datagram to build only if it is kept: the DHCP
 * server's, whose every packet names its client, under floods where most are not kept.
 */
export type MacDatagramSink = (clientMac: string, datagram: () => CapturedDatagram) => void

/** One HTTP request and its answer, as the bytes that crossed the connection. */
export interface CapturedHttpExchange {
  /** When the request arrived, µs since the epoch. */
  readonly requestAt: number
  /** When the answer ended, µs since the epoch. */
  readonly answeredAt: number
  readonly client: PacketEndpoint
  readonly server: PacketEndpoint
  /** The request head rebuilt from what was received (method, target, version, raw headers). */
  readonly requestHead: Buffer
  /** Request body bytes (not kept). */
  readonly requestBodyLen: number
  /** The response head as written to the connection. */
  readonly responseHead: Buffer
  /** The first bytes of the response body as written (chunked framing included). */
  readonly responseBody: Buffer
  /** Response body bytes written in all (at least responseBody.length). */
  readonly responseBodyLen: number
}

export type HttpExchangeSink = (exchange: CapturedHttpExchange) => void

/** Wall-clock microseconds since the epoch (performance's origin keeps the sub-millisecond part). */
export function microsNow(): number {
  return Math.round((performance.timeOrigin + performance.now()) * 1000)
}
