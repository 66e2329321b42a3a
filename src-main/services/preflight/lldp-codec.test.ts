// The LLDP codec on a frame lldpd sent over a veth (captured with tcpdump -w), and on hostile input.
import { describe, expect, it } from 'vitest'
import { decodeLldp, LLDP_ETHERTYPE } from './lldp-codec'
import { readEthernet, readPcap } from './pcap-codec'

// `tcpdump -i veth -c 1 -w - ether proto 0x88cc` while `lldpd -d -I vethX -S 'test switch'` ran on the far end.
const CAPTURED =
  'd4c3b2a102000400000000000000000000000400010000005292116b77aa0c0073000000730000000180c200000e42dbb3c8a65588cc02070442dbb3c8a65504070342dbb3c8a655060200780a02766d0c0b74657374207377697463680e04009c008010181102fe8000000000000040dbb3fffec8a655020000000200080470667030fe0900120f030100000000fe0900120f0100800000360000'

const tlv = (type: number, value: Buffer): Buffer => Buffer.concat([Buffer.from([(type << 1) | (value.length >> 8), value.length & 0xff]), value])

describe('LLDP codec', () => {
  it('reads the chassis, port, port description and system name from a captured lldpd frame', () => {
    const pcap = readPcap(Buffer.from(CAPTURED, 'hex'))
    expect(pcap.ok).toBe(true)
    const frames = pcap.ok ? pcap.frames : []
    expect(frames).toHaveLength(1)
    const eth = readEthernet(frames[0] as Buffer)
    expect(eth).toMatchObject({ destination: '01:80:c2:00:00:0e', etherType: LLDP_ETHERTYPE, vlan: null })
    expect(decodeLldp(eth?.payload ?? Buffer.alloc(0))).toEqual({
      ok: true,
      neighbour: { chassis: '42:db:b3:c8:a6:55', port: '42:db:b3:c8:a6:55', port_description: 'pfp0', system_name: 'vm', vlan: null }
    })
  })

  it('names a port by its interface name, a chassis by its management address, and reads the 802.1 port VLAN', () => {
    const pdu = Buffer.concat([
      tlv(1, Buffer.from([5, 1, 10, 0, 0, 254])),
      tlv(2, Buffer.concat([Buffer.from([5]), Buffer.from('Ethernet1/7')])),
      tlv(3, Buffer.from([0, 120])),
      tlv(127, Buffer.from([0x00, 0x80, 0xc2, 1, 0x00, 0x7c])),
      tlv(0, Buffer.alloc(0))
    ])
    expect(decodeLldp(pdu)).toEqual({ ok: true, neighbour: { chassis: '10.0.0.254', port: 'Ethernet1/7', port_description: null, system_name: null, vlan: 124 } })
  })

  it('refuses truncated TLVs, a missing End and a missing port ID without throwing', () => {
    expect(decodeLldp(Buffer.from([0x02, 0x07, 0x04, 0x42]))).toMatchObject({ ok: false, error: expect.stringMatching(/runs past/) })
    expect(decodeLldp(tlv(1, Buffer.from([7, 65])))).toMatchObject({ ok: false, error: expect.stringMatching(/without an End/) })
    expect(decodeLldp(Buffer.concat([tlv(1, Buffer.from([7, 65])), tlv(0, Buffer.alloc(0))]))).toMatchObject({ ok: false, error: expect.stringMatching(/port ID/) })
    expect(readPcap(Buffer.from('not a capture at all, really'))).toMatchObject({ ok: false })
    // A capture stopped mid-record keeps the whole records before it.
    expect(readPcap(Buffer.from(CAPTURED, 'hex').subarray(0, 100))).toEqual({ ok: true, frames: [] })
  })
})
