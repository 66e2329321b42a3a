// ipmitool's words read into errors, with the output ipmitool 1.8.19 -I lanplus -v really printed
// against ipmi_sim 2.0.33 (captured by hand; ipmitool-power.test.ts runs the same situations live).
import { describe, expect, it } from 'vitest'
import { BmcError } from './bmc-power'
import { ipmitoolFailure, parsePowerStatus, type IpmitoolFailure } from './ipmitool-output'
import { encodePresencePing, isPresencePong, parseArpUnresolved } from './rmcp-ping'

const base: IpmitoolFailure = {
  host: '10.0.2.15',
  port: 623,
  user: 'admin',
  cipherSuite: 3,
  command: 'chassis power status',
  stdout: '',
  stderr: '',
  timedOut: false,
  timeoutMs: 10_000,
  pings: { answered: false, portClosed: false, noRoute: false },
  arpUnresolved: false
}
const fail = (o: Partial<IpmitoolFailure>): BmcError => ipmitoolFailure({ ...base, ...o })

const SESSION_FAILED = 'Error: Unable to establish IPMI v2 / RMCP+ session\n'
const NO_ANSWER = 'Loading IANA PEN Registry...\nGet Auth Capabilities error\nError issuing Get Channel Authentication Capabilities request\n' + SESSION_FAILED

describe('ipmitool output', () => {
  it('reads the power status line', () => {
    expect(parsePowerStatus('Chassis Power is on\n', 'h')).toBe('on')
    expect(parsePowerStatus('Chassis Power is off\n', 'h')).toBe('off')
    expect(() => parsePowerStatus('Chassis Power is unknown\n', '10.0.2.15')).toThrow(/BMC 10.0.2.15 gave a power status ipmitool could not read: Chassis Power is unknown/)
  })

  it('a wrong password is the BMC refusing the password', () => {
    const e = fail({ stderr: 'Loading IANA PEN Registry...\n> RAKP 2 HMAC is invalid\n' + SESSION_FAILED, pings: { answered: true, portClosed: false, noRoute: false } })
    expect([e.kind, e.message]).toEqual(['auth', 'BMC 10.0.2.15 refused the password for user admin'])
  })

  it('an unknown user is named', () => {
    const e = fail({ stderr: 'RAKP 2 message indicates an error : unauthorized name\n' + SESSION_FAILED })
    expect([e.kind, e.message]).toEqual(['auth', 'BMC 10.0.2.15 does not know the user admin'])
  })

  it('a cipher suite the BMC lacks is a protocol error naming the suite', () => {
    const e = fail({ cipherSuite: 17, stderr: 'Error in open session response message : invalid authentication algorithm\n\n' + SESSION_FAILED })
    expect(e.kind).toBe('protocol')
    expect(e.message).toMatch(/^BMC 10.0.2.15 does not offer cipher suite 17 \(invalid authentication algorithm\)/)
  })

  it('a command the BMC turns down is refused, with its completion code in words', () => {
    const e = fail({ command: 'chassis power on', stderr: 'Set Chassis Power Control to Up/On failed: Invalid data field in request\n' })
    expect([e.kind, e.message]).toEqual(['refused', 'BMC 10.0.2.15 refused `chassis power on`: Invalid data field in request'])
  })

  it('no answer: no route, no ARP reply, a closed port, a silent RMCP+ and plain silence each say their own thing', () => {
    expect(fail({ stderr: NO_ANSWER, pings: { answered: false, portClosed: false, noRoute: true } }).message).toBe(
      "no route to BMC 10.0.2.15: check this machine's address on the BMC network"
    )
    const arp = fail({ stderr: NO_ANSWER, timedOut: true, arpUnresolved: true })
    expect(arp.kind).toBe('unreachable')
    expect(arp.message).toMatch(/^no route to BMC 10.0.2.15: nobody answers at that address on the local network/)
    const closed = fail({ port: 6230, stderr: NO_ANSWER, pings: { answered: false, portClosed: true, noRoute: false } })
    expect([closed.kind, closed.message]).toEqual(['refused', 'BMC 10.0.2.15 (UDP port 6230) refused IPMI: the host answers but nothing listens on UDP port 6230 (is IPMI over LAN enabled?)'])
    expect(fail({ stderr: NO_ANSWER, pings: { answered: true, portClosed: false, noRoute: false } }).kind).toBe('protocol')
    const silent = fail({ timedOut: true })
    expect([silent.kind, silent.message]).toEqual(['timeout', 'BMC 10.0.2.15 did not answer within 10 s'])
    expect(fail({ stderr: NO_ANSWER }).kind).toBe('timeout')
  })

  it('anything else keeps ipmitool first words, without the registry line', () => {
    const e = fail({ stderr: 'Loading IANA PEN Registry...\nSomething new went wrong\n' })
    expect([e.kind, e.message]).toEqual(['protocol', 'BMC 10.0.2.15: `chassis power status` failed: Something new went wrong'])
  })
})

describe('ASF presence ping', () => {
  it('encodes the 12 bytes of DSP0136 with the tag', () => {
    expect(encodePresencePing(0x2a).toString('hex')).toBe('0600ff06000011be802a0000')
  })

  it('recognizes the pong ipmi_sim sends, and only for our tag', () => {
    // Captured from ipmi_sim 2.0.33 answering a ping with tag 0x01.
    const pong = Buffer.from('0600ff06000011be40010010000011be000000008100000000000000', 'hex')
    expect(isPresencePong(pong, 0x01)).toBe(true)
    expect(isPresencePong(pong, 0x02)).toBe(false)
    expect(isPresencePong(pong.subarray(0, 11), 0x01)).toBe(false)
    expect(isPresencePong(encodePresencePing(1), 0x01)).toBe(false)
  })

  it('reads an unresolved neighbour from /proc/net/arp', () => {
    const table = [
      'IP address       HW type     Flags       HW address            Mask     Device',
      '198.19.251.99    0x1         0x0         00:00:00:00:00:00     *        ipxh',
      '192.0.2.1        0x1         0x2         02:fc:00:00:00:05     *        eth0',
      ''
    ].join('\n')
    expect(parseArpUnresolved(table, '198.19.251.99')).toBe(true)
    expect(parseArpUnresolved(table, '192.0.2.1')).toBe(false)
    expect(parseArpUnresolved(table, '192.0.2.9')).toBe(false)
  })
})
