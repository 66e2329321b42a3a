import { describe, expect, it } from 'vitest'
import { clientArch, decode, encode, MessageType, messageType, opt, Option, textOption, userClasses, type DhcpPacket } from './dhcp-codec'
import { bootFileFor, buildReply, destinationOf, intentOf, isPxeClient, type DhcpConfig } from './dhcp-policy'

// A PXE DISCOVER as edk2 sends it (fields that matter): UEFI x64 (arch 7), vendor class PXEClient.
function pxeDiscover(extra: Array<[number, Buffer]> = []): DhcpPacket {
  return {
    op: 1,
    htype: 1,
    hlen: 6,
    hops: 0,
    xid: 0x1234abcd,
    secs: 4,
    flags: 0x8000,
    ciaddr: '0.0.0.0',
    yiaddr: '0.0.0.0',
    siaddr: '0.0.0.0',
    giaddr: '0.0.0.0',
    chaddr: '52:54:00:12:34:56',
    sname: '',
    file: '',
    options: new Map<number, Buffer>([
      [Option.MESSAGE_TYPE, opt.u8(MessageType.DISCOVER)],
      [Option.VENDOR_CLASS, opt.text('PXEClient:Arch:00007:UNDI:003016')],
      [Option.CLIENT_ARCH, opt.u16(7)],
      ...extra
    ])
  }
}

/** CPU time (user + system, ms) `run` takes: unlike wall time, not stretched by other processes. */
function cpuMs(run: () => void): number {
  const before = process.cpuUsage()
  run()
  const used = process.cpuUsage(before)
  return (used.user + used.system) / 1000
}

const config: DhcpConfig = {
  serverAddress: '192.0.2.1',
  subnetMask: '255.255.255.0',
  router: '192.0.2.1',
  dnsServers: ['192.0.2.1'],
  domain: 'lab.test',
  leaseSeconds: 3600,
  bootFiles: { bios: 'undionly.kpxe', uefi: 'ipxe.efi', uefiLocal: 'grub-local.efi' },
  ipxeScriptUrl: (mac) => `http://192.0.2.1:8700/boot/${mac}.ipxe`,
  proxy: false
}

describe('DHCP codec', () => {
  it('round-trips a packet byte for byte, with the BOOTP minimum size', () => {
    const bytes = encode(pxeDiscover())
    expect(bytes.length).toBe(300)
    expect(bytes.readUInt32BE(236)).toBe(0x63825363)
    const back = decode(bytes)
    if (!back.ok) throw new Error(back.error)
    expect(back.packet.chaddr).toBe('52:54:00:12:34:56')
    expect(clientArch(back.packet)).toBe(7)
    expect(messageType(back.packet)).toBe(MessageType.DISCOVER)
    expect(encode(back.packet).equals(bytes)).toBe(true)
  })

  it('reads user class both as RFC 3004 items and as iPXE’s raw string', () => {
    const raw = pxeDiscover([[Option.USER_CLASS, opt.text('iPXE')]])
    expect(userClasses(raw)).toEqual(['iPXE'])
    const rfc = pxeDiscover([[Option.USER_CLASS, Buffer.from([4, ...Buffer.from('iPXE'), 3, ...Buffer.from('abc')])]])
    expect(userClasses(rfc)).toEqual(['iPXE', 'abc'])
  })

  it('never throws on hostile input', () => {
    const good = encode(pxeDiscover())
    const cases = [Buffer.alloc(0), good.subarray(0, 100), Buffer.concat([good.subarray(0, 240), Buffer.from([53, 200, 1])]), Buffer.from(good).fill(0xff, 240)]
    for (const c of cases) expect(() => decode(c)).not.toThrow()
    expect(decode(good.subarray(0, 100))).toEqual({ ok: false, error: 'packet of 100 bytes is shorter than a DHCP header' })
    const truncated = decode(Buffer.concat([good.subarray(0, 240), Buffer.from([53, 200, 1])]))
    expect(truncated).toEqual({ ok: false, error: 'option 53 claims 200 bytes past the end of the packet' })
    for (let i = 0; i < 200; i++) {
      const noise = Buffer.from(good)
      for (let j = 0; j < 20; j++) noise[240 + ((j * 37 + i) % 60)] = (i * 31 + j) & 0xff
      expect(() => decode(noise)).not.toThrow()
    }
  })

  // Found by `npm run fuzz` (seed 42, DHCP input 1134: a DISCOVER whose option 60 came to 29,071
  // bytes, mostly NULs, in 255-byte pieces; RFC 3396 joins them). Trimming trailing NULs with
  // /\0+$/ backtracked over the NUL run from each start: 1.8 s for that packet, 9 s for this
  // 64 KB one, in the server's event loop, on every isPxeClient() call.
  it('reads a 64 KB vendor class of NULs in linear time, trimming only the trailing NULs', () => {
    const header = Buffer.alloc(240)
    header.set([1, 1, 6], 0) // BOOTREQUEST, Ethernet, 6-byte address
    header.set([0x52, 0x54, 0x00, 0xf0, 0x00, 0x01], 28)
    header.writeUInt32BE(0x63825363, 236)
    const nulPiece = Buffer.concat([Buffer.from([Option.VENDOR_CLASS, 255]), Buffer.alloc(255)])
    const bytes = Buffer.concat([
      header,
      Buffer.from([Option.MESSAGE_TYPE, 1, MessageType.DISCOVER]),
      ...Array.from({ length: 250 }, () => nulPiece),
      Buffer.from([Option.VENDOR_CLASS, 2, 0x61, 0x00, Option.END])
    ])
    expect(bytes.length).toBe(64_498)
    const decoded = decode(bytes)
    if (!decoded.ok) throw new Error(decoded.error)
    const packet = decoded.packet
    let text: string | undefined
    let pxe: boolean | undefined
    expect(
      cpuMs(() => {
        text = textOption(packet, Option.VENDOR_CLASS)
        pxe = isPxeClient(packet)
      })
    ).toBeLessThan(250)
    expect(text).toBe(`${'\0'.repeat(250 * 255)}a`)
    expect(pxe).toBe(false)
  })

  // Found by `npm run fuzz` (seed 42, DHCP input 16523: option 60 in 20,133 pieces of 1 or 2
  // bytes). Joining each piece onto the value so far copied the value once per piece: ~100 ms
  // and 200 MB of garbage for one 64 KB datagram, so ten a second stalled every service.
  it('joins an option split into 21,300 one-byte pieces (RFC 3396) in linear time', () => {
    const header = Buffer.alloc(240)
    header.set([1, 1, 6], 0)
    header.set([0x52, 0x54, 0x00, 0xf0, 0x00, 0x01], 28)
    header.writeUInt32BE(0x63825363, 236)
    const bytes = Buffer.concat([
      header,
      Buffer.from([Option.MESSAGE_TYPE, 1, MessageType.DISCOVER]),
      ...Array.from({ length: 21_300 }, () => Buffer.from([Option.VENDOR_CLASS, 1, 0x41])),
      Buffer.from([Option.END])
    ])
    expect(bytes.length).toBe(64_144)
    const results: ReturnType<typeof decode>[] = []
    expect(cpuMs(() => results.push(decode(bytes), decode(bytes), decode(bytes), decode(bytes), decode(bytes)))).toBeLessThan(150)
    for (const decoded of results) {
      if (!decoded.ok) throw new Error(decoded.error)
      expect(decoded.packet.options.get(Option.VENDOR_CLASS)).toEqual(Buffer.alloc(21_300, 0x41))
      expect(messageType(decoded.packet)).toBe(MessageType.DISCOVER)
    }
  })
})

describe('DHCP policy', () => {
  it('chooses BIOS, UEFI, or the iPXE script; a BIOS node that boots locally gets no file, a UEFI one the local-boot loader', () => {
    const local = { address: '192.0.2.50', hostname: 'n1', bootenv: 'local' }
    const bios = pxeDiscover([[Option.CLIENT_ARCH, opt.u16(0)]])
    expect(bootFileFor(bios, null, config)).toBe('undionly.kpxe')
    expect(bootFileFor(pxeDiscover(), null, config)).toBe('ipxe.efi')
    expect(bootFileFor(pxeDiscover([[Option.USER_CLASS, opt.text('iPXE')]]), null, config)).toBe('http://192.0.2.1:8700/boot/52:54:00:12:34:56.ipxe')
    expect(bootFileFor(bios, local, config)).toBeNull()
    expect(bootFileFor(pxeDiscover(), local, config)).toBe('grub-local.efi')
    expect(bootFileFor(pxeDiscover(), local, { ...config, bootFiles: { ...config.bootFiles, uefiLocal: null } })).toBeNull()
  })

  it('tells iPXE not to wait for ProxyDHCP (175.176 = 1)', () => {
    const reply = buildReply(pxeDiscover([[Option.USER_CLASS, opt.text('iPXE')]]), MessageType.OFFER, { address: '192.0.2.50', hostname: null, bootenv: 'discovery' }, config, { withAddress: true })
    expect(reply.options.get(Option.IPXE_ENCAP)).toEqual(Buffer.from([176, 1, 1, 255]))
    expect(reply.yiaddr).toBe('192.0.2.50')
  })

  it('stays silent for a REQUEST that names another server', () => {
    const req = { ...pxeDiscover(), options: new Map([[Option.MESSAGE_TYPE, opt.u8(MessageType.REQUEST)], [Option.SERVER_ID, opt.ip('192.0.2.99')]]) }
    expect(intentOf(req, config)).toEqual({ kind: 'other-server', serverId: '192.0.2.99' })
  })

  it('answers through the relay when there is one, else by broadcast', () => {
    const p = pxeDiscover()
    const reply = buildReply(p, MessageType.OFFER, null, config, { withAddress: false })
    expect(destinationOf(p, reply)).toEqual({ address: '255.255.255.255', port: 68 })
    expect(destinationOf({ ...p, giaddr: '10.0.0.1' }, reply)).toEqual({ address: '10.0.0.1', port: 67 })
  })
})
