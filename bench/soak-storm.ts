// bench:soak's DHCP lease storm, run inside the bench's client namespace (`ip netns exec`): many
// made-up client MACs doing DISCOVER/REQUEST, renewing (INIT-REBOOT REQUEST) and releasing against
// the app's DHCP server, on one UDP socket bound to the namespace's interface. What it gets is
// reported on stdout as JSON lines (StormEvent) for the parent's ledger, each written before the
// packet it announces is sent (a pipe write is synchronous on Linux). Bounded in time and in flight.
import { createSocket, type Socket } from 'node:dgram'
import { pathToFileURL } from 'node:url'
import { bindSocketToDevice } from '../src-main/services/net/bind-to-device'
import { decode, encode, ipOption, MessageType, messageType, opt, Option, textOption, type DhcpPacket } from '../src-main/services/dhcp/dhcp-codec'
import { seededRandom } from './soak-random'

export interface StormConfig {
  readonly iface: string
  /** The DHCP server's address (server identifier, and where RELEASE goes). */
  readonly server: string
  /** At most this many MACs hold a lease at once: past it the oldest holder releases first. */
  readonly holdCap: number
  readonly seed: number
  /** New MACs starting a DISCOVER per second. */
  readonly newPerSecond: number
  /** Renewals (INIT-REBOOT REQUEST for the held address) per second. */
  readonly renewPerSecond: number
  /** Two bytes that make this run's MACs its own: 02:TT:TT:nn:nn:nn. */
  readonly macTag: number
  readonly maxSeconds: number
}

export interface StormStats {
  readonly macs: number
  readonly discovers: number
  readonly offers: number
  readonly requests: number
  readonly acks: number
  readonly renew_acks: number
  readonly naks: number
  readonly renew_naks: number
  readonly releases: number
  /** RELEASEs sent again once the server answered after a silence. */
  readonly releases_resent: number
  readonly retransmits: number
  readonly gave_up: number
  readonly renew_timeouts: number
  readonly held: number
  readonly in_flight: number
}

export type StormEvent =
  | { readonly e: 'ready' }
  | { readonly e: 'ack'; readonly mac: string; readonly ip: string; readonly renew: boolean; readonly xid: number }
  | { readonly e: 'nak'; readonly mac: string; readonly ip: string; readonly renew: boolean; readonly message: string }
  | { readonly e: 'release'; readonly mac: string; readonly ip: string }
  | { readonly e: 'stats'; readonly final: boolean; readonly stats: StormStats }

type Phase = 'discover' | 'request' | 'renew'
interface Txn {
  readonly mac: string
  xid: number
  phase: Phase
  ip: string | undefined
  tries: number
  sends: number
  sentAt: number
}

const RETRY_MS = 1_000
const DISCOVER_TRIES = 6
const REQUEST_TRIES = 4
const RENEW_TRIES = 6
/** Sends per MAC before it gives up for good (server restarts take a few seconds). */
const MAX_SENDS = 30
const MAX_IN_FLIGHT = 128
const TICK_MS = 20
/**
 * The server answered this recently: it is up. While it is not (between lives), no holder releases
 * and only a few new MACs probe; renewals go on, so the first ones after a restart test the
 * reloaded leases.
 */
const UP_MS = 700
/** A RELEASE counts as applied once the server has gone on answering this long after it was sent. */
const RELEASE_CONFIRM_MS = 2_000
const RESENDS_PER_TICK = 10
const PROBES_WHILE_DOWN = 4
/** New MACs between DISCOVER and ACK at once (a pool with no free address leaves them hanging). */
const MAX_STARTING = 32

function emit(event: StormEvent): void {
  process.stdout.write(`${JSON.stringify(event)}\n`)
}

/**
 * Runs until SIGTERM or `maxSeconds`. A RELEASE that reaches a server that is down (killed) is lost
 * by design (DHCP has no answer to it) and its address would stay leased for the lease time: when
 * the server answers again after a silence, every RELEASE it has not gone on answering for
 * RELEASE_CONFIRM_MS after is sent again (a RELEASE is idempotent, and one for an address now
 * leased to another MAC is ignored).
 */
export function runStorm(config: StormConfig): Promise<void> {
  const random = seededRandom(config.seed)
  const socket: Socket = createSocket({ type: 'udp4', reuseAddr: true })
  const txns = new Map<number, Txn>()
  const byMac = new Map<string, Txn>()
  /** MAC -> held address, in the order they were bound (oldest first). */
  const held = new Map<string, string>()
  const counts = { macs: 0, discovers: 0, offers: 0, requests: 0, acks: 0, renew_acks: 0, naks: 0, renew_naks: 0, releases: 0, releases_resent: 0, retransmits: 0, gave_up: 0, renew_timeouts: 0 }
  let next = 0
  let newCredit = 0
  let renewCredit = 0
  let stopping = false
  let lastReply = 0
  /** The first reply after the last silence (the server's current life, as far as we can tell). */
  let upSince = 0
  /** RELEASEs (by MAC) the server has not yet answered anything for RELEASE_CONFIRM_MS after: sent again after a silence. */
  const unconfirmed = new Map<string, { readonly ip: string; sentAt: number }>()
  /** Those waiting to go again, a few a tick: a burst would meet the server's flood limit and be dropped. */
  let resendQueue: string[] = []

  const newXid = (): number => Math.floor(random() * 0xffffffff) >>> 0
  const macOf = (n: number): string =>
    [0x02, (config.macTag >> 8) & 0xff, config.macTag & 0xff, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff].map((b) => b.toString(16).padStart(2, '0')).join(':')

  const packet = (t: Txn, type: number, extra: Array<[number, Buffer]>, ciaddr = '0.0.0.0'): Buffer => {
    const p: DhcpPacket = {
      op: 1,
      htype: 1,
      hlen: 6,
      hops: 0,
      xid: t.xid,
      secs: 0,
      // Broadcast replies: these clients have no address of their own on the link.
      flags: ciaddr === '0.0.0.0' ? 0x8000 : 0,
      ciaddr,
      yiaddr: '0.0.0.0',
      siaddr: '0.0.0.0',
      giaddr: '0.0.0.0',
      chaddr: t.mac,
      sname: '',
      file: '',
      options: new Map<number, Buffer>([[Option.MESSAGE_TYPE, opt.u8(type)], [Option.PARAMETER_LIST, Buffer.from([1, 3, 6, 15, 51])], ...extra])
    }
    return encode(p)
  }
  const send = (buf: Buffer, address: string, port: number): void => {
    socket.send(buf, port, address, (err) => {
      // The server's host end may be between lives: a lost packet is retried by the timer.
      if (err) process.stderr.write(`send: ${err.message}\n`)
    })
  }
  const transmit = (t: Txn): void => {
    t.sends++
    t.sentAt = Date.now()
    if (t.phase === 'discover') {
      counts.discovers++
      send(packet(t, MessageType.DISCOVER, []), '255.255.255.255', 67)
    } else if (t.phase === 'request') {
      counts.requests++
      send(packet(t, MessageType.REQUEST, [[Option.REQUESTED_ADDRESS, opt.ip(t.ip ?? '0.0.0.0')], [Option.SERVER_ID, opt.ip(config.server)]]), '255.255.255.255', 67)
    } else {
      // INIT-REBOOT: the held address in option 50, no server identifier, broadcast.
      counts.requests++
      send(packet(t, MessageType.REQUEST, [[Option.REQUESTED_ADDRESS, opt.ip(t.ip ?? '0.0.0.0')]]), '255.255.255.255', 67)
    }
  }
  const begin = (mac: string, phase: Phase, ip: string | undefined, sends = 0): void => {
    const t: Txn = { mac, xid: newXid(), phase, ip, tries: 0, sends, sentAt: 0 }
    txns.set(t.xid, t)
    byMac.set(mac, t)
    transmit(t)
  }
  const finish = (t: Txn): void => {
    txns.delete(t.xid)
    if (byMac.get(t.mac) === t) byMac.delete(t.mac)
  }
  /** Starts over with DISCOVER (a new xid), unless this MAC has sent enough. */
  const restart = (t: Txn): void => {
    finish(t)
    if (t.sends >= MAX_SENDS || stopping) {
      counts.gave_up++
      return
    }
    begin(t.mac, 'discover', undefined, t.sends)
  }
  const sendRelease = (mac: string, ip: string): void => {
    const t: Txn = { mac, xid: newXid(), phase: 'renew', ip, tries: 0, sends: 0, sentAt: 0 }
    send(packet(t, MessageType.RELEASE, [[Option.SERVER_ID, opt.ip(config.server)]], ip), config.server, 67)
  }
  const release = (mac: string, ip: string): void => {
    held.delete(mac)
    counts.releases++
    emit({ e: 'release', mac, ip })
    unconfirmed.set(mac, { ip, sentAt: Date.now() })
    sendRelease(mac, ip)
  }

  socket.on('message', (msg) => {
    const d = decode(msg)
    if (!d.ok || d.packet.op !== 2) return
    const p = d.packet
    const t = txns.get(p.xid)
    if (!t || t.mac !== p.chaddr) return
    const type = messageType(p)
    const from = ipOption(p, Option.SERVER_ID)
    if (from !== undefined && from !== config.server) return
    const now = Date.now()
    if (lastReply > 0 && now - lastReply >= UP_MS) {
      // Back after a silence (a kill and a restart): what was released around it may be lost.
      const queued = new Set(resendQueue)
      const again = [...unconfirmed.keys()].filter((mac) => !queued.has(mac))
      resendQueue = [...resendQueue, ...again]
      process.stderr.write(`${new Date(now).toISOString()} the server answers again after ${now - lastReply} ms: sending ${again.length} RELEASEs again\n`)
    }
    if (lastReply === 0 || now - lastReply >= UP_MS) upSince = now
    lastReply = now
    if (type === MessageType.OFFER && t.phase === 'discover') {
      counts.offers++
      t.phase = 'request'
      t.ip = p.yiaddr
      t.tries = 0
      transmit(t)
    } else if (type === MessageType.ACK && (t.phase === 'request' || t.phase === 'renew') && p.yiaddr === t.ip) {
      const renew = t.phase === 'renew'
      if (renew) counts.renew_acks++
      else counts.acks++
      // The ledger hears of the lease before anything else happens to it.
      emit({ e: 'ack', mac: t.mac, ip: p.yiaddr, renew, xid: p.xid })
      finish(t)
      held.delete(t.mac)
      held.set(t.mac, p.yiaddr)
    } else if (type === MessageType.NAK && (t.phase === 'request' || t.phase === 'renew')) {
      const renew = t.phase === 'renew'
      if (renew) counts.renew_naks++
      else counts.naks++
      emit({ e: 'nak', mac: t.mac, ip: t.ip ?? '', renew, message: textOption(p, Option.MESSAGE) ?? '' })
      // A refused renewal means the server no longer holds this lease: the client is unbound.
      if (renew) held.delete(t.mac)
      restart(t)
    }
  })

  const stats = (final: boolean): void =>
    emit({ e: 'stats', final, stats: { ...counts, held: held.size, in_flight: txns.size } })

  const tick = (): void => {
    const now = Date.now()
    for (const t of [...txns.values()]) {
      if (now - t.sentAt < RETRY_MS) continue
      t.tries++
      const limit = t.phase === 'discover' ? DISCOVER_TRIES : t.phase === 'request' ? REQUEST_TRIES : RENEW_TRIES
      if (t.sends >= MAX_SENDS || (t.phase !== 'renew' && stopping)) {
        finish(t)
        if (t.phase === 'renew') counts.renew_timeouts++
        else counts.gave_up++
      } else if (t.tries >= limit) {
        if (t.phase === 'renew') {
          // The server is away: keep the lease (it lasts an hour), renew another time.
          counts.renew_timeouts++
          finish(t)
        } else restart(t)
      } else {
        counts.retransmits++
        transmit(t)
      }
    }
    // Resent RELEASEs first (a reply started them: the server is up), paced; new work waits for them.
    // Confirmed: sent while this life of the server answered, and it went on answering long after.
    for (const [mac, r] of unconfirmed) if (r.sentAt >= upSince && r.sentAt < lastReply - RELEASE_CONFIRM_MS) unconfirmed.delete(mac)
    if (resendQueue.length > 0) {
      for (const mac of resendQueue.splice(0, RESENDS_PER_TICK)) {
        const r = unconfirmed.get(mac)
        if (!r) continue
        counts.releases_resent++
        r.sentAt = now
        sendRelease(mac, r.ip)
      }
      if (resendQueue.length > 0) return
    }
    if (stopping) return
    newCredit = Math.min(newCredit + (config.newPerSecond * TICK_MS) / 1000, 50)
    renewCredit = Math.min(renewCredit + (config.renewPerSecond * TICK_MS) / 1000, 50)
    const up = now - lastReply < UP_MS
    while (newCredit >= 1 && txns.size < MAX_IN_FLIGHT) {
      const starting = [...byMac.values()].filter((t) => t.phase !== 'renew').length
      if (starting >= (up ? MAX_STARTING : PROBES_WHILE_DOWN)) break
      if (held.size + starting >= config.holdCap) {
        // Full: the oldest holder not renewing right now gives its address back, one per new MAC.
        const oldest = up ? [...held].find(([mac]) => !byMac.has(mac)) : undefined
        if (!oldest) break
        release(oldest[0], oldest[1])
      }
      newCredit--
      counts.macs++
      begin(macOf(next++), 'discover', undefined)
    }
    while (renewCredit >= 1 && txns.size < MAX_IN_FLIGHT && held.size > 0) {
      renewCredit--
      const idle = [...held].filter(([mac]) => !byMac.has(mac))
      const pick = idle[Math.floor(random() * idle.length)]
      if (!pick) break
      begin(pick[0], 'renew', pick[1])
    }
  }

  return new Promise<void>((resolve, reject) => {
    socket.once('error', reject)
    socket.bind({ port: 68, address: '0.0.0.0' }, () => {
      socket.off('error', reject)
      socket.on('error', (err) => process.stderr.write(`socket: ${err.message}\n`))
      try {
        bindSocketToDevice(socket, config.iface)
        socket.setBroadcast(true)
        socket.setRecvBufferSize(4 * 1024 * 1024)
      } catch (err) {
        reject(err instanceof Error ? err : new Error(String(err)))
        return
      }
      emit({ e: 'ready' })
      const timer = setInterval(tick, TICK_MS)
      const statsTimer = setInterval(() => stats(false), 1_000)
      const end = (): void => {
        if (stopping) return
        stopping = true
        // Answers to what is in flight may still come: a short, bounded wait for them.
        const drainUntil = Date.now() + 1_500
        const drain = setInterval(() => {
          if (txns.size > 0 && Date.now() < drainUntil) return
          clearInterval(drain)
          clearInterval(timer)
          clearInterval(statsTimer)
          stats(true)
          socket.close(() => resolve())
        }, 50)
      }
      setTimeout(end, config.maxSeconds * 1000).unref()
      process.once('SIGTERM', end)
      process.once('SIGINT', end)
    })
  })
}

// Run as a program (in the namespace), not when its types are imported.
const arg = process.argv[2]
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href && arg !== undefined) {
  const config = JSON.parse(arg) as StormConfig
  runStorm(config).then(
    () => process.exit(0),
    (err: unknown) => {
      process.stderr.write(`storm: ${err instanceof Error ? err.message : String(err)}\n`)
      process.exit(1)
    }
  )
}
