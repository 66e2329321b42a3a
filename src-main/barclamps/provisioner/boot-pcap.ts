// One machine's boot packets as a pcap file (DESIGN.md §6.2): what the boot flight recorder kept
// of its DHCP, TFTP and HTTP-boot traffic, in capture order, for Wireshark or `tcpdump -r`.
import type { BootMachineQuery, BootPcap } from '../../model'
import { decodeRecords, writePcap, type PcapRecord } from '../../services/pcap/pcap-file'
import type { Queryable } from '../../store/database'
import { listBootPackets } from '../../store/boot-packets'

/**
 * The snaplen written: frames are kept whole up to it, except TFTP DATA, whose payloads the
 * recorder cuts to 512 bytes (those records say so: their incl_len is below orig_len).
 */
export const BOOT_PCAP_SNAPLEN = 65_535

/** Packets in one export at most: a MAC's cap for each of a node's MACs, say. */
const MAX_PACKETS = 64_000

export async function exportBootPcap(db: Queryable, query: BootMachineQuery): Promise<BootPcap> {
  const rows = await listBootPackets(db, { nodeId: query.node_id, mac: query.mac })
  const packets: PcapRecord[] = []
  // Newest rows first, so the cap keeps the latest packets.
  for (let i = rows.length - 1; i >= 0 && packets.length < MAX_PACKETS; i--) {
    const row = rows[i]
    if (row) for (const r of decodeRecords(row.records, MAX_PACKETS - packets.length)) packets.push(r)
  }
  // Rows of different MACs (and a TFTP transfer's late ring) interleave in time.
  packets.sort((a, b) => a.tMicros - b.tMicros)
  const pcap = writePcap(packets, BOOT_PCAP_SNAPLEN)
  const who = query.mac !== undefined ? query.mac.replaceAll(':', '-') : `node-${query.node_id ?? 'unknown'}`
  return { filename: `boot-${who}.pcap`, packets: packets.length, pcap_base64: pcap.toString('base64') }
}
