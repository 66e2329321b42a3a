// The embedded TFTP server: read-only, confined to its root (real paths, not spellings), with the
// blksize/tsize/timeout (RFC 2347-2349) and windowsize (RFC 7440) options.
import dgram from 'node:dgram'
import net from 'node:net'
import pino, { type Logger } from 'pino'
import { messageOf } from '../../base/error-message'
import { openConfined, resolveRoot } from '../../base/confined-path'
import { bindUdp, connectUdp } from '../../base/socket-ready'
import { bindError, ServiceStartError } from '../net/service-error'
import { negotiateReadOptions } from './option-negotiation'
import { ReadTransfer, type TransferOutcome } from './read-transfer'
import { decideRequest, openRefusalReply } from './request-policy'
import { decodePacket, encodeError, encodeOack, TFTP_ERROR, type TftpOption } from './tftp-codec'

// Why not the `tftp` package's server (tftp@0.1.2), as measured here: a datagram shorter than two
// bytes sent to a transfer's port throws inside its socket handler and kills the process; it
// takes packets from any port as the client's; it path.normalize()s the name before a request
// listener sees it, so "sub/../x" cannot be refused and "a/../../x" gets error 0, not 2; it drops
// the timeout option from its OACK; it turns port 0 into 69; and a client that aborts (UEFI does,
// after its tsize probe) makes it emit an `error` that kills the process unless handled. So the
// protocol is ours (tftp-codec.ts, read-transfer.ts); the package's client serves the tests as an
// independent windowsize peer.

export interface TftpTransferEvent {
  /** The name as the client asked for it. */
  readonly file: string
  readonly bytes: number
  readonly ms: number
  /** "address:port" */
  readonly client: string
}

export interface TftpServerOptions {
  readonly root: string
  readonly address: string
  /** 0 picks a free port (tests); 69 in real use. */
  readonly port: number
  readonly logger?: Logger
  /** Called after each completed transfer; a throw here is logged, never propagated. */
  readonly onTransfer?: (event: TftpTransferEvent) => void
  /** Largest blksize granted; default 1468, a DATA packet in one Ethernet frame. */
  readonly maxBlockSize?: number
  /** Largest windowsize granted; default 64. */
  readonly maxWindowSize?: number
  /** Retransmission interval when the client negotiates none; default 1000 ms. */
  readonly timeoutMs?: number
  /** Retransmissions of one window before a transfer is abandoned; default 5. */
  readonly retries?: number
  /** Transfers in flight (including ones still opening their file); default 256. */
  readonly maxTransfers?: number
  /** Monotonic milliseconds, for transfer durations. */
  readonly now?: () => number
}

const DEFAULTS = { maxBlockSize: 1468, maxWindowSize: 64, timeoutMs: 1000, retries: 5, maxTransfers: 256 }
/** Longest client-supplied name written to a log line. */
const LOGGED_NAME_MAX = 256

export class TftpServer {
  private readonly log: Logger
  private readonly settings: typeof DEFAULTS
  private readonly now: () => number
  private readonly family: 'udp4' | 'udp6' | null
  private socket: dgram.Socket | null = null
  private rootReal = ''
  private boundPort: number
  /** Bumped on each start and stop, so work begun under an earlier run abandons itself. */
  private generation = 0
  private starting: Promise<void> | null = null
  private stopping: Promise<void> | null = null
  private readonly transfers = new Set<ReadTransfer>()
  private readonly inFlight = new Set<Promise<void>>()

  constructor(private readonly options: TftpServerOptions) {
    this.log = options.logger ?? pino({ enabled: false })
    this.settings = {
      maxBlockSize: options.maxBlockSize ?? DEFAULTS.maxBlockSize,
      maxWindowSize: options.maxWindowSize ?? DEFAULTS.maxWindowSize,
      timeoutMs: options.timeoutMs ?? DEFAULTS.timeoutMs,
      retries: options.retries ?? DEFAULTS.retries,
      maxTransfers: options.maxTransfers ?? DEFAULTS.maxTransfers
    }
    this.now = options.now ?? (() => performance.now())
    const ipVersion = net.isIP(options.address)
    this.family = ipVersion === 4 ? 'udp4' : ipVersion === 6 ? 'udp6' : null
    this.boundPort = options.port
  }

  /** The port bound while running (the real one when 0 was asked for); the configured one otherwise. */
  get port(): number {
    return this.boundPort
  }

  async start(): Promise<void> {
    await this.stopping
    if (this.socket) return
    this.starting ??= this.open().finally(() => {
      this.starting = null
    })
    return this.starting
  }

  async stop(): Promise<void> {
    await this.starting?.catch(() => undefined)
    if (!this.socket) return
    this.stopping ??= this.close().finally(() => {
      this.stopping = null
    })
    return this.stopping
  }

  private async open(): Promise<void> {
    const { root, address, port } = this.options
    if (!this.family) throw new ServiceStartError('TFTP', 'invalid_option', `TFTP address ${JSON.stringify(address)} is not an IP address.`)
    try {
      this.rootReal = await resolveRoot(root)
    } catch (err) {
      throw new ServiceStartError('TFTP', 'invalid_option', `TFTP root ${root} cannot be served (${messageOf(err)}): create the folder or choose another.`)
    }
    const socket = dgram.createSocket({ type: this.family })
    try {
      await bindUdp(socket, { port, address, exclusive: true })
    } catch (err) {
      socket.close()
      throw bindError(err, { service: 'TFTP', transport: 'UDP', address, port, usualHolders: 'tftpd-hpa or dnsmasq' })
    }
    socket.on('error', (err) => this.log.error({ err }, 'TFTP listening socket error'))
    socket.on('message', (msg, rinfo) => {
      try {
        this.onRequest(msg, rinfo)
      } catch (err) {
        this.log.error({ err, client: `${rinfo.address}:${rinfo.port}` }, 'TFTP request handling failed')
      }
    })
    this.socket = socket
    this.boundPort = socket.address().port
    this.generation++
    this.log.info({ address, port: this.boundPort, root: this.rootReal }, 'TFTP server listening')
  }

  private async close(): Promise<void> {
    const socket = this.socket
    this.socket = null
    this.generation++
    if (socket) await new Promise<void>((resolve) => socket.close(() => resolve()))
    for (const transfer of this.transfers) transfer.stop()
    // Requests still opening their file see the new generation and let go of it.
    await Promise.all([...this.inFlight])
    this.boundPort = this.options.port
    this.log.info('TFTP server stopped')
  }

  private reply(to: dgram.RemoteInfo, code: number, message: string): void {
    const socket = this.socket
    if (!socket) return
    try {
      socket.send(encodeError(code, message), to.port, to.address, (err) => {
        if (err) this.log.warn({ err, client: `${to.address}:${to.port}` }, 'TFTP error reply not sent')
      })
    } catch (err) {
      this.log.warn({ err }, 'TFTP error reply not sent')
    }
  }

  private onRequest(msg: Buffer, rinfo: dgram.RemoteInfo): void {
    const client = `${rinfo.address}:${rinfo.port}`
    const decision = decideRequest(decodePacket(msg))
    if (decision.action === 'ignore') return
    if (decision.action === 'refuse') {
      this.log.warn({ client, file: decision.filename?.slice(0, LOGGED_NAME_MAX), reason: decision.reason }, 'TFTP request refused')
      this.reply(rinfo, decision.code, decision.message)
      return
    }
    const file = decision.filename.slice(0, LOGGED_NAME_MAX)
    if (this.inFlight.size >= this.settings.maxTransfers) {
      this.log.warn({ client, file, reason: `${this.inFlight.size} transfers in flight` }, 'TFTP request refused')
      this.reply(rinfo, TFTP_ERROR.notDefined, 'server busy, retry later')
      return
    }
    const work = this.serve(file, decision.relative, decision.options, rinfo).catch((err: unknown) =>
      this.log.error({ err, client, file }, 'TFTP transfer failed unexpectedly')
    )
    this.inFlight.add(work)
    void work.finally(() => this.inFlight.delete(work))
  }

  private async serve(file: string, relative: string, options: readonly TftpOption[], rinfo: dgram.RemoteInfo): Promise<void> {
    const generation = this.generation
    const client = `${rinfo.address}:${rinfo.port}`
    const opened = await openConfined(this.rootReal, relative)
    if (generation !== this.generation) {
      if (opened.ok) await opened.handle.close().catch(() => undefined)
      return
    }
    if (!opened.ok) {
      const reply = openRefusalReply(opened.refusal)
      if (opened.refusal === 'not-found') {
        // PXE clients probe many config names, so a miss is ordinary, not a warning.
        this.log.info({ client, file }, 'TFTP file not found')
      } else {
        this.log.warn({ client, file, reason: opened.reason }, 'TFTP request refused')
      }
      this.reply(rinfo, reply.code, reply.message)
      return
    }

    const negotiated = negotiateReadOptions(options, opened.size, this.settings)
    // Each transfer talks from its own port (its TID, RFC 1350), bound to the server's address and
    // connected to the client's: sends skip the address lookup and the kernel filters other TIDs.
    const socket = dgram.createSocket({ type: this.family ?? 'udp4' })
    try {
      await bindUdp(socket, { port: 0, address: this.options.address, exclusive: true })
      await connectUdp(socket, rinfo.port, rinfo.address)
    } catch (err) {
      socket.close()
      await opened.handle.close().catch(() => undefined)
      this.log.error({ err, client, file }, 'TFTP transfer socket not bound or connected')
      this.reply(rinfo, TFTP_ERROR.notDefined, 'server error')
      return
    }
    const transfer = new ReadTransfer({
      socket,
      peer: { address: rinfo.address, port: rinfo.port },
      file: opened.handle,
      size: opened.size,
      blockSize: negotiated.blockSize,
      windowSize: negotiated.windowSize,
      timeoutMs: negotiated.timeoutMs ?? this.settings.timeoutMs,
      retries: this.settings.retries,
      oack: negotiated.oack.length > 0 ? encodeOack(negotiated.oack) : null,
      now: this.now
    })
    if (generation !== this.generation) {
      // stop() ran while the socket was binding; it cannot have seen this transfer.
      transfer.stop()
      await transfer.done
      return
    }
    this.transfers.add(transfer)
    this.log.debug(
      { client, file, size: opened.size, blockSize: negotiated.blockSize, windowSize: negotiated.windowSize },
      'TFTP transfer started'
    )
    transfer.start()
    const outcome = await transfer.done
    this.transfers.delete(transfer)
    this.report(outcome, file, client)
  }

  private report(outcome: TransferOutcome, file: string, client: string): void {
    switch (outcome.kind) {
      case 'complete':
        this.log.info({ client, file, bytes: outcome.bytes, ms: Math.round(outcome.ms) }, 'TFTP transfer complete')
        try {
          this.options.onTransfer?.({ file, bytes: outcome.bytes, ms: outcome.ms, client })
        } catch (err) {
          this.log.error({ err }, 'TFTP onTransfer callback threw')
        }
        return
      case 'client-error':
        this.log.info({ client, file, code: outcome.code, message: outcome.message }, 'TFTP transfer ended by the client')
        return
      case 'client-gone':
        this.log.info({ client, file }, 'TFTP transfer ended: the client port is closed')
        return
      case 'timed-out':
        this.log.warn({ client, file, block: outcome.block }, 'TFTP transfer timed out')
        return
      case 'failed':
        this.log.error({ client, file, reason: outcome.reason }, 'TFTP transfer failed')
        return
      case 'stopped':
        this.log.info({ client, file }, 'TFTP transfer stopped with the server')
        return
    }
  }
}
