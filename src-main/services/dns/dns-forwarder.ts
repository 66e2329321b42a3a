// Forwarding for names outside the cluster domain: each query goes to the upstreams in turn, from a
// fresh socket with a fresh random ID, and only a matching reply from that upstream counts.
import { randomInt } from 'node:crypto'
import dgram from 'node:dgram'
import net from 'node:net'
import type { Logger } from '../../base/log'
import { decodeMessage, isDecodeError, type DnsMessage } from './dns-codec'

export interface Upstream {
  readonly host: string
  readonly port: number
  readonly family: 4 | 6
}

export interface UpstreamAnswer {
  readonly bytes: Buffer
  readonly message: DnsMessage
}

/** Each forward holds a socket; past this, SERVFAIL rather than run out of descriptors. */
export const MAX_FORWARDS_IN_FLIGHT = 512

export class DnsForwarder {
  private readonly sockets = new Set<dgram.Socket>()

  constructor(
    readonly upstreams: readonly Upstream[],
    private readonly timeoutMs: number,
    private readonly log: Logger | undefined
  ) {}

  /** Upstream tries in flight (each holds a socket). */
  get inFlight(): number {
    return this.sockets.size
  }

  /**
   * The first upstream's answer, trying them in turn; null when none answered. `wanted` is asked
   * before each try and after each answer: a server that has stopped ends the forward.
   */
  async answer(raw: Buffer, query: DnsMessage, wanted: () => boolean): Promise<UpstreamAnswer | null> {
    for (const upstream of this.upstreams) {
      if (!wanted()) return null
      const answer = await this.ask(upstream, raw, query)
      if (answer) return wanted() ? answer : null
    }
    return null
  }

  /** Closes every socket of a try in flight; those tries end with no answer. */
  closeAll(): void {
    for (const socket of this.sockets) socket.close()
    this.sockets.clear()
  }

  /**
   * One try at one upstream: a fresh socket (random source port) and a fresh random ID, and only
   * a reply from that upstream with that ID and our question counts. Spoofed replies are ignored.
   */
  private ask(upstream: Upstream, raw: Buffer, query: DnsMessage): Promise<UpstreamAnswer | null> {
    return new Promise((resolve) => {
      const id = randomInt(0x10000)
      const out = Buffer.from(raw)
      out.writeUInt16BE(id, 0)
      const socket = dgram.createSocket(upstream.family === 6 ? 'udp6' : 'udp4')
      this.sockets.add(socket)
      let settled = false
      const finish = (answer: UpstreamAnswer | null): void => {
        if (settled) return
        settled = true
        clearTimeout(timer)
        if (this.sockets.delete(socket)) socket.close()
        resolve(answer)
      }
      const timer = setTimeout(() => {
        this.log?.warn({ upstream: `${upstream.host}:${upstream.port}` }, 'dns upstream did not answer in time')
        finish(null)
      }, this.timeoutMs)
      socket.on('error', (err) => {
        this.log?.warn({ err, upstream: `${upstream.host}:${upstream.port}` }, 'dns upstream error')
        finish(null)
      })
      socket.on('close', () => finish(null))
      socket.on('message', (bytes) => {
        const message = decodeMessage(bytes)
        if (isDecodeError(message) || !message.header.qr || message.header.id !== id || !sameQuestion(message, query)) return
        finish({ bytes, message })
      })
      // Connected: the kernel drops datagrams from anyone but this upstream. connect() fails at once
      // when there is no route (a laptop on the rack network only): that is this upstream not
      // answering, never a send on an unconnected socket (which throws outside any handler).
      socket.connect(upstream.port, upstream.host, (err?: Error) => {
        if (settled) return
        if (err) {
          this.log?.warn({ err, upstream: `${upstream.host}:${upstream.port}` }, 'dns upstream unreachable')
          finish(null)
          return
        }
        socket.send(out, (sendErr) => {
          if (sendErr) {
            this.log?.warn({ err: sendErr, upstream: `${upstream.host}:${upstream.port}` }, 'dns upstream send failed')
            finish(null)
          }
        })
      })
    })
  }
}

function sameQuestion(a: DnsMessage, b: DnsMessage): boolean {
  const qa = a.questions[0]
  const qb = b.questions[0]
  if (!qa || !qb) return a.questions.length === b.questions.length
  return qa.type === qb.type && qa.class === qb.class && qa.name.toLowerCase() === qb.name.toLowerCase()
}

/** `ip`, `ip:port` or `[ipv6]:port` (port 53 by default); null when it is none of these. */
export function parseUpstream(text: string): Upstream | null {
  const bracketed = /^\[([^\]]+)\]:(\d{1,5})$/.exec(text)
  const withPort = /^([^:]+):(\d{1,5})$/.exec(text)
  const [host, portText] = bracketed ? [bracketed[1] ?? '', bracketed[2]] : withPort ? [withPort[1] ?? '', withPort[2]] : [text, '53']
  const port = Number(portText)
  const family = net.isIP(host)
  if ((family !== 4 && family !== 6) || !Number.isInteger(port) || port < 1 || port > 65535) return null
  if (bracketed && family !== 6) return null
  return { host, port, family }
}
