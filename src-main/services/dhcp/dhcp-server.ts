// The DHCPv4 server's I/O: one UDP socket on port 67 bound to the chosen interface (and 4011 in
// proxyDHCP mode), decode -> policy -> leases -> encode -> send. Refuses to start while another
// DHCP server answers on the link, unless in proxyDHCP mode. Every error stays in the handler, and
// what a flood can repeat by the thousand (refusals, DECLINEs, failed sends) is logged counted.
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram'
import { randomBytes } from 'node:crypto'
import { errnoCodeOf } from '../../base/error-message'
import type { Logger } from '../../base/log'
import { LogRateLimit, type RateLimitedLevel } from '../../base/log-rate-limit'
import { bindSocketToDevice } from '../net/bind-to-device'
import { bindError, deviceBindError, ServiceStartError } from '../net/service-error'
import { decode, discoverPacket, encode, MessageType, messageType, Option, ipOption, type DhcpPacket } from './dhcp-codec'
import { dhcpBootEvent, dhcpMessageName, type DhcpEventSink } from './dhcp-boot-event'
import type { DhcpLeases } from './dhcp-leases'
import { buildNak, buildReply, destinationOf, intentOf, isPxeClient, type DhcpConfig } from './dhcp-policy'
import { bindUdp } from '../../base/socket-ready'
import { microsNow, type CapturedDatagram, type MacDatagramSink } from '../pcap/captured-packet'

export interface DhcpServerOptions {
  readonly interface: string
  readonly config: DhcpConfig
  readonly leases: DhcpLeases
  readonly logger: Logger
  /** Default 67; tests may move it. */
  readonly port?: number
  /** How long to listen for another server's OFFER before starting; 0 skips the probe. */
  readonly probeMs?: number
  /** Interval of the counted log summaries; default 10 s. */
  readonly logIntervalMs?: number
  /** Told of each request decoded and each reply sent (the boot flight recorder); a throw is logged. */
  readonly onPacket?: DhcpEventSink
  /** Told of each datagram decoded and each reply sent, bytes and addresses (the recorder's pcap); a throw is logged. */
  readonly onCapture?: MacDatagramSink
}

/** Why a packet got no answer (or a NAK), in the words the log's summaries count it under. */
export type DhcpRefusalKind = 'malformed' | 'not for us' | 'server busy' | 'no free address' | 'address not theirs' | 'DECLINE without an address' | 'failed'

/**
 * Answers waiting on the store at once. Past this the server drops requests: under a flood an
 * answer that comes after the client's retry timer is wasted work that delays the next ones.
 */
const MAX_IN_FLIGHT = 512

export class DhcpServer {
  private sockets: Socket[] = []
  private handled = 0
  private inFlight = 0
  private dropped = 0
  private readonly refusals: LogRateLimit
  private readonly declines: LogRateLimit
  /** Failed sends and errors the sockets emit. */
  private readonly faults: LogRateLimit

  constructor(private readonly options: DhcpServerOptions) {
    const intervalMs = options.logIntervalMs ?? 10_000
    this.refusals = new LogRateLimit(options.logger, { verb: 'DHCP refused', noun: 'packets', intervalMs })
    this.declines = new LogRateLimit(options.logger, { verb: 'DHCP received', noun: 'DECLINEs', intervalMs })
    this.faults = new LogRateLimit(options.logger, { verb: 'DHCP met', noun: 'socket errors', intervalMs })
  }

  get requestsHandled(): number {
    return this.handled
  }

  /** Requests dropped because too many answers were already waiting. */
  get requestsDropped(): number {
    return this.dropped
  }

  async start(): Promise<void> {
    if (this.sockets.length > 0) return
    const { config } = this.options
    if (!config.proxy && (this.options.probeMs ?? 1500) > 0) {
      const others = await probeForDhcpServers(this.options.interface, this.options.probeMs ?? 1500, config.serverAddress, (err) =>
        this.fault(err, 'probe', { interface: this.options.interface }, 'DHCP probe for other servers failed to send or receive: another server on the link may go unseen')
      )
      if (others.length > 0) {
        throw new ServiceStartError(
          'DHCP',
          'another_server',
          `another DHCP server already answers on ${this.options.interface} (${others.join(', ')}): ` +
            'stop it, or start with --proxy-dhcp to add only PXE boot information to its answers'
        )
      }
    }
    const ports = config.proxy ? [this.options.port ?? 67, 4011] : [this.options.port ?? 67]
    try {
      for (const port of ports) this.sockets.push(await this.open(port))
    } catch (err) {
      await this.stop()
      throw err
    }
  }

  async stop(): Promise<void> {
    const sockets = this.sockets
    this.sockets = []
    await Promise.all(sockets.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))))
    this.refusals.dispose()
    this.declines.dispose()
    this.faults.dispose()
  }

  private refuse(kind: DhcpRefusalKind, level: RateLimitedLevel, fields: Record<string, unknown>, msg: string): void {
    this.refusals.note(kind, level, fields, msg)
  }

  private tell(onPacket: DhcpEventSink, p: DhcpPacket, direction: 'in' | 'out'): void {
    try {
      onPacket(p.chaddr, direction, dhcpMessageName(p), () => dhcpBootEvent(p, direction))
    } catch (err) {
      this.fault(err, 'event sink', { mac: p.chaddr }, 'DHCP event sink threw')
    }
  }

  private capture(sink: MacDatagramSink, mac: string, datagram: () => CapturedDatagram): void {
    try {
      sink(mac, datagram)
    } catch (err) {
      this.fault(err, 'packet sink', { mac }, 'DHCP packet sink threw')
    }
  }

  private fault(err: unknown, what: string, fields: Record<string, unknown>, msg: string): void {
    this.faults.note(`${what} ${errnoCodeOf(err) ?? 'error'}`, 'error', { err, ...fields }, msg)
  }

  private async open(port: number): Promise<Socket> {
    const socket = createSocket({ type: 'udp4', reuseAddr: true })
    socket.on('error', (err) => this.fault(err, 'socket', { port }, 'DHCP socket error'))
    await bindUdp(socket, { port, address: '0.0.0.0' }).catch((err: unknown) => {
      socket.close()
      throw bindError(err, { service: 'DHCP', transport: 'UDP', address: '0.0.0.0', port, usualHolders: 'dnsmasq, isc-dhcp-server or kea' })
    })
    try {
      bindSocketToDevice(socket, this.options.interface)
    } catch (err) {
      socket.close()
      throw deviceBindError(err, 'DHCP', this.options.interface)
    }
    socket.setBroadcast(true)
    // A rack powering on sends bursts: a larger receive buffer rides them out instead of dropping.
    try {
      socket.setRecvBufferSize(4 * 1024 * 1024)
    } catch {
      // The kernel caps it at net.core.rmem_max; the default still works.
    }
    // Read once: getsockname is a system call, too dear per packet.
    const localPort = socket.address().port
    socket.on('message', (msg, rinfo) => {
      if (this.inFlight >= MAX_IN_FLIGHT) {
        this.dropped++
        this.refuse('server busy', 'warn', { from: rinfo.address, inFlight: this.inFlight }, `DHCP request dropped: ${MAX_IN_FLIGHT} answers already waiting`)
        return
      }
      this.inFlight++
      this.handle(socket, localPort, msg, rinfo)
        .catch((err: unknown) => this.refuse('failed', 'error', { err, from: rinfo.address }, 'DHCP request failed'))
        .finally(() => this.inFlight--)
    })
    return socket
  }

  private async handle(socket: Socket, localPort: number, msg: Buffer, rinfo: RemoteInfo): Promise<void> {
    const decoded = decode(msg)
    if (!decoded.ok) {
      this.refuse('malformed', 'debug', { from: rinfo.address, error: decoded.error }, 'dropped a malformed DHCP packet')
      return
    }
    const onPacket = this.options.onPacket
    const onCapture = this.options.onCapture
    // The socket is bound to 0.0.0.0, so the datagram's own destination is not known: a client
    // without an address broadcasts, one with an address is taken to have sent to us.
    const ours = { address: this.options.config.serverAddress, port: localPort }
    if (onCapture) {
      const dst = rinfo.address === '0.0.0.0' ? { address: '255.255.255.255', port: ours.port } : ours
      this.capture(onCapture, decoded.packet.chaddr, () => ({ t: microsNow(), direction: 'in', src: { address: rinfo.address, port: rinfo.port }, dst, payload: msg, payloadLen: msg.length, clientMac: decoded.packet.chaddr, broadcast: dst !== ours }))
    }
    if (onPacket) this.tell(onPacket, decoded.packet, 'in')
    const reply = await this.answer(decoded.packet)
    this.handled++
    if (!reply) return
    if (onPacket) this.tell(onPacket, reply, 'out')
    const to = destinationOf(decoded.packet, reply)
    const bytes = encode(reply)
    if (onCapture) {
      this.capture(onCapture, reply.chaddr, () => ({ t: microsNow(), direction: 'out', src: ours, dst: { address: to.address, port: to.port }, payload: bytes, payloadLen: bytes.length, clientMac: reply.chaddr, broadcast: to.address === '255.255.255.255' }))
    }
    // With a callback, a failed send is reported here; without one Node drops the error silently.
    socket.send(bytes, to.port, to.address, (err) => {
      if (err) this.fault(err, 'send', { to: `${to.address}:${to.port}`, mac: reply.chaddr }, 'DHCP reply not sent')
    })
  }

  /** The reply for one request, or null when none is due. */
  async answer(p: DhcpPacket): Promise<DhcpPacket | null> {
    const { config, leases } = this.options
    const intent = intentOf(p, config)
    const mac = p.chaddr
    if (config.proxy) {
      // proxyDHCP: boot information only, and only to PXE clients; addresses come from the other server.
      if (!isPxeClient(p) || (intent.kind !== 'discover' && intent.kind !== 'request' && intent.kind !== 'inform')) return null
      const binding = await leases.reservation(mac)
      const type = intent.kind === 'discover' ? MessageType.OFFER : MessageType.ACK
      return buildReply(p, type, binding, config, { withAddress: false })
    }
    switch (intent.kind) {
      case 'discover': {
        const binding = await leases.offer(mac)
        if (!binding) {
          this.refuse('no free address', 'warn', { mac }, 'no free address in the dhcp range: not offering')
          return null
        }
        return buildReply(p, MessageType.OFFER, binding, config, { withAddress: true })
      }
      case 'request': {
        if (!intent.address) {
          this.refuse('address not theirs', 'info', { mac }, 'DHCP REQUEST without an address: NAK')
          return buildNak(p, config, 'no requested address')
        }
        const hostname = p.options.get(Option.HOSTNAME)?.toString('latin1') ?? null
        const binding = await leases.commit(mac, intent.address, hostname)
        if (!binding) {
          this.refuse('address not theirs', 'info', { mac, address: intent.address }, 'DHCP REQUEST for an address not the client’s: NAK')
          return buildNak(p, config, `${intent.address} is not yours; start over with DISCOVER`)
        }
        return buildReply(p, MessageType.ACK, binding, config, { withAddress: true })
      }
      case 'other-server':
        leases.forgetOffer(mac)
        return null
      case 'release':
        await leases.release(mac, intent.address)
        return null
      case 'decline': {
        const address = intent.address
        if (!address) {
          this.refuse('DECLINE without an address', 'info', { mac }, 'DHCP DECLINE without a requested address: ignored')
          return null
        }
        const outcome = await leases.decline(mac, address)
        switch (outcome.kind) {
          case 'held':
            this.declines.note(
              'held back from the pool',
              'warn',
              { mac, address, until: new Date(outcome.until).toISOString() },
              'a client declined its address (another host answers ARP for it): held back from the pool'
            )
            break
          case 'reserved':
            this.declines.note(
              'of a reserved address',
              'error',
              { mac, address },
              'a known node declined its reserved address: another host uses it; find that host, or move the node to another address'
            )
            break
          case 'not-theirs':
            this.declines.note('not the client’s address', 'info', { mac, address }, 'DHCP DECLINE for an address the client does not hold: ignored')
            break
        }
        return null
      }
      case 'inform': {
        const binding = (await leases.reservation(mac)) ?? (await leases.lease(mac))
        return buildReply(p, MessageType.ACK, binding, config, { withAddress: false })
      }
      case 'ignore':
        this.refuse('not for us', 'debug', { mac, reason: intent.reason }, 'DHCP packet not for a server: ignored')
        return null
    }
  }
}

/**
 * Broadcasts a DISCOVER from a made-up, locally administered MAC on the interface and collects the
 * server identifiers of whoever OFFERs within `ms`. Our own address is never counted. A socket
 * that cannot be set up is a ServiceStartError; a send that fails only weakens the probe.
 */
export async function probeForDhcpServers(
  ifname: string,
  ms: number,
  ownAddress: string,
  onError: (err: unknown) => void = () => undefined
): Promise<string[]> {
  const socket = createSocket({ type: 'udp4', reuseAddr: true })
  // An 'error' with no listener would kill the process: one is there for the socket's whole life.
  socket.on('error', onError)
  const found = new Set<string>()
  const mac = [0x02, ...randomBytes(5)].map((b) => b.toString(16).padStart(2, '0')).join(':')
  const xid = randomBytes(4).readUInt32BE(0)
  const send = (packet: Buffer): void =>
    socket.send(packet, 67, '255.255.255.255', (err) => {
      if (err) onError(err)
    })
  try {
    await bindUdp(socket, { port: 68, address: '0.0.0.0' }).catch((err: unknown) => {
      throw bindError(err, { service: 'DHCP', transport: 'UDP', address: '0.0.0.0', port: 68, usualHolders: 'a DHCP client such as dhclient' })
    })
    try {
      bindSocketToDevice(socket, ifname)
    } catch (err) {
      throw deviceBindError(err, 'DHCP', ifname)
    }
    socket.setBroadcast(true)
    socket.on('message', (msg) => {
      const d = decode(msg)
      if (!d.ok || d.packet.xid !== xid || messageType(d.packet) !== MessageType.OFFER) return
      const server = ipOption(d.packet, Option.SERVER_ID) ?? d.packet.siaddr
      if (server !== ownAddress) found.add(server)
    })
    const discover = discoverPacket(mac, xid, [[Option.PARAMETER_LIST, Buffer.from([1, 3, 6, 15])]])
    const packet = encode(discover)
    // Two tries, half the window apart: one lost broadcast must not hide a server.
    send(packet)
    await new Promise((r) => setTimeout(r, ms / 2))
    if (found.size === 0) send(packet)
    await new Promise((r) => setTimeout(r, ms / 2))
  } finally {
    await new Promise<void>((resolve) => socket.close(() => resolve()))
  }
  return [...found]
}
