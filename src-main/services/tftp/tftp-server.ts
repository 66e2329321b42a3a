// The embedded TFTP server: read-only, confined to its root (real paths, not spellings), octet and
// netascii mode (RFC 1350), with the blksize/tsize/timeout (RFC 2347-2349) and windowsize (RFC 7440)
// options.
import dgram from 'node:dgram'
import net from 'node:net'
import pino, { type Logger } from 'pino'
import { errnoCodeOf, messageOf } from '../../base/error-message'
import { openConfined, resolveRoot, type ConfinedRefusal } from '../../base/confined-path'
import { LogRateLimit, type RateLimitedLevel } from '../../base/log-rate-limit'
import { bindUdp, connectUdp } from '../../base/socket-ready'
import { bindError, ServiceStartError } from '../net/service-error'
import { negotiateReadOptions } from './option-negotiation'
import type { TftpBootEvent } from './tftp-boot-event'
import { NetasciiSource, OctetSource, type TransferMode } from './read-source'
import { ReadTransfer, type TransferOutcome } from './read-transfer'
import { decideRequest, openRefusalReply, type RefusalKind } from './request-policy'
import { decodePacket, encodeError, encodeOack, TFTP_ERROR, type TftpOption } from './tftp-codec'
import { microsNow, type DatagramSink } from '../pcap/captured-packet'
import { TFTP_DATA_KEPT, TransferCapture } from './transfer-capture'

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
  readonly mode: TransferMode
  /** Bytes sent: the file's size in octet mode, its converted size in netascii. */
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
  /** Told of each read request, error sent and transfer end (the boot flight recorder); a throw is logged. */
  readonly onEvent?: (event: TftpBootEvent) => void
  /**
   * Told of the packets (the boot flight recorder's pcap): requests and errors on port 69 and, per
   * transfer, a bounded sample (transfer-capture.ts). IPv4 only; a throw is logged, or ignored within a transfer.
   */
  readonly onCapture?: DatagramSink
  /** Largest blksize granted; default 1468, a DATA packet in one Ethernet frame. */
  readonly maxBlockSize?: number
  /** Largest windowsize granted; default 64. */
  readonly maxWindowSize?: number
  /** Retransmission interval when the client negotiates none; default 1000 ms. */
  readonly timeoutMs?: number
  /** Retransmissions of one window before a transfer is abandoned; default 5. */
  readonly retries?: number
  /**
   * Longest time a transfer waits for progress before it is abandoned and its slot freed, whatever
   * the client negotiated; default 15 s.
   */
  readonly stallMs?: number
  /** Longest timeout option (seconds) honoured; a longer one is left out of the OACK. Default 5. */
  readonly maxTimeoutSeconds?: number
  /** Transfers in flight (including ones still opening their file); default 256. */
  readonly maxTransfers?: number
  /** Transfers in flight from one client address; default 8. */
  readonly maxTransfersPerClient?: number
  /** Interval of the refusal summaries in the log; default 10 s. */
  readonly logIntervalMs?: number
  /** Monotonic milliseconds, for transfer durations. */
  readonly now?: () => number
}

const DEFAULTS = {
  maxBlockSize: 1468,
  maxWindowSize: 64,
  timeoutMs: 1000,
  retries: 5,
  // U-Boot asks 5 s and curl 5 or 6: with a 15 s stall bound, 5 s still leaves two retransmissions.
  stallMs: 15_000,
  maxTimeoutSeconds: 5,
  maxTransfers: 256,
  // A boot client fetches one file at a time (a UEFI tsize probe, then the file); 8 leaves room for
  // several machines behind one address while one address can take only 1/32 of the slots.
  maxTransfersPerClient: 8
}
/**
 * When every slot is taken, a new request may take the slot of a transfer that has not moved on
 * for this long (two of the default retransmission intervals): a transfer in progress ACKs within
 * milliseconds, so this frees slots held by silent clients from many addresses at once.
 */
const PREEMPT_IDLE_MS = 2000
/** Longest client-supplied name written to a log line. */
const LOGGED_NAME_MAX = 256

/** How an open refusal is counted in the log's summaries. */
const OPEN_REFUSAL_KIND: Record<ConfinedRefusal, RefusalKind> = {
  'not-found': 'not found',
  io: 'I/O error',
  'outside-root': 'outside the root',
  'not-a-file': 'not a file',
  denied: 'access denied'
}

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
  /** Transfers in flight per client address; an entry goes when its count falls to 0. */
  private readonly perClient = new Map<string, number>()
  private readonly refusals: LogRateLimit
  /** Transfers that end unfinished: a client can cause them by the thousand. */
  private readonly unfinished: LogRateLimit
  private readonly sendFailures: LogRateLimit

  constructor(private readonly options: TftpServerOptions) {
    this.log = options.logger ?? pino({ enabled: false })
    this.settings = {
      maxBlockSize: options.maxBlockSize ?? DEFAULTS.maxBlockSize,
      maxWindowSize: options.maxWindowSize ?? DEFAULTS.maxWindowSize,
      timeoutMs: options.timeoutMs ?? DEFAULTS.timeoutMs,
      retries: options.retries ?? DEFAULTS.retries,
      stallMs: options.stallMs ?? DEFAULTS.stallMs,
      maxTimeoutSeconds: options.maxTimeoutSeconds ?? DEFAULTS.maxTimeoutSeconds,
      maxTransfers: options.maxTransfers ?? DEFAULTS.maxTransfers,
      maxTransfersPerClient: options.maxTransfersPerClient ?? DEFAULTS.maxTransfersPerClient
    }
    const intervalMs = options.logIntervalMs ?? 10_000
    this.refusals = new LogRateLimit(this.log, { verb: 'TFTP refused', noun: 'packets', intervalMs })
    this.unfinished = new LogRateLimit(this.log, { verb: 'TFTP saw', noun: 'transfers end unfinished', intervalMs })
    this.sendFailures = new LogRateLimit(this.log, { verb: 'TFTP could not send', noun: 'error replies', intervalMs })
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
    this.refusals.dispose()
    this.unfinished.dispose()
    this.sendFailures.dispose()
    this.boundPort = this.options.port
    this.log.info('TFTP server stopped')
  }

  private reply(to: dgram.RemoteInfo, code: number, message: string): void {
    const socket = this.socket
    if (!socket) return
    const failed = (err: unknown): void => {
      const kind = errnoCodeOf(err) ?? 'other'
      this.sendFailures.note(kind, 'warn', { err, client: `${to.address}:${to.port}` }, 'TFTP error reply not sent')
    }
    try {
      const packet = encodeError(code, message)
      this.captureListening('out', packet, to)
      socket.send(packet, to.port, to.address, (err) => {
        if (err) failed(err)
      })
    } catch (err) {
      failed(err)
    }
  }

  /** Counts a refusal (logged the first time per kind per interval) and tells the client. */
  private refuse(
    rinfo: dgram.RemoteInfo,
    kind: RefusalKind,
    reply: { readonly code: number; readonly message: string },
    details: { readonly file?: string | undefined; readonly reason: string },
    level: RateLimitedLevel = 'warn'
  ): void {
    const fields = { client: `${rinfo.address}:${rinfo.port}`, file: details.file?.slice(0, LOGGED_NAME_MAX), reason: details.reason }
    this.refusals.note(kind, level, fields, kind === 'not found' ? 'TFTP file not found' : 'TFTP request refused')
    this.reply(rinfo, reply.code, reply.message)
    if (this.options.onEvent) {
      const file = details.file?.slice(0, LOGGED_NAME_MAX)
      const searched = kind === 'not found' ? { searched: this.rootReal } : {}
      this.tell({ kind: 'error_sent', clientAddress: rinfo.address, ...(file !== undefined ? { file } : {}), code: reply.code, message: reply.message, refusal: kind, ...searched })
    }
  }

  /** A datagram on the listening port, to the packet sink (cut like DATA: a hostile RRQ can be large). */
  private captureListening(direction: 'in' | 'out', packet: Buffer, peer: dgram.RemoteInfo): void {
    const sink = this.options.onCapture
    if (!sink || this.family !== 'udp4') return
    const ours = { address: this.options.address, port: this.boundPort }
    const theirs = { address: peer.address, port: peer.port }
    const payload = Buffer.from(packet.subarray(0, 4 + TFTP_DATA_KEPT))
    try {
      sink({ t: microsNow(), direction, src: direction === 'in' ? theirs : ours, dst: direction === 'in' ? ours : theirs, payload, payloadLen: packet.length })
    } catch (err) {
      this.log.error({ err }, 'TFTP onCapture callback threw')
    }
  }

  private tell(event: TftpBootEvent): void {
    try {
      this.options.onEvent?.(event)
    } catch (err) {
      this.log.error({ err }, 'TFTP onEvent callback threw')
    }
  }

  private onRequest(msg: Buffer, rinfo: dgram.RemoteInfo): void {
    const client = `${rinfo.address}:${rinfo.port}`
    this.captureListening('in', msg, rinfo)
    const decision = decideRequest(decodePacket(msg))
    if (decision.action === 'ignore') return
    if (decision.action === 'refuse') {
      this.refuse(rinfo, decision.kind, decision, { file: decision.filename, reason: decision.reason })
      return
    }
    const file = decision.filename.slice(0, LOGGED_NAME_MAX)
    if (this.options.onEvent) {
      const asked = Object.fromEntries(decision.options.slice(0, 16).map((o) => [o.name.slice(0, 32).toLowerCase(), o.value.slice(0, 32)]))
      this.tell({ kind: 'rrq', clientAddress: rinfo.address, file, mode: decision.mode, options: asked })
    }
    const fromClient = this.perClient.get(rinfo.address) ?? 0
    if (fromClient >= this.settings.maxTransfersPerClient) {
      this.refuse(
        rinfo,
        'client at its cap',
        { code: TFTP_ERROR.notDefined, message: `too many transfers from ${rinfo.address} at once (${fromClient}); retry when one ends` },
        { file, reason: `${fromClient} transfers in flight from this address` }
      )
      return
    }
    if (this.inFlight.size >= this.settings.maxTransfers && !this.preemptStalled()) {
      this.refuse(
        rinfo,
        'server full',
        { code: TFTP_ERROR.notDefined, message: 'server busy, retry later' },
        { file, reason: `${this.inFlight.size} transfers in flight` }
      )
      return
    }
    this.perClient.set(rinfo.address, fromClient + 1)
    const work = this.serve(file, decision.relative, decision.mode, decision.options, rinfo)
      .catch((err: unknown) => this.log.error({ err, client, file }, 'TFTP transfer failed unexpectedly'))
      .finally(() => {
        this.inFlight.delete(work)
        const left = (this.perClient.get(rinfo.address) ?? 1) - 1
        if (left > 0) this.perClient.set(rinfo.address, left)
        else this.perClient.delete(rinfo.address)
      })
    this.inFlight.add(work)
  }

  /** Ends the transfer that has gone longest without progress, if that is long enough; true if one was. */
  private preemptStalled(): boolean {
    let stalled: ReadTransfer | undefined
    let longest = PREEMPT_IDLE_MS
    for (const transfer of this.transfers) {
      const idle = transfer.idleMs()
      if (!transfer.isFinished && idle >= longest) {
        stalled = transfer
        longest = idle
      }
    }
    if (!stalled) return false
    this.transfers.delete(stalled)
    stalled.preempt()
    return true
  }

  private async serve(
    file: string,
    relative: string,
    mode: TransferMode,
    options: readonly TftpOption[],
    rinfo: dgram.RemoteInfo
  ): Promise<void> {
    const generation = this.generation
    const client = `${rinfo.address}:${rinfo.port}`
    const opened = await openConfined(this.rootReal, relative)
    if (generation !== this.generation) {
      if (opened.ok) await opened.handle.close().catch(() => undefined)
      return
    }
    if (!opened.ok) {
      // PXE clients probe many config names, so a miss is ordinary, not a warning.
      const level = opened.refusal === 'not-found' ? 'info' : 'warn'
      this.refuse(rinfo, OPEN_REFUSAL_KIND[opened.refusal], openRefusalReply(opened.refusal), { file, reason: opened.reason }, level)
      return
    }

    // netascii is converted as it is read, a piece at a time: its size on the wire is not known
    // until the end, so tsize is left out of its OACK.
    const source = mode === 'netascii' ? new NetasciiSource(opened.handle, opened.size) : new OctetSource(opened.handle, opened.size)
    const negotiated = negotiateReadOptions(options, source.wireSize, this.settings)
    // Each transfer talks from its own port (its TID, RFC 1350), bound to the server's address and
    // connected to the client's: sends skip the address lookup and the kernel filters other TIDs.
    const socket = dgram.createSocket({ type: this.family ?? 'udp4' })
    try {
      await bindUdp(socket, { port: 0, address: this.options.address, exclusive: true })
      await connectUdp(socket, rinfo.port, rinfo.address)
    } catch (err) {
      socket.close()
      await source.close().catch(() => undefined)
      this.log.error({ err, client, file }, 'TFTP transfer socket not bound or connected')
      this.reply(rinfo, TFTP_ERROR.notDefined, 'server error')
      return
    }
    const transfer = new ReadTransfer({
      socket,
      peer: { address: rinfo.address, port: rinfo.port },
      source,
      blockSize: negotiated.blockSize,
      windowSize: negotiated.windowSize,
      timeoutMs: negotiated.timeoutMs ?? this.settings.timeoutMs,
      retries: this.settings.retries,
      stallMs: this.settings.stallMs,
      oack: negotiated.oack.length > 0 ? encodeOack(negotiated.oack) : null,
      now: this.now,
      capture:
        this.options.onCapture && this.family === 'udp4'
          ? new TransferCapture(this.options.onCapture, { address: rinfo.address, port: rinfo.port }, { address: this.options.address, port: socket.address().port }, microsNow)
          : undefined
    })
    if (generation !== this.generation) {
      // stop() ran while the socket was binding; it cannot have seen this transfer.
      transfer.stop()
      await transfer.done
      return
    }
    this.transfers.add(transfer)
    this.log.debug(
      { client, file, mode, size: opened.size, blockSize: negotiated.blockSize, windowSize: negotiated.windowSize },
      'TFTP transfer started'
    )
    transfer.start()
    const outcome = await transfer.done
    this.transfers.delete(transfer)
    this.report(outcome, file, mode, client)
    if (this.options.onEvent) {
      const retransmits = transfer.retransmits
      if (outcome.kind === 'complete') {
        const negotiatedOptions = Object.fromEntries(negotiated.oack.map((o) => [o.name, o.value]))
        this.tell({ kind: 'transfer_complete', clientAddress: rinfo.address, file, bytes: outcome.bytes, ms: Math.round(outcome.ms), blockSize: negotiated.blockSize, windowSize: negotiated.windowSize, negotiated: negotiatedOptions, retransmits })
      } else {
        this.tell({ kind: 'transfer_error', clientAddress: rinfo.address, file, outcome: outcome.kind, reason: outcomeReason(outcome), retransmits, ms: Math.round(transfer.elapsedMs()), block: transfer.lastAcked, blockSize: negotiated.blockSize })
      }
    }
  }

  private report(outcome: TransferOutcome, file: string, mode: TransferMode, client: string): void {
    switch (outcome.kind) {
      case 'complete':
        this.log.info({ client, file, mode, bytes: outcome.bytes, ms: Math.round(outcome.ms) }, 'TFTP transfer complete')
        try {
          this.options.onTransfer?.({ file, mode, bytes: outcome.bytes, ms: outcome.ms, client })
        } catch (err) {
          this.log.error({ err }, 'TFTP onTransfer callback threw')
        }
        return
      case 'client-error':
        this.unfinished.note('ended by the client', 'info', { client, file, code: outcome.code, message: outcome.message }, 'TFTP transfer ended by the client')
        return
      case 'client-gone':
        this.unfinished.note('client port closed', 'info', { client, file }, 'TFTP transfer ended: the client port is closed')
        return
      case 'timed-out':
        this.unfinished.note('timed out', 'warn', { client, file, block: outcome.block, idleMs: Math.round(outcome.idleMs) }, 'TFTP transfer timed out')
        return
      case 'preempted':
        this.unfinished.note(
          'stalled while the server was full',
          'warn',
          { client, file, idleMs: Math.round(outcome.idleMs) },
          'TFTP transfer preempted: stalled while every slot was taken'
        )
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

/** A transfer's unfinished end in a few words, for the flight recorder. */
function outcomeReason(outcome: Exclude<TransferOutcome, { kind: 'complete' }>): string {
  switch (outcome.kind) {
    case 'client-error':
      return `client sent error ${outcome.code}: ${outcome.message.slice(0, 128)}`
    case 'timed-out':
      return `no ACK for block ${outcome.block} in ${Math.round(outcome.idleMs)} ms`
    case 'preempted':
      return `stalled ${Math.round(outcome.idleMs)} ms while the server was full`
    case 'client-gone':
      return 'the client port is closed'
    case 'failed':
      return outcome.reason
    case 'stopped':
      return 'the server stopped'
  }
}
