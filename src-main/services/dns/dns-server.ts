// The DNS server's I/O: UDP and TCP sockets, TCP framing, truncation and forwarding. What to answer
// is `policy` in dns-zone.ts; bytes are dns-codec.ts.
import dgram from 'node:dgram'
import net from 'node:net'
import { errnoCodeOf } from '../../base/error-message'
import type { Logger } from '../../base/log'
import { contains, parseAddress, parseCidr, type Cidr } from '../../base/ip-address'
import { bindUdp, listenTcp } from '../../base/socket-ready'
import { bindError, ServiceStartError, type BindTarget } from '../net/service-error'
import { AnswerCache, answerKeyOf, type AnswerKey } from './dns-answer-cache'
import { decodeMessage, encodeMessage, isDecodeError, type DnsMessage } from './dns-codec'
import { DnsForwarder, MAX_FORWARDS_IN_FLIGHT, parseUpstream, type Upstream } from './dns-forwarder'
import {
  formatErrorReply,
  policy,
  serverFailureReply,
  type PolicyResult,
  truncatedReply,
  udpLimitOf,
  zoneProblems,
  type DnsZone
} from './dns-zone'

export interface DnsServerOptions {
  /** The address to listen on: loopback, or an address of the interface the cluster sees. */
  readonly address: string
  /** 53 in real use; 0 picks a free port (read it back from `port`). */
  readonly port: number
  /** Read at every query, so a new zone object is served at once. */
  readonly zone: () => DnsZone
  /** Upstream servers as `ip`, `ip:port` or `[ipv6]:port`; with none, foreign names are REFUSED. */
  readonly forwarders?: readonly string[]
  /**
   * The networks (CIDRs) whose clients may have names outside the cluster forwarded: the served
   * networks, as BIND's default (local networks) and MAAS do. Loopback always may; anyone else
   * gets REFUSED for a foreign name, so the server is no open resolver (nor an amplifier).
   */
  readonly forwardFor?: readonly string[]
  readonly logger?: Logger
  /** How long each upstream gets to answer before the next is tried (SERVFAIL after the last). */
  readonly forwardTimeoutMs?: number
  readonly tcpIdleTimeoutMs?: number
  readonly maxTcpConnections?: number
  /** Connections one address may hold at once, so one host cannot take every TCP slot. */
  readonly maxTcpConnectionsPerSource?: number
}

const DEFAULT_FORWARD_TIMEOUT_MS = 2000
const DEFAULT_TCP_IDLE_TIMEOUT_MS = 10_000
const DEFAULT_MAX_TCP_CONNECTIONS = 64
const DEFAULT_MAX_TCP_CONNECTIONS_PER_SOURCE = 8
/** Queries are small; a longer TCP frame is a client to hang up on, not to buffer for. */
const MAX_TCP_QUERY = 16 * 1024
/** Replies a TCP client has not read yet; beyond this it is not reading, so we hang up. */
const MAX_TCP_BACKLOG = 1024 * 1024
/** Tries for a port-0 start, when the UDP port picked is taken for TCP. */
const PORT_ZERO_ATTEMPTS = 8

interface Bound {
  readonly udp: dgram.Socket
  readonly tcp: net.Server
  readonly port: number
}

type Transport = 'udp' | 'tcp'
type Send = (bytes: Buffer) => void

export class DnsServer {
  private readonly forwarder: DnsForwarder
  private readonly log: Logger | undefined
  private bound: Bound | undefined
  private lifecycle: Promise<void> = Promise.resolve()
  /** Open TCP connections and when each last sent a query (or connected): the idlest goes first. */
  private readonly tcpSockets = new Map<net.Socket, { readonly source: string; lastActive: number }>()
  private readonly forwardNetworks: readonly Cidr[]
  private lastZone: DnsZone | undefined
  /** UDP replies of the current zone object, by question; a new zone object empties it. */
  private readonly answers = new AnswerCache()

  constructor(private readonly options: DnsServerOptions) {
    this.log = options.logger
    const upstreams = (options.forwarders ?? []).map((text): Upstream => {
      const upstream = parseUpstream(text)
      if (!upstream) throw new ServiceStartError('DNS', 'invalid_option', `DNS forwarder "${text}" is not an IP address, ip:port or [ipv6]:port`)
      return upstream
    })
    this.forwarder = new DnsForwarder(upstreams, options.forwardTimeoutMs ?? DEFAULT_FORWARD_TIMEOUT_MS, this.log)
    this.forwardNetworks = (options.forwardFor ?? []).map((text) => {
      const cidr = parseCidr(text)
      if (typeof cidr === 'string') throw new ServiceStartError('DNS', 'invalid_option', `DNS forwarding network "${text}": ${cidr}`)
      return cidr
    })
    if (net.isIP(options.address) === 0) {
      throw new ServiceStartError('DNS', 'invalid_option', `DNS listen address "${options.address}" is not an IP address`)
    }
    if (!Number.isInteger(options.port) || options.port < 0 || options.port > 65535) {
      throw new ServiceStartError('DNS', 'invalid_option', `DNS port ${options.port} is not a port number (0 to 65535)`)
    }
  }

  /** The port both sockets listen on. */
  get port(): number {
    if (!this.bound) throw new Error('DnsServer is not started')
    return this.bound.port
  }

  /** Binds UDP and TCP. Idempotent; rejects with a ServiceStartError saying what to do. */
  start(): Promise<void> {
    return this.enqueue(() => (this.bound ? undefined : this.bind()))
  }

  /** Closes every socket, including connections and forwards in flight. Idempotent. */
  stop(): Promise<void> {
    return this.enqueue(() => (this.bound ? this.unbind() : undefined))
  }

  // Start and stop run one after the other, so a stop during a start waits and then undoes it.
  private enqueue(step: () => Promise<void> | undefined): Promise<void> {
    const next = this.lifecycle.then(step)
    this.lifecycle = next.catch(() => undefined)
    return next
  }

  private async bind(): Promise<void> {
    const { address, port } = this.options
    const target = (transport: BindTarget['transport'], boundPort: number): BindTarget => ({
      service: 'DNS', transport, address, port: boundPort, usualHolders: 'systemd-resolved or dnsmasq on port 53'
    })
    for (let attempt = 1; ; attempt++) {
      const udp = dgram.createSocket(net.isIPv6(address) ? 'udp6' : 'udp4')
      try {
        await bindUdp(udp, { port, address })
      } catch (err) {
        closeQuietly(udp)
        throw bindError(err, target('UDP', port))
      }
      const actualPort = udp.address().port
      const tcp = net.createServer((socket) => this.onTcpConnection(socket))
      try {
        await listenTcp(tcp, { port: actualPort, host: address })
      } catch (err) {
        closeQuietly(udp)
        if (port === 0 && errnoCodeOf(err) === 'EADDRINUSE' && attempt < PORT_ZERO_ATTEMPTS) continue
        throw bindError(err, target('TCP', actualPort))
      }
      udp.on('message', (msg, rinfo) => this.onUdpMessage(msg, rinfo))
      udp.on('error', (err) => this.log?.warn({ err }, 'dns udp socket error'))
      tcp.on('error', (err) => this.log?.warn({ err }, 'dns tcp server error'))
      this.bound = { udp, tcp, port: actualPort }
      this.log?.info({ address, port: actualPort, forwarders: this.options.forwarders ?? [] }, 'dns listening')
      return
    }
  }

  private async unbind(): Promise<void> {
    const bound = this.bound
    if (!bound) return
    this.bound = undefined
    this.forwarder.closeAll()
    for (const socket of this.tcpSockets.keys()) socket.destroy()
    this.tcpSockets.clear()
    await Promise.all([
      new Promise<void>((resolve) => bound.udp.close(() => resolve())),
      new Promise<void>((resolve) => bound.tcp.close(() => resolve()))
    ])
    this.log?.info({ address: this.options.address, port: bound.port }, 'dns stopped')
  }

  private onUdpMessage(msg: Buffer, rinfo: dgram.RemoteInfo): void {
    const udp = this.bound?.udp
    if (!udp) return
    try {
      const forwarding = this.forwardsFor(rinfo.address)
      // Remembered answers carry RA as forwarding had it; a client refused recursion skips them.
      const key = forwarding === this.forwarding ? answerKeyOf(msg) : null
      const cached = key ? this.cachedReply(key, msg) : null
      if (cached) {
        sendUdp(udp, cached, rinfo)
        return
      }
      this.handle(
        msg,
        'udp',
        forwarding,
        (bytes) => {
          // A stop between a forward and its answer leaves nothing to send on.
          if (this.bound?.udp === udp) sendUdp(udp, bytes, rinfo)
        },
        key
      )
    } catch (err) {
      this.log?.error({ err, client: rinfo.address }, 'dns udp query failed')
    }
  }

  /** The remembered reply to `query`, or null: also when the zone source throws (handle answers SERVFAIL). */
  private cachedReply(key: AnswerKey, query: Buffer): Buffer | null {
    let zone: DnsZone
    try {
      zone = this.currentZone()
    } catch {
      return null
    }
    return this.answers.replyTo(zone, key, query)
  }

  /** The zone to answer from; logs the entries it skips once per zone object. */
  private currentZone(): DnsZone {
    const zone = this.options.zone()
    if (zone !== this.lastZone) {
      this.lastZone = zone
      const problems = zoneProblems(zone)
      if (problems.length > 0) this.log?.warn({ problems }, 'dns zone entries skipped')
    }
    return zone
  }

  /** True when forwarding is configured at all. */
  private get forwarding(): boolean {
    return this.forwarder.upstreams.length > 0
  }

  /** Whether a query from `source` may have a foreign name forwarded (loopback and the served networks). */
  private forwardsFor(source: string): boolean {
    if (!this.forwarding) return false
    const parsed = parseAddress(source.startsWith('::ffff:') && net.isIPv4(source.slice(7)) ? source.slice(7) : source)
    if (!parsed) return false
    if (parsed.family === 4 ? parsed.value >> 24n === 127n : parsed.value === 1n) return true
    return this.forwardNetworks.some((cidr) => contains(cidr, parsed.family, parsed.value))
  }

  private onTcpConnection(socket: net.Socket): void {
    const source = socket.remoteAddress ?? ''
    const max = this.options.maxTcpConnections ?? DEFAULT_MAX_TCP_CONNECTIONS
    const perSource = this.options.maxTcpConnectionsPerSource ?? DEFAULT_MAX_TCP_CONNECTIONS_PER_SOURCE
    let fromSource = 0
    for (const c of this.tcpSockets.values()) if (c.source === source) fromSource++
    if (!this.bound || fromSource >= perSource) {
      this.log?.debug({ client: source, perSource }, 'dns tcp connection refused: too many from this address')
      socket.destroy()
      return
    }
    // Full: the connection idle longest makes room (RFC 7766 §6.2.3 lets a busy server close idle
    // ones), so idle connections cannot keep a querying client out.
    if (this.tcpSockets.size >= max) this.closeIdlest()
    this.tcpSockets.set(socket, { source, lastActive: Date.now() })
    socket.setNoDelay(true)
    socket.setTimeout(this.options.tcpIdleTimeoutMs ?? DEFAULT_TCP_IDLE_TIMEOUT_MS, () => socket.destroy())
    socket.on('error', (err) => this.log?.debug({ err, client: socket.remoteAddress }, 'dns tcp connection error'))
    socket.on('close', () => this.tcpSockets.delete(socket))
    const forwarding = this.forwardsFor(source)
    const send: Send = (bytes) => {
      if (socket.destroyed) return
      const framed = Buffer.allocUnsafe(bytes.length + 2)
      framed.writeUInt16BE(bytes.length, 0)
      bytes.copy(framed, 2)
      socket.write(framed)
      if (socket.writableLength > MAX_TCP_BACKLOG) socket.destroy()
    }
    let pending: Buffer = Buffer.alloc(0)
    socket.on('data', (chunk: Buffer) => {
      try {
        pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk])
        while (pending.length >= 2 && !socket.destroyed) {
          const length = pending.readUInt16BE(0)
          if (length > MAX_TCP_QUERY) {
            this.log?.debug({ client: socket.remoteAddress, length }, 'dns tcp query too long: closing')
            socket.destroy()
            return
          }
          if (pending.length < 2 + length) break
          const message = pending.subarray(2, 2 + length)
          pending = pending.subarray(2 + length)
          const state = this.tcpSockets.get(socket)
          if (state) state.lastActive = Date.now()
          this.handle(message, 'tcp', forwarding, send)
        }
      } catch (err) {
        this.log?.error({ err, client: socket.remoteAddress }, 'dns tcp query failed')
        socket.destroy()
      }
    })
  }

  private closeIdlest(): void {
    let idlest: net.Socket | undefined
    let since = Infinity
    for (const [socket, state] of this.tcpSockets) {
      if (state.lastActive < since) {
        since = state.lastActive
        idlest = socket
      }
    }
    if (!idlest) return
    this.log?.debug({ client: idlest.remoteAddress }, 'dns tcp connection closed to make room: idle longest')
    this.tcpSockets.delete(idlest)
    idlest.destroy()
  }

  /**
   * One query in, at most one reply out through `send`, now or after a forward (only when
   * `forwarding`: the client may recurse). A UDP answer to a query with a `cacheKey` is remembered
   * for the next one like it.
   */
  private handle(raw: Buffer, transport: Transport, forwarding: boolean, send: Send, cacheKey: AnswerKey | null = null): void {
    const query = decodeMessage(raw)
    if (isDecodeError(query)) {
      this.log?.debug({ reason: query.error, bytes: raw.length }, 'dns malformed query')
      // Never answer something that claims to be a response: that is how reflection loops start.
      if (query.header && !query.header.qr) send(encodeMessage(formatErrorReply(query.header, forwarding)))
      return
    }
    let result: PolicyResult
    let zone: DnsZone
    try {
      zone = this.currentZone()
      result = policy(query, zone, forwarding)
    } catch (err) {
      this.log?.error({ err }, 'dns zone lookup failed')
      send(fit(serverFailureReply(query, forwarding), transport, query))
      return
    }
    switch (result.kind) {
      case 'drop':
        return
      case 'answer': {
        const bytes = fit(result.message, transport, query)
        if (cacheKey && transport === 'udp') this.answers.remember(zone, cacheKey, raw, bytes)
        send(bytes)
        return
      }
      case 'forward':
        void this.forward(raw, query, transport, send)
        return
    }
  }

  /** Relays the query to each upstream in turn until one answers; SERVFAIL when none does. */
  private async forward(raw: Buffer, query: DnsMessage, transport: Transport, send: Send): Promise<void> {
    try {
      if (this.forwarder.inFlight >= MAX_FORWARDS_IN_FLIGHT) {
        this.log?.warn({ inFlight: this.forwarder.inFlight }, 'dns forward refused: too many in flight')
        send(fit(serverFailureReply(query, true), transport, query))
        return
      }
      const answer = await this.forwarder.answer(raw, query, () => this.bound !== undefined)
      if (answer) {
        // The client sees our id, RA (we recursed for it) and no AA: the data is not ours.
        const header = { ...answer.message.header, id: query.header.id, aa: false, ra: true }
        if (transport === 'udp' && answer.bytes.length > udpLimitOf(query)) {
          send(encodeMessage(truncatedReply({ ...answer.message, header })))
        } else {
          answer.bytes.writeUInt16BE(query.header.id, 0)
          answer.bytes.writeUInt8((answer.bytes.readUInt8(2) & ~0x04) & 0xff, 2)
          answer.bytes.writeUInt8(answer.bytes.readUInt8(3) | 0x80, 3)
          send(answer.bytes)
        }
        return
      }
      if (this.bound) send(fit(serverFailureReply(query, true), transport, query))
    } catch (err) {
      this.log?.error({ err }, 'dns forward failed')
    }
  }
}

/**
 * Sends without a callback: Node then allocates nothing to report back, and a failed UDP send is
 * a lost datagram the client retries like any other (send errors were only logged at debug).
 */
function sendUdp(udp: dgram.Socket, bytes: Buffer, to: dgram.RemoteInfo): void {
  udp.send(bytes, to.port, to.address)
}

/** Encodes a reply; over UDP, one larger than the client takes goes out truncated instead. */
function fit(message: DnsMessage, transport: Transport, query: DnsMessage): Buffer {
  const bytes = encodeMessage(message)
  if (transport === 'udp' && bytes.length > udpLimitOf(query)) return encodeMessage(truncatedReply(message))
  return bytes
}

/** Close a socket whose bind may have failed; Node throws when closing one that never ran. */
function closeQuietly(socket: dgram.Socket): void {
  try {
    socket.close()
  } catch {
    // already closed by the failed bind
  }
}

