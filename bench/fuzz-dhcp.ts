// npm run fuzz, DHCP: valid DISCOVER/REQUEST/RELEASE/DECLINE/INFORM packets with the PXE and iPXE
// options, laid out by hand so that option lengths can lie, options repeat or split (RFC 3396),
// END goes missing and overload (52) sends the parser into sname/file; then byte mutations. The
// target runs the codec, every pure policy function and re-encoding on what decodes.
import {
  clientArch,
  decode,
  DHCP_MAGIC,
  encode,
  ipOption,
  MessageType,
  messageType,
  opt,
  Option,
  textOption,
  userClasses,
  type DhcpPacket
} from '../src-main/services/dhcp/dhcp-codec'
import { bootFileFor, buildNak, buildReply, destinationOf, intentOf, isIpxe, isPxeClient, type ClientBinding, type DhcpConfig } from '../src-main/services/dhcp/dhcp-policy'
import { MAX_INPUT, mutateBytes } from './fuzz-mutate'
import type { Rng } from './fuzz-rng'
import { check, type FuzzTarget } from './fuzz-target'

/** Clients the fuzzer speaks for: a small set, so leases and offers repeat as on a real rack. */
export const FUZZ_MACS: readonly string[] = Array.from({ length: 48 }, (_, i) => `52:54:00:f0:00:${i.toString(16).padStart(2, '0')}`)
/** The first of them are known nodes (the socket phase's reservation source says so). */
export const RESERVED_MACS: readonly string[] = FUZZ_MACS.slice(0, 8)

export interface DhcpShape {
  /** Our server identifier (option 54 in REQUESTs that name us). */
  readonly serverAddress: string
  /** A relay agent address to put in giaddr, so replies come back by unicast; null for none. */
  readonly relay: string | null
  /** Addresses lately offered, per MAC: REQUESTs ask for them, as real clients would. */
  readonly offered?: ReadonlyMap<string, string>
}

interface RawOption {
  readonly code: number
  value: Buffer
  /** Length byte to write instead of value.length (a lie). */
  declared?: number
}

const PARAMETER_LISTS = [
  [1, 3, 6, 12, 15, 28, 42, 43, 60, 66, 67, 119, 121, 175],
  [1, 2, 3, 4, 5, 6, 11, 12, 13, 15, 16, 17, 18, 22, 23, 28, 40, 41, 42, 43, 50, 51, 54, 58, 59, 60, 66, 67, 97, 128, 129, 130, 131, 132, 133, 134, 135],
  [1, 3, 6, 15, 119, 252],
  [],
  Array.from({ length: 255 }, (_, i) => i + 1)
] as const

const VENDOR_CLASSES = [
  'PXEClient:Arch:00000:UNDI:002001',
  'PXEClient:Arch:00007:UNDI:003016',
  'PXEClient:Arch:00009:UNDI:003016',
  'PXEClient:Arch:00011:UNDI:003018',
  'HTTPClient:Arch:00016:UNDI:003001',
  'PXEClient',
  'PXEClien',
  'MSFT 5.0',
  'udhcp 1.36.1',
  'dhcpcd-9.4.1:Linux-6.1.0:x86_64:GenuineIntel',
  ''
] as const

const ARCHES = [0, 6, 7, 9, 10, 11, 16, 0x7fff, 0xffff] as const

/** Addresses as 4 bytes; the few fixed ones are parsed once (the generator runs a million times). */
const ipCache = new Map<string, Buffer>()
function ip(text: string): Buffer {
  let b = ipCache.get(text)
  if (!b) {
    b = opt.ip(text)
    if (ipCache.size < 4096) ipCache.set(text, b)
  }
  return b
}

function randomIp(rng: Rng): string {
  return rng.chance(0.5) ? `10.${rng.int(256)}.${rng.int(256)}.${rng.int(256)}` : [0, 0, 0, 0].map(() => rng.int(256)).join('.')
}

const macCache = new Map<string, Buffer>()
function macBytes(mac: string): Buffer {
  let b = macCache.get(mac)
  if (!b) {
    b = Buffer.from(mac.split(':').map((h) => parseInt(h, 16)))
    if (macCache.size < 1024) macCache.set(mac, b)
  }
  return b
}

function userClass(rng: Rng): Buffer {
  switch (rng.int(7)) {
    case 0:
      return Buffer.from('iPXE')
    case 1:
      return Buffer.from([4, ...Buffer.from('iPXE')])
    case 2:
      return Buffer.from([4, ...Buffer.from('iPXE'), 7, ...Buffer.from('crowbar')])
    case 3:
      return Buffer.from([0])
    case 4:
      // An RFC 3004 length that runs past the option.
      return Buffer.from([10, ...Buffer.from('iPXE')])
    case 5:
      return Buffer.concat(Array.from({ length: rng.range(1, 80) }, () => Buffer.from([1, 0x41 + rng.int(26)])))
    default:
      return Buffer.from('gPXE')
  }
}

function encapsulated(rng: Rng): Buffer {
  const subs: Buffer[] = []
  const n = rng.range(0, 6)
  for (let i = 0; i < n; i++) {
    const code = rng.pick([1, 6, 8, 9, 10, 19, 21, 24, 176, 177, 189, 190, 235, 255, 0])
    const value = rng.bytes(rng.range(0, 12))
    subs.push(Buffer.from([code, rng.chance(0.9) ? value.length : rng.int(256)]), value)
  }
  if (rng.chance(0.8)) subs.push(Buffer.from([Option.END]))
  return Buffer.concat(subs)
}

/** The options a client of this message type sends, in a typical order. */
function optionsFor(type: number, mac: string, shape: DhcpShape, rng: Rng): RawOption[] {
  const o: RawOption[] = [{ code: Option.MESSAGE_TYPE, value: opt.u8(type) }]
  const add = (code: number, value: Buffer, p = 1): void => {
    if (rng.chance(p)) o.push({ code, value })
  }
  add(Option.CLIENT_ID, Buffer.concat([Buffer.from([1]), macBytes(mac)]), 0.6)
  add(Option.PARAMETER_LIST, Buffer.from(rng.pick(PARAMETER_LISTS)), 0.8)
  add(Option.MAX_MESSAGE_SIZE, opt.u16(rng.pick([576, 1260, 1472, 1500, 0, 0xffff])), 0.6)
  const pxe = rng.chance(0.7)
  if (pxe) {
    add(Option.VENDOR_CLASS, opt.text(rng.pick(VENDOR_CLASSES)), 0.9)
    const arch = rng.pick(ARCHES)
    add(Option.CLIENT_ARCH, rng.chance(0.9) ? opt.u16(arch) : rng.bytes(rng.pick([0, 1, 3, 4, 6])), 0.85)
    add(Option.CLIENT_NDI, Buffer.from([1, 3, rng.pick([0, 1, 16])]), 0.7)
    add(Option.CLIENT_UUID, Buffer.concat([Buffer.from([0]), rng.bytes(rng.chance(0.9) ? 16 : rng.int(20))]), 0.7)
    add(Option.USER_CLASS, userClass(rng), 0.4)
    add(Option.IPXE_ENCAP, encapsulated(rng), 0.3)
    add(Option.VENDOR_SPECIFIC, encapsulated(rng), 0.2)
  }
  add(Option.HOSTNAME, opt.text(rng.pick(['node1', 'd52-54-00-f0-00-01', '', 'x'.repeat(255), 'a\0b', 'ümlaut'])), 0.3)
  add(81, Buffer.concat([Buffer.from([rng.int(16), 0, 0]), Buffer.from('node1.cluster.test')]), 0.1)
  const offered = shape.offered?.get(mac)
  if (type === MessageType.REQUEST || type === MessageType.DECLINE) {
    add(Option.REQUESTED_ADDRESS, ip(offered ?? (rng.chance(0.5) ? `10.99.0.${rng.range(10, 250)}` : randomIp(rng))), 0.85)
  }
  if (type === MessageType.REQUEST || type === MessageType.RELEASE || type === MessageType.DECLINE) {
    const which = rng.int(10)
    add(Option.SERVER_ID, which < 7 ? ip(shape.serverAddress) : which < 9 ? ip(randomIp(rng)) : rng.bytes(rng.int(6)), 0.8)
  }
  if (type === MessageType.DISCOVER) add(Option.LEASE_TIME, opt.u32(rng.pick([0, 60, 3600, 0xffffffff])), 0.2)
  // Options nobody asked for, including the reserved, site-specific and private ranges.
  const extra = rng.chance(0.3) ? rng.range(1, 12) : 0
  for (let i = 0; i < extra; i++) o.push({ code: rng.range(1, 254), value: rng.bytes(rng.range(0, 24)) })
  return o
}

function fixedHeader(type: number, mac: string, shape: DhcpShape, rng: Rng): Buffer {
  const h = Buffer.alloc(236)
  h[0] = rng.chance(0.97) ? 1 : rng.pick([0, 2, 3, 255])
  h[1] = rng.chance(0.95) ? 1 : rng.pick([0, 6, 32, 255])
  h[2] = rng.chance(0.95) ? 6 : rng.pick([0, 1, 5, 7, 16, 17, 255])
  h[3] = rng.chance(0.9) ? 0 : rng.int(256)
  h.writeUInt32BE(rng.u32(), 4)
  h.writeUInt16BE(rng.chance(0.8) ? rng.int(30) : rng.int(0x10000), 8)
  h.writeUInt16BE(rng.chance(0.5) ? 0x8000 : rng.chance(0.9) ? 0 : rng.int(0x10000), 10)
  const hasAddress = type === MessageType.INFORM || type === MessageType.RELEASE || (type === MessageType.REQUEST && rng.chance(0.3))
  const ciaddr = hasAddress ? (shape.offered?.get(mac) ?? (rng.chance(0.5) ? '127.0.0.1' : randomIp(rng))) : rng.chance(0.05) ? randomIp(rng) : '0.0.0.0'
  ip(ciaddr).copy(h, 12)
  if (rng.chance(0.05)) ip(randomIp(rng)).copy(h, 16)
  if (rng.chance(0.05)) ip(randomIp(rng)).copy(h, 20)
  const giaddr = shape.relay && rng.chance(0.9) ? shape.relay : rng.chance(0.05) ? randomIp(rng) : '0.0.0.0'
  ip(giaddr).copy(h, 24)
  macBytes(mac).copy(h, 28)
  if (rng.chance(0.1)) rng.bytes(10).copy(h, 34)
  if (rng.chance(0.1)) Buffer.from(rng.pick(['boot-server', 'x'.repeat(64)]), 'latin1').copy(h, 44)
  if (rng.chance(0.1)) Buffer.from(rng.pick(['pxelinux.0', 'y'.repeat(128), '\0file']), 'latin1').copy(h, 108)
  return h
}

function optionBytes(options: readonly RawOption[]): Buffer {
  let length = 0
  for (const o of options) length += 2 + o.value.length
  const out = Buffer.allocUnsafe(length)
  let at = 0
  for (const o of options) {
    out[at] = o.code
    out[at + 1] = (o.declared ?? o.value.length) & 0xff
    o.value.copy(out, at + 2)
    at += 2 + o.value.length
  }
  return out
}

// Option values are never written to once made (the packet is copied before byte mutations), so
// the long runs share their pieces.
const FILLED_PIECES = [0x00, 0x00, 0x20, 0x41, 0xff].map((fill) => Buffer.alloc(255, fill))
const TINY_PIECES = [Buffer.alloc(0), Buffer.from([0x41]), Buffer.from([0x41]), Buffer.from([0x41, 0x42])]

/** Rearranges the option list the ways real and broken clients do. */
function mutateOptions(o: RawOption[], rng: Rng): void {
  const n = rng.chance(0.5) ? 0 : rng.range(1, 4)
  for (let i = 0; i < n && o.length > 0; i++) {
    const k = rng.int(o.length)
    const target = o[k] as RawOption
    switch (rng.int(11)) {
      case 0: {
        // Repeated code: the decoder concatenates (RFC 3396).
        const copies = rng.chance(0.9) ? 1 : rng.range(2, 40)
        for (let c = 0; c < copies; c++) o.splice(rng.int(o.length + 1), 0, { code: target.code, value: Buffer.from(target.value) })
        break
      }
      case 1: {
        // Split one value across two codes, as a long option is carried.
        const cut = rng.int(target.value.length + 1)
        o.splice(k, 1, { code: target.code, value: target.value.subarray(0, cut) }, { code: target.code, value: target.value.subarray(cut) })
        break
      }
      case 2:
        target.declared = rng.pick([0, 1, 255, target.value.length + 1, Math.max(0, target.value.length - 1), rng.int(256)])
        break
      case 3:
        target.value = Buffer.alloc(0)
        break
      case 4:
        // A long option: 255 bytes per piece, several pieces.
        for (let c = rng.range(1, 8); c > 0; c--) o.splice(k, 0, { code: target.code, value: rng.bytes(255) })
        break
      case 5:
        o.sort(() => (rng.chance(0.5) ? 1 : -1))
        break
      case 6:
        o.splice(k, 1)
        break
      case 7:
        o.splice(k, 0, { code: Option.PAD, value: Buffer.alloc(0), declared: 0 })
        break
      case 8: {
        // One long option of a repeated byte, in 255-byte pieces, now and then a datagram's worth:
        // what a reader that backtracks or copies per piece pays for.
        const code = rng.chance(0.5) ? target.code : rng.pick([Option.VENDOR_CLASS, Option.HOSTNAME, Option.USER_CLASS, Option.CLIENT_ID, Option.VENDOR_SPECIFIC, Option.IPXE_ENCAP, Option.CLIENT_UUID, Option.CLIENT_ARCH, Option.PARAMETER_LIST])
        const piece = rng.pick(FILLED_PIECES)
        const pieces = rng.chance(0.98) ? rng.range(1, 16) : rng.range(16, 250)
        const run: RawOption[] = Array.from({ length: pieces }, () => ({ code, value: piece }))
        if (rng.chance(0.5)) run.push({ code, value: Buffer.from([0x61]) })
        o.splice(k, 0, ...run)
        break
      }
      case 9: {
        // Many tiny pieces of one code (RFC 3396 allows any split): a reader that joins them as it
        // goes copies the value once per piece.
        const piece = rng.pick(TINY_PIECES)
        const count = rng.chance(0.99) ? rng.range(2, 200) : rng.range(200, 21_000)
        const run: RawOption[] = Array.from({ length: count }, () => ({ code: target.code, value: piece }))
        o.splice(k, 1, ...run)
        break
      }
      default:
        o.splice(rng.int(o.length + 1), 0, { code: Option.OVERLOAD, value: opt.u8(rng.pick([1, 2, 3, 0, 4, 255])) })
        break
    }
  }
}

/** Options area bytes, with the END and the PAD fill a client may or may not send. */
function optionsArea(o: readonly RawOption[], rng: Rng): Buffer {
  const body = optionBytes(o)
  const end = rng.chance(0.93) ? Buffer.from([Option.END]) : Buffer.alloc(0)
  const pad = rng.chance(0.7) ? Buffer.alloc(Math.max(0, 60 - body.length - end.length)) : rng.chance(0.2) ? Buffer.alloc(rng.int(1200)) : Buffer.alloc(0)
  return Buffer.concat([body, end, pad])
}

export function dhcpPacket(rng: Rng, shape: DhcpShape): Buffer {
  const types = [MessageType.DISCOVER, MessageType.DISCOVER, MessageType.DISCOVER, MessageType.REQUEST, MessageType.REQUEST, MessageType.REQUEST, MessageType.RELEASE, MessageType.DECLINE, MessageType.INFORM, MessageType.INFORM]
  const type = rng.chance(0.92) ? rng.pick(types) : rng.pick([0, 2, 5, 6, 9, 10, 18, 255])
  const mac = rng.chance(0.95) ? rng.pick(FUZZ_MACS) : [0x02, 0, 0, 0, 0, 0].map((b, i) => (i === 0 ? b : rng.int(256)).toString(16).padStart(2, '0')).join(':')
  const header = fixedHeader(type, mac, shape, rng)
  const options = optionsFor(type, mac, shape, rng)
  mutateOptions(options, rng)
  // Overload: move some options into the file (1) and sname (2) fields, as PXE servers' large answers do.
  const overload = options.find((o) => o.code === Option.OVERLOAD)?.value[0] ?? 0
  if (overload & 1 || overload & 2) {
    const moved = options.splice(rng.int(options.length), rng.range(0, 3))
    const into = optionBytes(moved)
    const withEnd = rng.chance(0.8) ? Buffer.concat([into, Buffer.from([Option.END])]) : into
    if (overload & 1) withEnd.copy(header, 108, 0, Math.min(withEnd.length, 128))
    else withEnd.copy(header, 44, 0, Math.min(withEnd.length, 64))
  }
  const magic = Buffer.alloc(4)
  magic.writeUInt32BE(rng.chance(0.99) ? DHCP_MAGIC : rng.u32())
  const packet = Buffer.concat([header, magic, optionsArea(options, rng)]).subarray(0, MAX_INPUT)
  return mutateBytes(packet, rng)
}

const CONFIG: DhcpConfig = {
  serverAddress: '10.99.0.1',
  subnetMask: '255.255.255.0',
  router: '10.99.0.1',
  dnsServers: ['10.99.0.1', '10.99.0.2'],
  domain: 'cluster.test',
  leaseSeconds: 600,
  bootFiles: { bios: 'undionly.kpxe', uefi: 'ipxe.efi', uefiLocal: 'grub-local.efi' },
  ipxeScriptUrl: (mac) => `http://10.99.0.1:8700/boot/${mac}.ipxe`,
  proxy: false
}
const PROXY_CONFIG: DhcpConfig = { ...CONFIG, proxy: true, bootFiles: { ...CONFIG.bootFiles, uefiLocal: null } }
const BINDINGS: ReadonlyArray<ClientBinding | null> = [
  null,
  { address: '10.99.0.50', hostname: 'node1.cluster.test', bootenv: 'discovery' },
  { address: '10.99.0.51', hostname: null, bootenv: 'local' },
  { address: '10.99.0.52', hostname: 'x'.repeat(300), bootenv: 'debian-12-install' }
]

const DOTTED_QUAD = /^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$/

/** Our encoder's output must always decode again, as the same transaction. */
function checkReply(request: DhcpPacket, reply: DhcpPacket, what: string): void {
  const bytes = encode(reply)
  const again = decode(bytes)
  check(again.ok, `${what}: the encoded reply does not decode (${again.ok ? '' : again.error})`)
  check(again.packet.op === 2 && again.packet.xid === request.xid >>> 0, `${what}: the reply lost its op or transaction id`)
  check(messageType(again.packet) === messageType(reply), `${what}: the reply's message type changed on the wire`)
  const to = destinationOf(request, reply)
  check((to.port === 67 || to.port === 68) && DOTTED_QUAD.test(to.address), `${what}: destination ${to.address}:${to.port}`)
}

export const dhcpTarget: FuzzTarget = {
  protocol: 'dhcp',
  generate: (rng) => dhcpPacket(rng, { serverAddress: CONFIG.serverAddress, relay: null }),
  run(input) {
    const d = decode(input)
    if (!d.ok) return { decoded: false }
    const p = d.packet
    messageType(p)
    ipOption(p, Option.SERVER_ID)
    ipOption(p, Option.REQUESTED_ADDRESS)
    textOption(p, Option.VENDOR_CLASS)
    textOption(p, Option.HOSTNAME)
    clientArch(p)
    userClasses(p)
    isIpxe(p)
    isPxeClient(p)
    // One server set-up and one reply per input, chosen by the input's own bytes (so a replay takes
    // the same): over a million inputs every combination comes up, at a fraction of the cost.
    const pick = (input[4] ?? 0) ^ (input[7] ?? 0)
    const config = pick & 1 ? PROXY_CONFIG : CONFIG
    const binding = BINDINGS[(pick >> 1) % BINDINGS.length] ?? null
    for (const c of [CONFIG, PROXY_CONFIG]) {
      const intent = intentOf(p, c)
      check(typeof intent.kind === 'string', 'intentOf returned no intent')
      for (const b of BINDINGS) bootFileFor(p, b, c)
    }
    const withAddress = binding !== null && !config.proxy
    const kind = (pick >> 3) % 3
    if (kind === 0) checkReply(p, buildReply(p, MessageType.OFFER, binding, config, { withAddress }), 'OFFER')
    else if (kind === 1) checkReply(p, buildReply(p, MessageType.ACK, binding, config, { withAddress }), 'ACK')
    else checkReply(p, buildNak(p, config, `${p.chaddr} asked for an address that is not theirs`), 'NAK')
    // What decodes must re-encode, and the re-encoded packet must decode to the same options.
    const again = decode(encode(p))
    check(again.ok, `a decoded request does not survive encode and decode (${again.ok ? '' : again.error})`)
    for (const [code, value] of p.options) {
      if (code === Option.PAD || code === Option.END) continue
      check(again.packet.options.get(code)?.equals(value) === true, `option ${code} changed across encode and decode`)
    }
    return { decoded: true }
  }
}
