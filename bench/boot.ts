// bench:boot — our embedded DHCP, TFTP and DNS side by side with their Debian peers (dnsmasq,
// tftpd-hpa), in network namespaces this bench creates: one server at a time, the same clients over
// two identical veth links, in one run. Writes bench/results/boot-services.json. Needs root.
// BENCH_ONLY=dhcp,tftp,dns picks sections and BENCH_DHCP_RATE the offered rate (such runs print only).
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { loadavg, tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { startApp } from '../src-main/app'
import { createNetwork } from '../src-main/barclamps/network/networks'
import { createRootLogger } from '../src-main/base/log'
import { createBenchTopology, run } from './boot-topology'
import { cleanUp, cleanups, DEADLINE_MS, DHCP_CLIENTS, DHCP_RATE, DHCP_SECONDS, DNS_HOSTS, DNS_SECONDS, GOALS, HERE, log, median, onExitSignal, RECORDER_DHCP_REPEATS, REPEATS, requireTools, RESULTS, round, run_state, SECTIONS, TFTP_BLKSIZE, TFTP_BYTES, TFTP_WINDOW, versions } from './boot-harness'
import { benchRecorder } from './boot-recorder-section'
import { benchDhcp, benchDns, benchTftp, DNSMASQ_DHCP_FLAGS, DNSMASQ_DNS_FLAGS, TFTP_CLIENTS, type TftpClient } from './boot-sections'

// ---------------------------------------------------------------- main

async function main(): Promise<void> {
  await requireTools()
  const started = performance.now()
  const load = loadavg()
  const tools = await versions()
  // What is measured (the code loaded now): the last commit that touched the services or the store, and whether the tree differs from it.
  const git = (args: string[]): Promise<string> => run('git', ['-C', dirname(HERE), ...args], 5_000).then((r) => r.stdout.trim())
  const measured = {
    services_commit: await git(['log', '-1', '--format=%h', '--', 'src-main/services', 'src-main/store']),
    services_uncommitted_changes: (await git(['status', '--porcelain', 'src-main/services', 'src-main/store'])) !== ''
  }
  const work = await mkdtemp(join(tmpdir(), 'crowbar-bench-boot-'))
  cleanups.push(() => rm(work, { recursive: true, force: true }))
  const t = await createBenchTopology()
  cleanups.push(() => t.stop())
  log(`namespaces ${t.clientNs} (clients), ${t.peerNs} (peers); ours on ${t.ours.serverIf} ${t.ours.serverAddress}, peers on ${t.peer.serverAddress}`)
  log(`load average before: ${load.map((x) => x.toFixed(2)).join(' ')} (2 cores shared by servers and clients)`)

  const dataDir = join(work, 'data')
  await mkdir(dataDir)
  const app = await startApp({ dataDir, logger: createRootLogger('silent'), anneal: false, bootstrap: false })
  cleanups.push(() => app.stop())
  const network = await createNetwork(app.ctx, {
    name: 'admin',
    category: 'admin',
    vlan: 0,
    bond: null,
    v4_subnet: t.ours.subnet,
    v6prefix: null,
    ranges: [{ name: 'dhcp', first: `${t.ours.prefix}10`, last: `${t.ours.prefix}250` }],
    routers: [{ address: t.ours.serverAddress, pref: 10 }]
  })

  const result: Record<string, unknown> = {}
  const summary: string[] = []
  const goal = (name: keyof typeof GOALS, ratio: number): string => `${ratio.toFixed(2)}x (goal >= ${GOALS[name]}x: ${ratio >= GOALS[name] ? 'met' : 'NOT met'})`

  if (SECTIONS.has('dhcp')) {
    log(`DHCP: perfdhcp -r ${DHCP_RATE} -p ${DHCP_SECONDS} -R ${DHCP_CLIENTS}, ${REPEATS} rounds each`)
    const d = await benchDhcp(t, app, network.id, work)
    const ours = median(d.ours.map((r) => r.perSecond))
    const peer = median(d.peer.map((r) => r.perSecond))
    Object.assign(result, {
      dhcp_dora_per_s: round(ours, 0),
      dnsmasq_dora_per_s: round(peer, 0),
      dhcp_ratio: round(ours / peer),
      dhcp_runs: d.ours.map((r) => round(r.perSecond, 0)),
      dnsmasq_dhcp_runs: d.peer.map((r) => round(r.perSecond, 0)),
      dhcp_leases_persisted: d.persisted,
      dhcp_offered_per_s: DHCP_RATE,
      dhcp_backlog_after_client_stopped: d.drains,
      dnsmasq_dhcp_flags: DNSMASQ_DHCP_FLAGS.join(' ')
    })
    summary.push(
      `DHCP  ours ${ours.toFixed(0)} DORA/s (leases persisted to SQLite: ${d.persisted} rows), dnsmasq ${peer.toFixed(0)} DORA/s: ${goal('dhcp', ours / peer)}`,
      `      dnsmasq flags: ${DNSMASQ_DHCP_FLAGS.join(' ')}; perfdhcp -4 -l IFACE -r ${DHCP_RATE} -p ${DHCP_SECONDS} -R ${DHCP_CLIENTS}`
    )
  }

  if (SECTIONS.has('tftp')) {
    log(`TFTP: ${TFTP_BYTES / 1e6} MB (10^6 bytes), blksize ${TFTP_BLKSIZE}; clients atftp (windowsize ${TFTP_WINDOW}), curl (none), tftp npm package (windowsize ${TFTP_WINDOW}); ${REPEATS} rounds each`)
    const f = await benchTftp(t, work, app)
    const med = (client: TftpClient, side: 'ours' | 'peer'): number => median(f.runs[client][side].map((r) => r.mbPerSecond))
    const ours = med('atftp', 'ours')
    // The peer at its best: the faster of its medians with a C client (it declines windowsize, so both are lock-step).
    const peerBy = { atftp: med('atftp', 'peer'), curl: med('curl', 'peer') }
    const peerClient: TftpClient = peerBy.curl > peerBy.atftp ? 'curl' : 'atftp'
    const peer = peerBy[peerClient]
    const oursWindow = f.runs.atftp.ours[0]?.windowSize ?? 1
    const peerWindow = f.runs.atftp.peer[0]?.windowSize ?? 1
    Object.assign(result, {
      tftp_mb_per_s: round(ours),
      tftpd_hpa_mb_per_s: round(peer),
      tftp_ratio: round(ours / peer),
      tftp_mb_per_s_client: `${TFTP_CLIENTS.atftp} (negotiated windowsize ${oursWindow})`,
      tftpd_hpa_mb_per_s_client: `${TFTP_CLIENTS[peerClient]}: the faster of atftp and curl against it (it negotiated windowsize ${peerWindow})`,
      tftp_atftp_ratio: round(ours / peerBy.atftp),
      tftp_curl_mb_per_s: round(med('curl', 'ours')),
      tftpd_hpa_curl_mb_per_s: round(peerBy.curl),
      tftp_curl_ratio: round(med('curl', 'ours') / peerBy.curl),
      tftp_js_client_mb_per_s: round(med('tftp-js', 'ours')),
      tftpd_hpa_js_client_mb_per_s: round(med('tftp-js', 'peer')),
      tftp_js_client_ratio: round(med('tftp-js', 'ours') / med('tftp-js', 'peer')),
      tftp_runs: Object.fromEntries(
        (Object.keys(TFTP_CLIENTS) as TftpClient[]).map((c) => [c, { ours: f.runs[c].ours.map((r) => round(r.mbPerSecond)), tftpd_hpa: f.runs[c].peer.map((r) => round(r.mbPerSecond)) }])
      ),
      tftpd_hpa_flags: f.hpaFlags
    })
    const line = (c: TftpClient): string =>
      `      ${c.padEnd(7)} ours ${med(c, 'ours').toFixed(1).padStart(6)}  tftpd-hpa ${med(c, 'peer').toFixed(1).padStart(6)} MB/s = ${(med(c, 'ours') / med(c, 'peer')).toFixed(2)}x   (${TFTP_CLIENTS[c]})`
    summary.push(
      `TFTP  ours ${ours.toFixed(1)} MB/s (atftp, windowsize ${oursWindow}) vs tftpd-hpa ${peer.toFixed(1)} MB/s (${peerClient}, its best): ${goal('tftp', ours / peer)}`,
      line('atftp'),
      line('curl'),
      line('tftp-js'),
      `      tftpd-hpa: in.tftpd ${f.hpaFlags}`
    )
  }

  if (SECTIONS.has('recorder')) {
    log(`recorder: our DHCP (perfdhcp as above) and TFTP (atftp) with the boot flight recorder off and on, ${RECORDER_DHCP_REPEATS} and ${REPEATS} rounds each`)
    const r = await benchRecorder(t, app, network.id, work)
    const dhcpOff = median(r.dhcp.off.map((x) => x.perSecond))
    const dhcpOn = median(r.dhcp.on.map((x) => x.perSecond))
    const tftpOff = median(r.tftp.off.map((x) => x.mbPerSecond))
    const tftpOn = median(r.tftp.on.map((x) => x.mbPerSecond))
    Object.assign(result, {
      recorder_dhcp_off_dora_per_s: round(dhcpOff, 0),
      recorder_dhcp_on_dora_per_s: round(dhcpOn, 0),
      recorder_dhcp_ratio: round(dhcpOn / dhcpOff),
      recorder_dhcp_runs: { off: r.dhcp.off.map((x) => round(x.perSecond, 0)), on: r.dhcp.on.map((x) => round(x.perSecond, 0)) },
      recorder_tftp_off_mb_per_s: round(tftpOff),
      recorder_tftp_on_mb_per_s: round(tftpOn),
      recorder_tftp_ratio: round(tftpOn / tftpOff),
      recorder_tftp_runs: { off: r.tftp.off.map((x) => round(x.mbPerSecond)), on: r.tftp.on.map((x) => round(x.mbPerSecond)) },
      recorder_events_written: r.recorded.events,
      recorder_packet_rows_written: r.recorded.packetRows
    })
    summary.push(
      `REC   DHCP recorder on ${dhcpOn.toFixed(0)} vs off ${dhcpOff.toFixed(0)} DORA/s: ${goal('recorder', dhcpOn / dhcpOff)}`,
      `      TFTP recorder on ${tftpOn.toFixed(1)} vs off ${tftpOff.toFixed(1)} MB/s (atftp): ${goal('recorder', tftpOn / tftpOff)}; ${r.recorded.events} events, ${r.recorded.packetRows} packet batches written`
    )
  }

  if (SECTIONS.has('dns')) {
    log(`DNS: dnsperf -l ${DNS_SECONDS}, ${DNS_HOSTS} A names known to both, ${REPEATS} rounds each`)
    const n = await benchDns(t, work)
    const ours = median(n.ours.map((r) => r.qps))
    const peer = median(n.peer.map((r) => r.qps))
    Object.assign(result, {
      dns_qps: round(ours, 0),
      dnsmasq_qps: round(peer, 0),
      dns_ratio: round(ours / peer),
      dns_runs: n.ours.map((r) => round(r.qps, 0)),
      dnsmasq_dns_runs: n.peer.map((r) => round(r.qps, 0)),
      dns_lost: n.ours.map((r) => r.lost),
      dnsmasq_dns_flags: DNSMASQ_DNS_FLAGS.join(' ')
    })
    summary.push(
      `DNS   ours ${ours.toFixed(0)} q/s, dnsmasq ${peer.toFixed(0)} q/s: ${goal('dns', ours / peer)}`,
      `      dnsmasq flags: ${DNSMASQ_DNS_FLAGS.join(' ')} --addn-hosts=FILE --listen-address=ADDR; dnsperf -s ADDR -d FILE -l ${DNS_SECONDS}`
    )
  }

  Object.assign(result, {
    repeats: REPEATS,
    statistic: 'median',
    seconds: round((performance.now() - started) / 1000, 1),
    load_average_before: load.map((x) => round(x)),
    load_average_after: loadavg().map((x) => round(x)),
    ...measured,
    tools
  })
  process.stdout.write(`\nbench:boot (median of ${REPEATS}, one server at a time, clients in ${t.clientNs})\n${summary.join('\n')}\n`)
  const full = ['dhcp', 'tftp', 'dns'].every((s) => SECTIONS.has(s)) && process.env.BENCH_DHCP_RATE === undefined
  if (full) {
    await mkdir(dirname(RESULTS), { recursive: true })
    await writeFile(RESULTS, `${JSON.stringify(result, null, 2)}\n`)
    process.stdout.write(`wrote ${RESULTS}\n`)
  } else {
    process.stdout.write(`(a partial or re-rated run (BENCH_ONLY, BENCH_DHCP_RATE): ${RESULTS} not written)\n${JSON.stringify(result)}\n`)
  }
}

process.once('SIGINT', onExitSignal)
process.once('SIGTERM', onExitSignal)
const deadline = setTimeout(() => {
  run_state.interrupted = true
  log(`bench:boot passed its ${DEADLINE_MS / 60_000} minute limit: stopping`)
  void cleanUp().finally(() => process.exit(1))
}, DEADLINE_MS)

void main()
  .then(
    () => 0,
    (err: unknown) => {
      // After a signal, failures are the cleanup pulling servers from under the runs.
      if (!run_state.interrupted) log(`bench:boot failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`)
      return 1
    }
  )
  .then(async (code) => {
    await cleanUp()
    clearTimeout(deadline)
    process.exit(code)
  })
