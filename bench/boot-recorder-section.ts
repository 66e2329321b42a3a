// bench:boot's recorder section: our DHCP and TFTP with the boot flight recorder off and on (its
// events and its packet capture, as in the app), alternating in one run, so its cost is a ratio of
// two medians measured side by side. BENCH_ONLY=recorder runs it alone.
import { mkdir, writeFile } from 'node:fs/promises'
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import type { CrowbarApp } from '../src-main/app'
import { createRootLogger } from '../src-main/base/log'
import { storeBackedLeases } from '../src-main/barclamps/dhcp-database/dhcp-backend'
import { BootRecorder } from '../src-main/barclamps/provisioner/boot-recorder'
import { DhcpServer } from '../src-main/services/dhcp/dhcp-server'
import { TftpServer } from '../src-main/services/tftp/tftp-server'
import { openWriterConnection } from '../src-main/store/store'
import type { BenchTopology } from './boot-topology'
import { alternate, log, RECORDER_DHCP_REPEATS, REPEATS, TFTP_BYTES, TFTP_FILE, withOurs } from './boot-harness'
import { atftpGet, benchDhcpConfig, perfdhcp, quiesce, type DoraRun, type TftpRun } from './boot-sections'

const SERVER_MAC = '02:00:00:00:00:01'
/** BENCH_RECORDER_PARTS=events|packets measures one half of the recorder (to tell their costs apart). */
const PARTS = process.env.BENCH_RECORDER_PARTS ?? 'both'
const EVENTS = PARTS !== 'packets'
const PACKETS = PARTS !== 'events'

export interface RecorderRuns {
  readonly dhcp: { readonly off: DoraRun[]; readonly on: DoraRun[] }
  readonly tftp: { readonly off: TftpRun[]; readonly on: TftpRun[] }
  /** Events and packet batches the recorder wrote while on (it must have heard the traffic). */
  readonly recorded: { readonly events: number; readonly packetRows: number }
}

export async function benchRecorder(t: BenchTopology, app: CrowbarApp, networkId: number, work: string): Promise<RecorderRuns> {
  const o = t.ours
  const logger = createRootLogger('silent')
  const config = benchDhcpConfig(o)
  // As in the app: the recorder writes on a connection of its own.
  const writer = await openWriterConnection(app.store)
  const recorderFor = (on: boolean): BootRecorder | undefined => (on ? new BootRecorder({ ctx: app.ctx, logger, writeDb: writer.db }) : undefined)

  const dhcpRound = (on: boolean) => async (round: number): Promise<DoraRun> => {
    await app.ctx.db.deleteFrom('dhcp_leases').execute()
    const leases = storeBackedLeases(app.ctx, app.hooks, { networkId, first: `${o.prefix}10`, last: `${o.prefix}250`, leaseSeconds: config.leaseSeconds }).leases
    const recorder = recorderFor(on)
    const sinks = recorder ? { ...(EVENTS ? { onPacket: recorder.dhcpSink } : {}), ...(PACKETS ? { onCapture: recorder.packets.sinks(SERVER_MAC).dhcp } : {}) } : {}
    const server = new DhcpServer({ interface: o.serverIf, config, leases, logger, probeMs: 0, ...sinks })
    const r = await withOurs(server, () => perfdhcp(t, o, `our DHCP (recorder ${on ? 'on' : 'off'})`))
    await quiesce(() => server.requestsHandled)
    await recorder?.dispose()
    log(`  recorder dhcp round ${round + 1}: recorder ${on ? 'on ' : 'off'} ${r.perSecond.toFixed(0)} DORA/s (acks ${r.acks})`)
    return r
  }
  const dhcp = await alternate(RECORDER_DHCP_REPEATS, dhcpRound(false), dhcpRound(true))

  const root = join(work, 'recorder-tftp-root')
  await mkdir(root, { recursive: true })
  await writeFile(join(root, TFTP_FILE), randomBytes(TFTP_BYTES), { mode: 0o644 })
  const tftpRound = (on: boolean) => async (round: number): Promise<TftpRun> => {
    const recorder = recorderFor(on)
    const sinks = recorder ? { ...(EVENTS ? { onEvent: recorder.tftp } : {}), ...(PACKETS ? { onCapture: recorder.packets.sinks(SERVER_MAC).tftp } : {}) } : {}
    // The recorder maps a TFTP client's address to its MAC from our DHCP replies: as if it had one.
    recorder?.dhcp({ mac: '02:00:00:00:00:99', direction: 'out', message: 'ack', xid: 1, address: o.clientAddress })
    const server = new TftpServer({ root, address: o.serverAddress, port: 69, ...sinks })
    const r = await withOurs(server, () => atftpGet(t, o.serverAddress, '/dev/null'))
    await recorder?.dispose()
    log(`  recorder tftp round ${round + 1}: recorder ${on ? 'on ' : 'off'} ${r.mbPerSecond.toFixed(1)} MB/s`)
    return r
  }
  const tftp = process.env.BENCH_RECORDER_TFTP === 'off' ? { ours: [], peer: [] } : await alternate(REPEATS, tftpRound(false), tftpRound(true))

  await writer.close()
  const events = await app.ctx.db.selectFrom('boot_events').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()
  const packets = await app.ctx.db.selectFrom('boot_packets').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()
  return {
    dhcp: { off: dhcp.ours, on: dhcp.peer },
    tftp: { off: tftp.ours, on: tftp.peer },
    recorded: { events: Number(events.n), packetRows: Number(packets.n) }
  }
}
