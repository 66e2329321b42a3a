// LLDP (IEEE 802.1AB) as a switch sends it, ethertype 0x88cc: the chassis, port, port description,
// system name and the 802.1 Port VLAN ID TLVs. Pure; input is hostile: every TLV is length-checked,
// the walk is bounded, nothing throws.
import { formatAddress } from '../../base/ip-address'
import type { LldpNeighbour } from '../../model/preflight'
import { formatMac } from './pcap-codec'

export const LLDP_ETHERTYPE = 0x88cc
const MAX_TLVS = 128
const TLV = { END: 0, CHASSIS_ID: 1, PORT_ID: 2, TTL: 3, PORT_DESCRIPTION: 4, SYSTEM_NAME: 5, ORGANIZATIONAL: 127 } as const
const IEEE_8021_OUI = 0x0080c2
const PORT_VLAN_ID = 1

export type LldpResult = { ok: true; neighbour: LldpNeighbour } | { ok: false; error: string }

const text = (b: Buffer): string => b.toString('utf8').replace(/\0+$/, '')

/**
 * A chassis or port ID by its subtype: MAC addresses (chassis 4, port 3) as aa:bb:..., network
 * addresses (chassis 5, port 4) as IPv4/IPv6, the rest (names, aliases, locals) as text.
 */
function idOf(value: Buffer, macSubtype: number, addressSubtype: number): string {
  const subtype = value[0]
  const body = value.subarray(1)
  if (subtype === macSubtype && body.length === 6) return formatMac(body)
  if (subtype === addressSubtype && body.length >= 2) {
    const family = body[0]
    const address = body.subarray(1)
    if (family === 1 && address.length === 4) return [...address].join('.')
    if (family === 2 && address.length === 16) return formatAddress(6, BigInt(`0x${address.toString('hex')}`))
  }
  return text(body)
}

/** The LLDPDU (the payload after the Ethernet header). */
export function decodeLldp(pdu: Buffer): LldpResult {
  let chassis: string | undefined
  let port: string | undefined
  let portDescription: string | null = null
  let systemName: string | null = null
  let vlan: number | null = null
  let at = 0
  for (let n = 0; n < MAX_TLVS; n++) {
    if (at + 2 > pdu.length) return { ok: false, error: 'LLDPDU ends without an End TLV' }
    const head = pdu.readUInt16BE(at)
    const type = head >> 9
    const length = head & 0x1ff
    if (at + 2 + length > pdu.length) return { ok: false, error: `TLV ${type} of ${length} bytes runs past the frame` }
    const value = pdu.subarray(at + 2, at + 2 + length)
    at += 2 + length
    if (type === TLV.END) {
      if (chassis === undefined || port === undefined) return { ok: false, error: 'LLDPDU without a chassis ID or port ID' }
      return { ok: true, neighbour: { chassis, port, port_description: portDescription, system_name: systemName, vlan } }
    }
    if (type === TLV.CHASSIS_ID && length >= 2) chassis = idOf(value, 4, 5)
    else if (type === TLV.PORT_ID && length >= 2) port = idOf(value, 3, 4)
    else if (type === TLV.PORT_DESCRIPTION) portDescription = text(value)
    else if (type === TLV.SYSTEM_NAME) systemName = text(value)
    else if (type === TLV.ORGANIZATIONAL && length >= 6 && value.readUIntBE(0, 3) === IEEE_8021_OUI && value[3] === PORT_VLAN_ID) {
      vlan = value.readUInt16BE(4)
    }
  }
  return { ok: false, error: `more than ${MAX_TLVS} TLVs` }
}

