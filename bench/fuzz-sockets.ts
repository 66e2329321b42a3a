// npm run fuzz, socket phase: one protocol's real server class (DhcpServer, DnsServer with a real
// upstream, TftpServer) started in this process on loopback, mutated datagrams sent to it, then a
// valid exchange to prove it still serves. fuzz.ts runs this inside a network namespace it made
// (only `lo` in it), so no packet can leave the machine. Prints one `FUZZ-RESULT {json}` line.
// Usage (by fuzz.ts): fuzz-sockets.ts dhcp|dns|tftp SEED COUNT SECONDS
import dgram from 'node:dgram'
import { mkdtemp, mkdir, readFile, rm, symlink, writeFile } from 'node:fs/promises'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { monitorEventLoopDelay, performance } from 'node:perf_hooks'
import pino, { type Logger } from 'pino'
import { DhcpLeases, type Lease, type LeaseWrite } from '../src-main/services/dhcp/dhcp-leases'
import { decode as decodeDhcp, encode as encodeDhcp, MessageType, messageType, opt, Option, type DhcpPacket } from '../src-main/services/dhcp/dhcp-codec'
import type { ClientBinding, DhcpConfig } from '../src-main/services/dhcp/dhcp-policy'
import { DhcpServer } from '../src-main/services/dhcp/dhcp-server'
import { decodeMessage, DnsType, encodeMessage, isDecodeError } from '../src-main/services/dns/dns-codec'
import { DnsServer } from '../src-main/services/dns/dns-server'
import { bindSocketToDevice } from '../src-main/services/net/bind-to-device'
import { decodePacket, encodeAck, encodeError, encodeRequest, type TftpOption } from '../src-main/services/tftp/tftp-codec'
import { TftpServer } from '../src-main/services/tftp/tftp-server'
import { dhcpPacket, FUZZ_MACS, RESERVED_MACS } from './fuzz-dhcp'
import { dnsQuery, FUZZ_ZONE, UPSTREAM_ZONE } from './fuzz-dns'
import { mutateBytes } from './fuzz-mutate'
import { Rng, rngFor } from './fuzz-rng'
import type { Protocol } from './fuzz-target'
import { ESCAPE_LINK, ROOT_FILES, SECRET_MARKER, tftpRequest, tftpTransferPacket } from './fuzz-tftp'

export interface SocketResult {
  readonly protocol: Protocol
  /** Datagrams handed to the kernel for the server (send errors not counted). */
  readonly sent: number
  /** Of those, what this namespace's UDP counters say was dropped on receive (buffer full). */
  readonly kernelDrops: number
  readonly replies: number
  /** Replies of ours that do not decode, or break a rule (a secret file's bytes, a wrong size). */
  readonly badReplies: number
  readonly badReplyExamples: readonly string[]
  /** Error-level log lines of the server, by message. */
  readonly serverErrors: Readonly<Record<string, number>>
  /** The first few of each, with their reason or error. */
  readonly serverErrorExamples: readonly string[]
  /** Of those, exceptions that escaped into the server's last-resort handlers. */
  readonly caughtExceptions: number
  readonly caughtExceptionExamples: readonly string[]
  readonly seconds: number
  /** The longest the event loop (servers and sender share it) was blocked: a slow input shows here. */
  readonly maxLoopStallMs: number
  /** The longest generating and sending one input took (part of any stall above). */
  readonly slowestGenerateMs: number
  readonly aliveAfter: boolean
  readonly aliveDetail: string
  /** Extra per protocol: TCP messages (DNS), transfer-port datagrams (TFTP). */
  readonly extra: Readonly<Record<string, number | string | boolean>>
}

/** Log messages the servers write only when something threw past the codec and the policy. */
const CAUGHT_EXCEPTION_MESSAGES = new Set([
  'DHCP request failed',
  'dns udp query failed',
  'dns tcp query failed',
  'dns forward failed',
  'TFTP request handling failed',
  'TFTP transfer failed unexpectedly',
  'TFTP onTransfer callback threw'
])
const BATCH = 16
const EXAMPLES = 5

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))
const turn = (): Promise<void> => new Promise((r) => setImmediate(r))

/** A logger for the server under test that keeps error-level lines (counts and a few examples). */
function capturingLogger(): { logger: Logger; errors: Map<string, number>; examples: string[]; caught: string[]; caughtCount: () => number } {
  const errors = new Map<string, number>()
  const examples: string[] = []
  const caught: string[] = []
  let caughtCount = 0
  const logger = pino(
    { level: 'error', base: undefined },
    {
      write(line: string) {
        let entry: { msg?: unknown; reason?: unknown; err?: { message?: unknown; stack?: unknown } }
        try {
          entry = JSON.parse(line) as typeof entry
        } catch {
          entry = { msg: line }
        }
        const msg = String(entry.msg ?? '')
        const n = (errors.get(msg) ?? 0) + 1
        errors.set(msg, n)
        if (n <= 2) examples.push(`${msg}: ${String(entry.reason ?? entry.err?.message ?? '')}`)
        if (CAUGHT_EXCEPTION_MESSAGES.has(msg) || String(entry.reason ?? '').startsWith('internal error')) {
          caughtCount++
          if (caught.length < EXAMPLES) caught.push(`${msg}: ${String(entry.err?.stack ?? entry.err?.message ?? entry.reason ?? '')}`)
        }
      }
    }
  )
  return { logger, errors, examples, caught, caughtCount: () => caughtCount }
}

/** This namespace's UDP receive-buffer drops (RcvbufErrors in /proc/net/snmp). */
async function udpReceiveDrops(): Promise<number> {
  const text = await readFile('/proc/net/snmp', 'utf8').catch(() => '')
  const lines = text.split('\n').filter((l) => l.startsWith('Udp:'))
  const names = (lines[0] ?? '').split(/\s+/)
  const values = (lines[1] ?? '').split(/\s+/)
  const at = names.indexOf('RcvbufErrors')
  return at > 0 ? Number(values[at] ?? 0) : 0
}

async function udpSocket(address: string, port: number, device?: string): Promise<dgram.Socket> {
  const socket = dgram.createSocket({ type: 'udp4', reuseAddr: true })
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject)
    socket.bind(port, address, () => {
      socket.off('error', reject)
      resolve()
    })
  })
  if (device) bindSocketToDevice(socket, device)
  socket.setRecvBufferSize(4 * 1024 * 1024)
  return socket
}

const closeSocket = (s: dgram.Socket): Promise<void> =>
  new Promise((resolve) => {
    try {
      s.close(() => resolve())
    } catch {
      resolve()
    }
  })

/** The longest one input took to generate: the sender shares the event loop, so this is in the stall too. */
let slowestGenerateMs = 0

/** Sends `count` inputs (or until the deadline) in batches, yielding to the servers between batches. */
async function pump(count: number, deadline: number, sendOne: (i: number) => void): Promise<number> {
  let i = 0
  let lastReport = Date.now()
  while (i < count && Date.now() < deadline) {
    for (let b = 0; b < BATCH && i < count; b++, i++) {
      const t0 = performance.now()
      sendOne(i)
      slowestGenerateMs = Math.max(slowestGenerateMs, performance.now() - t0)
    }
    await turn()
    if (Date.now() - lastReport > 2000) {
      lastReport = Date.now()
      process.stdout.write(`FUZZ-PROGRESS ${i}\n`)
    }
  }
  return i
}

/** Waits for the first message `accept` takes, or null after `ms`. */
function nextMessage<T>(socket: dgram.Socket, ms: number, accept: (msg: Buffer, from: dgram.RemoteInfo) => T | null): Promise<T | null> {
  return new Promise((resolve) => {
    const onMessage = (msg: Buffer, from: dgram.RemoteInfo): void => {
      const value = accept(msg, from)
      if (value === null) return
      clearTimeout(timer)
      socket.off('message', onMessage)
      resolve(value)
    }
    const timer = setTimeout(() => {
      socket.off('message', onMessage)
      resolve(null)
    }, ms)
    socket.on('message', onMessage)
  })
}

async function tries<T>(n: number, attempt: () => Promise<T | null>): Promise<T | null> {
  for (let i = 0; i < n; i++) {
    const value = await attempt()
    if (value !== null) return value
  }
  return null
}

// ---------------------------------------------------------------- DHCP

const DHCP_SERVER = '127.0.0.1'
/** A relay agent's address: valid packets carry it in giaddr, so replies come back by unicast. */
const DHCP_RELAY = '127.0.0.2'

/**
 * Leases in memory, starting empty. `load` answers in both shapes LeaseStore has had while this
 * was written (a list of leases, or { leases, declined }): an empty list carrying both fields.
 */
class MemoryLeaseStore {
  readonly rows = new Map<string, Lease>()
  writes = 0
  async load(): Promise<never[] & { readonly leases: never[]; readonly declined: never[] }> {
    return Object.assign([], { leases: [], declined: [] })
  }
  async write(writes: readonly LeaseWrite[]): Promise<void> {
    for (const w of writes) {
      this.writes++
      if (w.kind === 'delete') this.rows.delete(w.mac)
      else if (w.kind === 'upsert') this.rows.set(w.mac, w.lease)
    }
  }
}

const BOOTENVS = ['discovery', 'local', 'debian-12-install'] as const
const reservedBinding = (mac: string): ClientBinding | null => {
  const i = RESERVED_MACS.indexOf(mac)
  return i < 0 ? null : { address: `10.98.0.${10 + i}`, hostname: `node${i}.cluster.test`, bootenv: BOOTENVS[i % BOOTENVS.length] ?? 'discovery' }
}

function dhcpRequest(type: number, mac: string, xid: number, extra: ReadonlyArray<readonly [number, Buffer]>): Buffer {
  const p: DhcpPacket = {
    op: 1, htype: 1, hlen: 6, hops: 1, xid, secs: 0, flags: 0,
    ciaddr: '0.0.0.0', yiaddr: '0.0.0.0', siaddr: '0.0.0.0', giaddr: DHCP_RELAY, chaddr: mac, sname: '', file: '',
    options: new Map<number, Buffer>([
      [Option.MESSAGE_TYPE, opt.u8(type)],
      [Option.VENDOR_CLASS, opt.text('PXEClient:Arch:00007:UNDI:003016')],
      [Option.CLIENT_ARCH, opt.u16(7)],
      ...extra
    ])
  }
  return encodeDhcp(p)
}

/** DISCOVER -> OFFER -> REQUEST -> ACK through the relay address; the leased address, or why not. */
async function dora(relay: dgram.Socket, mac: string, xid: number): Promise<string> {
  const reply = (want: number) => (msg: Buffer): DhcpPacket | null => {
    const d = decodeDhcp(msg)
    return d.ok && d.packet.xid === xid && d.packet.chaddr === mac && messageType(d.packet) === want ? d.packet : null
  }
  const offer = await tries(3, () => {
    relay.send(dhcpRequest(MessageType.DISCOVER, mac, xid, []), 67, DHCP_SERVER)
    return nextMessage(relay, 1000, reply(MessageType.OFFER))
  })
  if (!offer) return `no OFFER for ${mac}`
  const ack = await tries(3, () => {
    relay.send(dhcpRequest(MessageType.REQUEST, mac, xid, [[Option.REQUESTED_ADDRESS, opt.ip(offer.yiaddr)], [Option.SERVER_ID, opt.ip(DHCP_SERVER)]]), 67, DHCP_SERVER)
    return nextMessage(relay, 1000, reply(MessageType.ACK))
  })
  if (!ack) return `OFFER of ${offer.yiaddr} to ${mac} but no ACK`
  return ack.yiaddr === offer.yiaddr ? `ok ${ack.yiaddr}` : `ACK of ${ack.yiaddr} after an OFFER of ${offer.yiaddr}`
}

async function fuzzDhcp(seed: number, count: number, deadline: number): Promise<SocketResult> {
  const log = capturingLogger()
  const store = new MemoryLeaseStore()
  const leases = new DhcpLeases({
    pool: { first: '10.99.0.10', last: '10.99.255.250' },
    leaseSeconds: 600,
    store,
    reservations: { reservation: async (mac) => reservedBinding(mac) },
    clock: () => new Date()
  })
  const config: DhcpConfig = {
    serverAddress: DHCP_SERVER,
    subnetMask: '255.255.0.0',
    router: DHCP_SERVER,
    dnsServers: [DHCP_SERVER],
    domain: 'cluster.test',
    leaseSeconds: 600,
    bootFiles: { bios: 'undionly.kpxe', uefi: 'ipxe.efi', uefiLocal: 'grub-local.efi' },
    ipxeScriptUrl: (mac) => `http://${DHCP_SERVER}:8700/boot/${mac}.ipxe`,
    proxy: false
  }
  const server = new DhcpServer({ interface: 'lo', config, leases, logger: log.logger, probeMs: 0 })
  const sockets: dgram.Socket[] = []
  const started = Date.now()
  let replies = 0
  let badReplies = 0
  const bad: string[] = []
  const offered = new Map<string, string>()
  try {
    await server.start()
    const relay = await udpSocket(DHCP_RELAY, 67, 'lo')
    const client = await udpSocket('0.0.0.0', 68, 'lo')
    sockets.push(relay, client)
    let sendErrors = 0
    const onReply = (msg: Buffer): void => {
      replies++
      const d = decodeDhcp(msg)
      if (!d.ok || d.packet.op !== 2 || messageType(d.packet) === undefined) {
        badReplies++
        if (bad.length < EXAMPLES) bad.push(msg.toString('hex'))
        return
      }
      if (messageType(d.packet) === MessageType.OFFER && FUZZ_MACS.includes(d.packet.chaddr)) offered.set(d.packet.chaddr, d.packet.yiaddr)
    }
    relay.on('message', onReply)
    client.on('message', onReply)
    relay.on('error', () => sendErrors++)
    const dropsBefore = await udpReceiveDrops()
    const shape = { serverAddress: DHCP_SERVER, relay: DHCP_RELAY, offered }
    const attempted = await pump(count, deadline, (i) => relay.send(dhcpPacket(rngFor(seed, 'dhcp-socket', i), shape), 67, DHCP_SERVER))
    await sleep(500)
    const kernelDrops = (await udpReceiveDrops()) - dropsBefore
    // Alive: a known node (reservation) and a new client (the pool) both complete DORA.
    const known = await dora(relay, RESERVED_MACS[1] ?? '', 0x0a11_7e01)
    const fresh = await dora(relay, '02:fa:11:7e:00:01', 0x0a11_7e02)
    const aliveAfter = known === `ok ${reservedBinding(RESERVED_MACS[1] ?? '')?.address}` && fresh.startsWith('ok ')
    return {
      protocol: 'dhcp',
      sent: attempted - sendErrors,
      kernelDrops,
      replies,
      badReplies,
      badReplyExamples: bad,
      serverErrors: Object.fromEntries(log.errors),
      serverErrorExamples: log.examples,
      caughtExceptions: log.caughtCount(),
      caughtExceptionExamples: log.caught,
      seconds: (Date.now() - started) / 1000,
      maxLoopStallMs: loopStall(),
      slowestGenerateMs: Math.round(slowestGenerateMs),
      aliveAfter,
      aliveDetail: `known node: ${known}; new client: ${fresh}`,
      extra: { requests_handled: server.requestsHandled, requests_dropped_in_flight_cap: server.requestsDropped, lease_writes: store.writes, leases_stored: store.rows.size }
    }
  } finally {
    await Promise.all(sockets.map(closeSocket))
    await server.stop()
  }
}

// ---------------------------------------------------------------- DNS

const DNS_SERVER = '127.0.0.1'
const DNS_UPSTREAM = '127.0.0.53'
const TCP_CONNECTIONS = 20
const TCP_MESSAGES_PER_CONNECTION = 100

async function dnsAsk(name: string, type: number): Promise<string> {
  const socket = await udpSocket('127.0.0.1', 0)
  try {
    const id = 0x5eed
    const query = encodeMessage({
      header: { id, qr: false, opcode: 0, aa: false, tc: false, rd: true, ra: false, z: false, ad: false, cd: false, rcode: 0 },
      questions: [{ name, type, class: 1 }],
      answers: [],
      authorities: [],
      additionals: [],
      edns: null
    })
    const answer = await tries(3, () => {
      socket.send(query, 53, DNS_SERVER)
      return nextMessage(socket, 1500, (msg) => {
        const m = decodeMessage(msg)
        return !isDecodeError(m) && m.header.id === id && m.header.qr ? m : null
      })
    })
    if (!answer) return `no answer for ${name}`
    const a = answer.answers.find((r) => r.type === 'A')
    return answer.header.rcode === 0 && a && a.type === 'A' ? `ok ${a.address}` : `rcode ${answer.header.rcode} with ${answer.answers.length} answers for ${name}`
  } finally {
    await closeSocket(socket)
  }
}

/** Framed queries over TCP, with frame lengths that sometimes lie and writes split anywhere. */
async function dnsTcp(seed: number, deadline: number): Promise<{ messages: number; replies: number }> {
  let messages = 0
  let replies = 0
  for (let c = 0; c < TCP_CONNECTIONS && Date.now() < deadline; c++) {
    const rng = new Rng(seed, 0x7c9, c)
    const socket = net.connect(53, DNS_SERVER)
    socket.on('error', () => undefined)
    socket.on('data', (chunk: Buffer) => {
      replies += chunk.length > 0 ? 1 : 0
    })
    await new Promise<void>((resolve) => {
      socket.once('connect', () => resolve())
      socket.once('error', () => resolve())
    })
    const frames: Buffer[] = []
    for (let m = 0; m < TCP_MESSAGES_PER_CONNECTION; m++) {
      const query = dnsQuery(rngFor(seed, 'dns-socket', 1_000_000_000 + c * TCP_MESSAGES_PER_CONNECTION + m))
      const length = rng.chance(0.97) ? query.length : rng.pick([query.length + 1, Math.max(0, query.length - 1), 0, 0xffff])
      const head = Buffer.alloc(2)
      head.writeUInt16BE(length & 0xffff)
      frames.push(head, query)
      messages++
    }
    const stream = Buffer.concat(frames)
    for (let at = 0; at < stream.length && !socket.destroyed; ) {
      const n = rng.chance(0.5) ? stream.length - at : rng.range(1, 300)
      socket.write(stream.subarray(at, at + n))
      at += n
      await turn()
    }
    await sleep(50)
    socket.destroy()
  }
  return { messages, replies }
}

async function fuzzDns(seed: number, count: number, deadline: number): Promise<SocketResult> {
  const log = capturingLogger()
  const upstream = new DnsServer({ address: DNS_UPSTREAM, port: 53, zone: () => UPSTREAM_ZONE })
  const server = new DnsServer({ address: DNS_SERVER, port: 53, zone: () => FUZZ_ZONE, forwarders: [DNS_UPSTREAM], forwardTimeoutMs: 500, logger: log.logger })
  const sockets: dgram.Socket[] = []
  const started = Date.now()
  let replies = 0
  let badReplies = 0
  const bad: string[] = []
  try {
    await upstream.start()
    await server.start()
    const sender = await udpSocket('127.0.0.1', 0)
    sockets.push(sender)
    let sendErrors = 0
    sender.on('error', () => sendErrors++)
    sender.on('message', (msg) => {
      replies++
      const m = decodeMessage(msg)
      if (isDecodeError(m) || !m.header.qr) {
        badReplies++
        if (bad.length < EXAMPLES) bad.push(msg.toString('hex'))
      }
    })
    const dropsBefore = await udpReceiveDrops()
    const attempted = await pump(count, deadline, (i) => sender.send(dnsQuery(rngFor(seed, 'dns-socket', i)), 53, DNS_SERVER))
    const tcp = await dnsTcp(seed, deadline + 15_000)
    await sleep(700)
    const kernelDrops = (await udpReceiveDrops()) - dropsBefore
    const own = await dnsAsk('node1.cluster.test', DnsType.A)
    const forwarded = await dnsAsk('www.upstream.test', DnsType.A)
    return {
      protocol: 'dns',
      sent: attempted - sendErrors,
      kernelDrops,
      replies,
      badReplies,
      badReplyExamples: bad,
      serverErrors: Object.fromEntries(log.errors),
      serverErrorExamples: log.examples,
      caughtExceptions: log.caughtCount(),
      caughtExceptionExamples: log.caught,
      seconds: (Date.now() - started) / 1000,
      maxLoopStallMs: loopStall(),
      slowestGenerateMs: Math.round(slowestGenerateMs),
      aliveAfter: own === 'ok 192.168.124.81',
      aliveDetail: `node1.cluster.test: ${own}; forwarded www.upstream.test: ${forwarded}`,
      extra: { tcp_messages: tcp.messages, tcp_reply_chunks: tcp.replies, forward_alive_after: forwarded === 'ok 10.1.0.80' }
    }
  } finally {
    await Promise.all(sockets.map(closeSocket))
    await server.stop()
    await upstream.stop()
  }
}

// ---------------------------------------------------------------- TFTP

const TFTP_SERVER = '127.0.0.1'

async function tftpRoot(seed: number): Promise<{ base: string; root: string; contents: Map<string, Buffer> }> {
  const base = await mkdtemp(join(tmpdir(), 'crowbar-fuzz-tftp-'))
  const root = join(base, 'root')
  const contents = new Map<string, Buffer>()
  const rng = new Rng(seed, 0x7f7, 0)
  for (const [name, size] of Object.entries(ROOT_FILES)) {
    const data = rng.bytes(size)
    await mkdir(dirname(join(root, name)), { recursive: true })
    await writeFile(join(root, name), data)
    contents.set(name, data)
  }
  await writeFile(join(base, 'secret'), SECRET_MARKER.repeat(64))
  await symlink('../secret', join(root, ESCAPE_LINK))
  return { base, root, contents }
}

/** A whole read, ACKing every block: the file's bytes, or why not. */
async function tftpGet(name: string, options: readonly TftpOption[]): Promise<Buffer | string> {
  const socket = await udpSocket('127.0.0.1', 0)
  try {
    const chunks: Buffer[] = []
    let blockSize = 512
    let expect = 1
    socket.send(encodeRequest('rrq', name, 'octet', options), 69, TFTP_SERVER)
    for (;;) {
      const got = await nextMessage(socket, 3000, (msg, from) => ({ msg, from }))
      if (!got) return `no packet after block ${expect - 1}`
      const d = decodePacket(got.msg)
      if (!d.ok) return `undecodable packet: ${d.reason}`
      const p = d.packet
      if (p.op === 'error') return `error ${p.code}: ${p.message}`
      if (p.op === 'oack') {
        blockSize = Number(p.options.find((o) => o.name === 'blksize')?.value ?? 512)
        socket.send(encodeAck(0), got.from.port, got.from.address)
        continue
      }
      if (p.op !== 'data') return `unexpected ${p.op}`
      if (p.block === (expect & 0xffff)) {
        chunks.push(p.data)
        expect++
      }
      socket.send(encodeAck(p.block), got.from.port, got.from.address)
      if (p.data.length < blockSize && p.block === ((expect - 1) & 0xffff)) return Buffer.concat(chunks)
    }
  } finally {
    await closeSocket(socket)
  }
}

async function fuzzTftp(seed: number, count: number, deadline: number): Promise<SocketResult> {
  const log = capturingLogger()
  const { base, root, contents } = await tftpRoot(seed)
  const server = new TftpServer({ root, address: TFTP_SERVER, port: 69, logger: log.logger })
  const sockets: dgram.Socket[] = []
  const started = Date.now()
  let replies = 0
  let badReplies = 0
  let transferDatagrams = 0
  let breaches = 0
  const bad: string[] = []
  const marker = Buffer.from(SECRET_MARKER.slice(0, 16))
  try {
    await server.start()
    const sender = await udpSocket('127.0.0.1', 0)
    sockets.push(sender)
    let sendErrors = 0
    sender.on('error', () => sendErrors++)
    const respond = new Rng(seed, 0x7e5, 0)
    sender.on('message', (msg, from) => {
      replies++
      const d = decodePacket(msg)
      if (!d.ok) {
        badReplies++
        if (bad.length < EXAMPLES) bad.push(msg.toString('hex'))
        return
      }
      const p = d.packet
      if (p.op === 'data' && p.data.includes(marker)) {
        breaches++
        badReplies++
        if (bad.length < EXAMPLES) bad.push(`secret bytes in DATA ${p.block}`)
      }
      if (from.port === 69 || (p.op !== 'data' && p.op !== 'oack')) return
      // A transfer talks to us from its own port: mostly abort it as a UEFI tsize probe does, else
      // answer with a mutated ACK/ERROR/DATA, or ACK properly and let it go on.
      const block = p.op === 'data' ? p.block : 0
      const r = respond.int(10)
      const out = r < 6 ? encodeError(8, 'fuzz: transfer aborted') : r < 9 ? mutateBytes(tftpTransferPacket(respond, block), respond) : encodeAck(block)
      sender.send(out, from.port, from.address)
      transferDatagrams++
    })
    const dropsBefore = await udpReceiveDrops()
    const attempted = await pump(count, deadline, (i) => {
      const rng = rngFor(seed, 'tftp-socket', i)
      const packet = rng.chance(0.8) ? mutateBytes(tftpRequest(rng, { preferServed: true }), rng, 2) : mutateBytes(tftpTransferPacket(rng, rng.int(4)), rng)
      sender.send(packet, 69, TFTP_SERVER)
    })
    await sleep(1000)
    const kernelDrops = (await udpReceiveDrops()) - dropsBefore
    // Our sender is closed first, so transfers left waiting on it end (client gone) before the checks.
    await closeSocket(sender)
    sockets.length = 0
    const expected = contents.get('pxelinux.0') ?? Buffer.alloc(0)
    let plain: Buffer | string = ''
    let windowed: Buffer | string = ''
    for (let attempt = 0; attempt < 5; attempt++) {
      plain = await tftpGet('pxelinux.0', [])
      windowed = await tftpGet('pxelinux.0', [{ name: 'blksize', value: '1468' }, { name: 'windowsize', value: '1' }, { name: 'tsize', value: '0' }])
      if (Buffer.isBuffer(plain) && Buffer.isBuffer(windowed)) break
      await sleep(2000)
    }
    const escape = await tftpGet(ESCAPE_LINK, [])
    const describe = (r: Buffer | string): string => (Buffer.isBuffer(r) ? (r.equals(expected) ? 'ok' : `wrong bytes (${r.length})`) : r)
    return {
      protocol: 'tftp',
      sent: attempted - sendErrors + transferDatagrams,
      kernelDrops,
      replies,
      badReplies,
      badReplyExamples: bad,
      serverErrors: Object.fromEntries(log.errors),
      serverErrorExamples: log.examples,
      caughtExceptions: log.caughtCount(),
      caughtExceptionExamples: log.caught,
      seconds: (Date.now() - started) / 1000,
      maxLoopStallMs: loopStall(),
      slowestGenerateMs: Math.round(slowestGenerateMs),
      aliveAfter: describe(plain) === 'ok' && describe(windowed) === 'ok',
      aliveDetail: `pxelinux.0 plain: ${describe(plain)}; with blksize 1468 and tsize: ${describe(windowed)}; ${ESCAPE_LINK} (symlink out of the root): ${Buffer.isBuffer(escape) ? 'SERVED' : escape}`,
      extra: { to_listening_port: attempted - sendErrors, to_transfer_ports: transferDatagrams, secret_bytes_served: breaches, escape_refused: !Buffer.isBuffer(escape) }
    }
  } finally {
    await Promise.all(sockets.map(closeSocket))
    await server.stop()
    await rm(base, { recursive: true, force: true })
  }
}

// ---------------------------------------------------------------- main

const RUNNERS: Readonly<Record<Protocol, (seed: number, count: number, deadline: number) => Promise<SocketResult>>> = {
  dhcp: fuzzDhcp,
  dns: fuzzDns,
  tftp: fuzzTftp
}

const loopDelay = monitorEventLoopDelay({ resolution: 10 })
/** Milliseconds of the longest event-loop delay since the start, less the sampling interval. */
const loopStall = (): number => Math.max(0, Math.round(loopDelay.max / 1e6 - 10))

async function main(): Promise<void> {
  loopDelay.enable()
  const [protocol = '', seed = '0', count = '0', seconds = '60'] = process.argv.slice(2)
  if (protocol !== 'dhcp' && protocol !== 'dns' && protocol !== 'tftp') throw new Error(`usage: fuzz-sockets.ts dhcp|dns|tftp SEED COUNT SECONDS (got ${protocol})`)
  const result = await RUNNERS[protocol](Number(seed) >>> 0, Number(count), Date.now() + Number(seconds) * 1000)
  process.stdout.write(`FUZZ-RESULT ${JSON.stringify(result)}\n`)
}

if (process.argv[1]?.endsWith('fuzz-sockets.ts')) {
  main().then(
    () => process.exit(0),
    (err: unknown) => {
      process.stderr.write(`fuzz-sockets: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`)
      process.exit(2)
    }
  )
}
