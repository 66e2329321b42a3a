import { createHash } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { contains, formatAddress, formatCidr, interfaceId, parseAddress, parseCidr, ulaPrefix } from './ip-address'

describe('IP address arithmetic', () => {
  it('round-trips IPv4 and IPv6 text through numbers, compressing IPv6 as RFC 5952 says', () => {
    expect(formatAddress(4, parseAddress('192.168.124.10')?.value ?? 0n)).toBe('192.168.124.10')
    const cases = [
      ['2001:db8:0:0:0:0:2:1', '2001:db8::2:1'],
      ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'],
      ['2001:0:0:1:0:0:0:1', '2001:0:0:1::1'],
      ['::', '::'],
      ['fd00::', 'fd00::'],
      ['::ffff:192.0.2.1', '::ffff:c000:201']
    ]
    for (const [input, output] of cases) expect(formatAddress(6, parseAddress(input as string)?.value ?? -1n)).toBe(output)
    expect(parseAddress('300.1.1.1')).toBeNull()
    expect(parseAddress('fe80::1%eth0')).toBeNull()
  })

  it('parses CIDRs and explains what is wrong with a bad one', () => {
    expect(formatCidr(parseCidr('192.168.124.0/24') as never)).toBe('192.168.124.0/24')
    expect(parseCidr('192.168.124.5/24')).toBe('"192.168.124.5/24" has host bits set; the network is 192.168.124.0/24')
    expect(parseCidr('10.0.0.0/33')).toBe('prefix length /33 is too long for IPv4 (at most /32)')
    expect(parseCidr('banana')).toMatch('is not in address/prefix-length form')
    const net = parseCidr('10.1.0.0/16')
    if (typeof net === 'string') throw new Error(net)
    expect(contains(net, 4, parseAddress('10.1.255.255')?.value ?? 0n)).toBe(true)
    expect(contains(net, 4, parseAddress('10.2.0.0')?.value ?? 0n)).toBe(false)
  })

  it('takes the interface ID from the last 64 bits of md5(FQDN)', () => {
    const fqdn = 'd52-54-00-12-34-56.crowbar.lab'
    const expected = BigInt(`0x${createHash('md5').update(fqdn).digest('hex').slice(16)}`)
    expect(interfaceId(fqdn)).toBe(expected)
    // A literal vector, from coreutils: `echo -n admin.crowbar.lab | md5sum` = 430042a0cae7e6eb0d7f2822ea5e2b29
    expect(interfaceId('admin.crowbar.lab')).toBe(0x0d7f2822ea5e2b29n)
    expect(formatAddress(6, (0xfd12_3456_789a_0002n << 64n) | interfaceId('admin.crowbar.lab'))).toBe('fd12:3456:789a:2:d7f:2822:ea5e:2b29')
  })

  it('builds an RFC 4193 /64: fd, 40-bit global ID, 16-bit subnet ID', () => {
    const prefix = ulaPrefix(0x12_3456_789an, 0x0002)
    expect(formatCidr(prefix)).toBe('fd12:3456:789a:2::/64')
    expect(prefix.network >> 120n).toBe(0xfdn)
    // Bits beyond 40 of the global ID and 16 of the subnet ID are ignored.
    expect(formatCidr(ulaPrefix(0xff_12_3456_789an, 0x1_0002))).toBe('fd12:3456:789a:2::/64')
  })
})
