import { describe, expect, it } from 'vitest'
import { clientArch, decode, encode, MessageType, messageType, opt, Option, userClasses, type DhcpPacket } from './dhcp-codec'
import { bootFileFor, buildReply, destinationOf, intentOf, type DhcpConfig } from './dhcp-policy'

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
