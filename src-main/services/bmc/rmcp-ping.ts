// Why an IPMI BMC does not answer. ipmitool prints the same words for a BMC that is not there and
// one that drops our packets ("Unable to establish IPMI v2 / RMCP+ session"), so beside each
// ipmitool run we send the BMC ASF presence pings (RMCP class 6, 12 bytes, no session, no secret)
// on a connected UDP socket and watch what the kernel says: no route, the port closed (ICMP port
// unreachable), a pong, or nothing; and whether the neighbour table resolved the address at all.
import { createSocket, type Socket } from 'node:dgram'
import { readFile } from 'node:fs/promises'
import { isIP } from 'node:net'
import { errnoCodeOf } from '../../base/error-message'

const RMCP_VERSION_1 = 0x06
const RMCP_SEQUENCE_NO_ACK = 0xff
const RMCP_CLASS_ASF = 0x06
const ASF_IANA = 0x000011be
const ASF_PRESENCE_PING = 0x80
const ASF_PRESENCE_PONG = 0x40
const ASF_MESSAGE_LENGTH = 12

/** An ASF Presence Ping (DSP0136 §3.2.4.1) with `tag`, which the pong echoes. */
export function encodePresencePing(tag: number): Buffer {
  const b = Buffer.alloc(ASF_MESSAGE_LENGTH)
  b[0] = RMCP_VERSION_1
  b[1] = 0x00
  b[2] = RMCP_SEQUENCE_NO_ACK
  b[3] = RMCP_CLASS_ASF
  b.writeUInt32BE(ASF_IANA, 4)
  b[8] = ASF_PRESENCE_PING
  b[9] = tag & 0xff
  b[10] = 0x00
  b[11] = 0x00 // no data
  return b
}

/** True when `b` is an ASF Presence Pong answering the ping with `tag`; any other datagram is ignored. */
export function isPresencePong(b: Buffer, tag: number): boolean {
  if (b.length < ASF_MESSAGE_LENGTH) return false
  return b[0] === RMCP_VERSION_1 && b[3] === RMCP_CLASS_ASF && b.readUInt32BE(4) === ASF_IANA && b[8] === ASF_PRESENCE_PONG && b[9] === (tag & 0xff)
}

/** What the pings learnt while one ipmitool run lasted. */
export interface PingFindings {
  /** The BMC answered a presence ping: something speaks RMCP at the address. */
  readonly answered: boolean
  /** ICMP port unreachable came back: the host is there, nothing listens on the port. */
  readonly portClosed: boolean
  /** The kernel has no route to the address (ENETUNREACH/EHOSTUNREACH at once). */
  readonly noRoute: boolean
}

export interface RmcpPinger {
  findings(): PingFindings
  /** Resolves when a finding settles the outcome (no route, port closed); never rejects. */
  readonly decisive: Promise<void>
  stop(): void
}

const PING_INTERVAL_MS = 1_000
const MAX_PINGS = 60

/** Pings `host:port` once a second (at most 60 times) until stop(); every socket error is taken as a finding. */
export function startRmcpPinger(host: string, port: number): RmcpPinger {
  const tag = Math.floor(Math.random() * 256)
  let answered = false
  let portClosed = false
  let noRoute = false
  let stopped = false
  let timer: NodeJS.Timeout | undefined
  let settle: () => void = () => undefined
  const decisive = new Promise<void>((resolve) => (settle = resolve))
  const family = isIP(host) === 6 ? 'udp6' : 'udp4'
  const socket: Socket = createSocket(family)
  const note = (err: unknown): void => {
    const code = errnoCodeOf(err)
    if (code === 'ECONNREFUSED') portClosed = true
    else if (code === 'ENETUNREACH' || code === 'EHOSTUNREACH') noRoute = true
    else return
    if (!answered) settle()
  }
  socket.on('error', note)
  socket.on('message', (msg) => {
    if (isPresencePong(msg, tag)) answered = true
  })
  let sent = 0
  const ping = (): void => {
    if (stopped || sent >= MAX_PINGS) return
    sent++
    socket.send(encodePresencePing(tag), (err) => {
      if (err) note(err)
    })
    timer = setTimeout(ping, PING_INTERVAL_MS)
  }
  try {
    socket.connect(port, host, (err?: Error) => {
      if (err) note(err)
      else ping()
    })
  } catch (err) {
    note(err)
  }
  return {
    findings: () => ({ answered, portClosed, noRoute }),
    decisive,
    stop() {
      if (stopped) return
      stopped = true
      if (timer) clearTimeout(timer)
      try {
        socket.close()
      } catch {
        // closed already (connect failed)
      }
      settle()
    }
  }
}

/**
 * Whether the kernel tried and failed to resolve `address` on a local network (an incomplete or
 * failed ARP entry: flags 0x0 in /proc/net/arp). False where it cannot tell (not Linux, not in the
 * table, an IPv6 address).
 */
export async function arpUnresolved(address: string, arpTable: string = '/proc/net/arp'): Promise<boolean> {
  if (isIP(address) !== 4) return false
  let text: string
  try {
    text = await readFile(arpTable, 'utf8')
  } catch {
    return false
  }
  return parseArpUnresolved(text, address)
}

/** The pure half of arpUnresolved: `text` is /proc/net/arp. */
export function parseArpUnresolved(text: string, address: string): boolean {
  const lines = text.split('\n').slice(1, 10_001)
  for (const line of lines) {
    const [ip, , flags] = line.trim().split(/\s+/)
    if (ip === address) return flags === '0x0'
  }
  return false
}
