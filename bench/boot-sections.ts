// bench:boot's three sections: DHCP (perfdhcp against dnsmasq), TFTP (atftp, curl and the tftp
// package's client against tftpd-hpa) and DNS (dnsperf against dnsmasq), each alternating ours and the peer's.
import { createHash, randomBytes } from 'node:crypto'
import { chmod, mkdir, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { type CrowbarApp } from '../src-main/app'
import { createRootLogger } from '../src-main/base/log'
import { storeBackedLeases } from '../src-main/barclamps/dhcp-database/dhcp-backend'
import { BootRecorder } from '../src-main/barclamps/provisioner/boot-recorder'
import type { DhcpConfig } from '../src-main/services/dhcp/dhcp-policy'
import { DhcpServer } from '../src-main/services/dhcp/dhcp-server'
import type { DnsZone } from '../src-main/services/dns/dns-zone'
import { DnsServer } from '../src-main/services/dns/dns-server'
import { TftpServer } from '../src-main/services/tftp/tftp-server'
import { run, type BenchLink, type BenchTopology, type CommandResult } from './boot-topology'
import { alternate, DHCP_CLIENTS, DHCP_RATE, DHCP_SECONDS, DNS_DOMAIN, DNS_HOSTS, DNS_SECONDS, HERE, log, REPEATS, sleep, TFTP_BLKSIZE, TFTP_BYTES, TFTP_FILE, TFTP_WINDOW, withOurs, withPeer } from './boot-harness'

/** BENCH_RECORDER=on measures with the boot flight recorder hearing the servers' events. */
const RECORDER = process.env.BENCH_RECORDER === 'on'
/** The server side's Ethernet address in the recorder's frames (the bench does not read sysfs). */
const BENCH_SERVER_MAC = '02:00:00:00:00:01'
/** BENCH_PCAP=off: the recorder hears the events only, not the packets (to tell their costs apart). */
const PCAP = process.env.BENCH_PCAP !== 'off'

// ---------------------------------------------------------------- DHCP

export interface DoraRun {
  readonly perSecond: number
  readonly discovers: number
  readonly offers: number
  readonly requests: number
  readonly acks: number
  readonly rejected: number
}

export function parsePerfdhcp(r: CommandResult, who: string): DoraRun {
  const text = r.stdout
  const rate = text.match(/Rate:\s*([\d.]+)\s+4-way exchanges\/second/)
  const section = (name: string): { sent: number; received: number; rejected: number } => {
    const body = text.split(`***Statistics for: ${name}***`)[1] ?? ''
    const n = (label: string): number => Number(body.match(new RegExp(`${label}:\\s*(\\d+)`))?.[1] ?? NaN)
    return { sent: n('sent packets'), received: n('received packets'), rejected: n('rejected leases') }
  }
  const dO = section('DISCOVER-OFFER')
  const rA = section('REQUEST-ACK')
  if (!rate || Number.isNaN(rA.received)) {
    throw new Error(`perfdhcp against ${who} gave no rate (exit ${r.code}):\n${(r.stdout + r.stderr).slice(-1_500)}`)
  }
  return { perSecond: Number(rate[1]), discovers: dO.sent, offers: dO.received, requests: rA.sent, acks: rA.received, rejected: dO.rejected + rA.rejected }
}

export function perfdhcp(t: BenchTopology, link: BenchLink, who: string): Promise<DoraRun> {
  const args = ['-4', '-l', link.clientIf, '-r', String(DHCP_RATE), '-p', String(DHCP_SECONDS), '-R', String(DHCP_CLIENTS)]
  return t.exec(t.clientNs, 'perfdhcp', args, (DHCP_SECONDS + 20) * 1000).then((r) => parsePerfdhcp(r, who))
}

export const DNSMASQ_DHCP_FLAGS = ['--no-daemon', '--conf-file=/dev/null', '--port=0', '--bind-interfaces', '--no-ping', '--quiet-dhcp', '--log-facility=-']

/** Our DHCP server's configuration on the bench's link. */
export function benchDhcpConfig(o: BenchLink): DhcpConfig {
  return {
    serverAddress: o.serverAddress,
    subnetMask: '255.255.255.0',
    router: o.serverAddress,
    dnsServers: [o.serverAddress],
    domain: DNS_DOMAIN,
    leaseSeconds: 3600,
    bootFiles: { bios: 'undionly.kpxe', uefi: 'ipxe.efi', uefiLocal: null },
    ipxeScriptUrl: (mac) => `http://${o.serverAddress}:8702/boot/${mac}.ipxe`,
    proxy: false
  }
}

export async function benchDhcp(t: BenchTopology, app: CrowbarApp, networkId: number, work: string) {
  const o = t.ours
  const config = benchDhcpConfig(o)
  const logger = createRootLogger('silent')
  // BENCH_RECORDER=on: the boot flight recorder hears every packet, as in the app.
  const recorder = RECORDER ? new BootRecorder({ ctx: app.ctx, logger }) : undefined
  let persisted = 0
  const drains: Array<{ seconds: number; requests: number }> = []
  const ours = async (round: number): Promise<DoraRun> => {
    // A fresh lease table and offer memory each round, as dnsmasq gets a fresh lease file.
    await app.ctx.db.deleteFrom('dhcp_leases').execute()
    const leases = storeBackedLeases(app.ctx, app.hooks, { networkId, first: `${o.prefix}10`, last: `${o.prefix}250`, leaseSeconds: config.leaseSeconds }).leases
    const server = new DhcpServer({ interface: o.serverIf, config, leases, logger, probeMs: 0, ...(recorder ? { onPacket: recorder.dhcpSink, ...(PCAP ? { onCapture: recorder.packets.sinks(BENCH_SERVER_MAC).dhcp } : {}) } : {}) })
    let handledAtEnd = 0
    const result = await withOurs(server, async () => {
      const r = await perfdhcp(t, o, 'our DHCP')
      handledAtEnd = server.requestsHandled
      return r
    })
    // Requests already read keep being answered after the socket closes: wait until that backlog
    // is done, so it does not steal the CPU from the next measurement (dnsmasq's, or TFTP's).
    const drain = await quiesce(() => server.requestsHandled)
    drains.push({ seconds: Math.round(drain * 10) / 10, requests: server.requestsHandled - handledAtEnd })
    const rows = await app.ctx.db.selectFrom('dhcp_leases').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()
    persisted = Number(rows.n)
    log(
      `  dhcp round ${round + 1}: ours    ${result.perSecond.toFixed(0)} DORA/s (acks ${result.acks}, offers ${result.offers}/${result.discovers}); ` +
        `${persisted} leases in the store; ${server.requestsHandled - handledAtEnd} requests still answered in the ${drain.toFixed(1)} s after the client stopped`
    )
    return result
  }
  const peer = async (round: number): Promise<DoraRun> => {
    const p = t.peer
    const args = [
      'dnsmasq',
      ...DNSMASQ_DHCP_FLAGS,
      `--interface=${p.serverIf}`,
      `--dhcp-range=${p.prefix}10,${p.prefix}250,255.255.255.0,1h`,
      `--dhcp-leasefile=${join(work, `dnsmasq-${round}.leases`)}`,
      `--pid-file=${join(work, `dnsmasq-dhcp-${round}.pid`)}`
    ] as const
    const result = await withPeer(t, 67, 'dnsmasq (DHCP)', args, () => perfdhcp(t, p, 'dnsmasq'))
    log(`  dhcp round ${round + 1}: dnsmasq ${result.perSecond.toFixed(0)} DORA/s (acks ${result.acks}, offers ${result.offers}/${result.discovers})`)
    return result
  }
  const runs = await alternate(REPEATS, ours, peer)
  return { ...runs, persisted, drains }
}

/**
 * Seconds until this process is quiet: `progress` unchanged and the event loop under 10% busy over
 * a 250 ms step, twice in a row. Bounded by 60 s.
 */
export async function quiesce(progress: () => number): Promise<number> {
  const start = performance.now()
  let last = progress()
  let elu = performance.eventLoopUtilization()
  let calm = 0
  while (calm < 2 && performance.now() - start < 60_000) {
    await sleep(250)
    const now = progress()
    const step = performance.eventLoopUtilization(elu)
    elu = performance.eventLoopUtilization()
    calm = now === last && step.utilization < 0.1 ? calm + 1 : 0
    last = now
  }
  return (performance.now() - start) / 1000
}

// ---------------------------------------------------------------- TFTP

export interface TftpRun {
  readonly mbPerSecond: number
  readonly seconds: number
  /** As negotiated (1 when the server declined the option or the client did not ask). */
  readonly windowSize: number
}

export type TftpClient = 'atftp' | 'curl' | 'tftp-js'
export const TFTP_CLIENTS: Record<TftpClient, string> = {
  atftp: `atftp --option "blksize ${TFTP_BLKSIZE}" --option "windowsize ${TFTP_WINDOW}"`,
  curl: `curl --tftp-blksize ${TFTP_BLKSIZE} (no windowsize)`,
  'tftp-js': `tftp npm package client, blksize ${TFTP_BLKSIZE}, windowsize ${TFTP_WINDOW}`
}

/** curl: lock-step (curl has no windowsize); its own transfer time. */
export async function curlGet(t: BenchTopology, address: string, out: string): Promise<TftpRun> {
  const r = await t.exec(
    t.clientNs,
    'curl',
    ['-sS', '--max-time', '90', '--tftp-blksize', String(TFTP_BLKSIZE), '-o', out, '-w', '%{size_download} %{time_total}', `tftp://${address}/${TFTP_FILE}`],
    100_000
  )
  const [size, total] = r.stdout.trim().split(' ').map(Number)
  if (r.code !== 0 || size !== TFTP_BYTES || !total) throw new Error(`curl tftp://${address}/${TFTP_FILE} failed (exit ${r.code}, ${size} bytes): ${r.stderr.trim()}`)
  return { mbPerSecond: TFTP_BYTES / 1e6 / total, seconds: total, windowSize: 1 }
}

/** A small file fetched with atftp --trace, to read what the server put in its OACK. */
export const TFTP_PROBE_FILE = 'probe.bin'

/**
 * atftp (a C client with RFC 7440 windowsize); wall time of the process, a few ms of start-up
 * included. atftp prints the options it asks for, not the ones granted: `windowSize` is filled in
 * from a traced probe (atftpNegotiated).
 */
export async function atftpGet(t: BenchTopology, address: string, out: string, file = TFTP_FILE, trace = false): Promise<TftpRun & { text: string }> {
  const args = ['--option', `blksize ${TFTP_BLKSIZE}`, '--option', `windowsize ${TFTP_WINDOW}`, ...(trace ? ['--trace'] : []), '-g', '-r', file, '-l', out, address, '69']
  const r = await t.exec(t.clientNs, 'atftp', args, 100_000)
  const text = `${r.stdout}\n${r.stderr}`
  if (r.code !== 0 || /\b(error|aborting)\b|timeout:/i.test(text)) throw new Error(`atftp from ${address} failed (exit ${r.code}): ${text.trim().slice(-500)}`)
  return { mbPerSecond: TFTP_BYTES / 1e6 / (r.ms / 1000), seconds: r.ms / 1000, windowSize: 0, text }
}

/** The windowsize a server grants atftp's request (1 when its OACK leaves the option out). */
export async function atftpNegotiated(t: BenchTopology, address: string): Promise<number> {
  const { text } = await atftpGet(t, address, '/dev/null', TFTP_PROBE_FILE, true)
  const oack = text.match(/received OACK <([^>]*)>/)?.[1]
  if (oack === undefined) throw new Error(`atftp got no OACK from ${address}: ${text.slice(0, 500)}`)
  return Number(oack.match(/windowsize: (\d+)/)?.[1] ?? 1)
}

/** The `tftp` package's client, in the client namespace; it times itself. */
export async function tftpJsGet(t: BenchTopology, address: string, verify: boolean): Promise<TftpRun & { sha256: string | null }> {
  const args = ['--import', import.meta.resolve('tsx'), join(HERE, 'boot-tftp-get.ts'), address, '69', TFTP_FILE, String(TFTP_BLKSIZE), String(TFTP_WINDOW)]
  if (verify) args.push('--sha256')
  const r = await t.exec(t.clientNs, process.execPath, args, 130_000)
  const line = r.stdout.trim().split('\n').pop() ?? ''
  let parsed: { bytes: number; ms: number; windowSize: number | null; sha256: string | null } | undefined
  try {
    parsed = JSON.parse(line) as typeof parsed
  } catch {
    parsed = undefined
  }
  if (r.code !== 0 || !parsed || parsed.bytes !== TFTP_BYTES) {
    throw new Error(`tftp package client from ${address} failed (exit ${r.code}): ${r.stderr.trim().slice(-500)}`)
  }
  return { mbPerSecond: TFTP_BYTES / 1e6 / (parsed.ms / 1000), seconds: parsed.ms / 1000, windowSize: parsed.windowSize ?? 1, sha256: parsed.sha256 }
}

export function tftpGet(t: BenchTopology, client: TftpClient, address: string, atftpWindow: number): Promise<TftpRun> {
  switch (client) {
    case 'atftp':
      return atftpGet(t, address, '/dev/null').then((r) => ({ mbPerSecond: r.mbPerSecond, seconds: r.seconds, windowSize: atftpWindow }))
    case 'curl':
      return curlGet(t, address, '/dev/null')
    case 'tftp-js':
      return tftpJsGet(t, address, false)
  }
}

export async function benchTftp(t: BenchTopology, work: string, app?: CrowbarApp) {
  const root = join(work, 'tftp-root')
  await mkdir(root)
  // tftpd-hpa drops to user tftp: the root and file must be readable by others.
  await chmod(work, 0o755)
  await chmod(root, 0o755)
  const data = randomBytes(TFTP_BYTES)
  const sha = createHash('sha256').update(data).digest('hex')
  await writeFile(join(root, TFTP_FILE), data, { mode: 0o644 })
  await writeFile(join(root, TFTP_PROBE_FILE), data.subarray(0, 64 * 1024), { mode: 0o644 })
  const fetched = join(work, 'fetched.bin')
  const fileSha = async (file: string): Promise<string> => (await run('sha256sum', [file], 30_000)).stdout.split(' ')[0] ?? ''
  const check = async (what: string, digest: Promise<string | null>): Promise<void> => {
    if ((await digest) !== sha) throw new Error(`${what}: the fetched file differs from the served one`)
  }

  const recorder = RECORDER && app ? new BootRecorder({ ctx: app.ctx, logger: createRootLogger('silent') }) : undefined
  const ours = new TftpServer({ root, address: t.ours.serverAddress, port: 69, ...(recorder ? { onEvent: recorder.tftp, ...(PCAP ? { onCapture: recorder.packets.sinks(BENCH_SERVER_MAC).tftp } : {}) } : {}) })
  const hpaArgs = ['in.tftpd', '-L', '-a', `${t.peer.serverAddress}:69`, '-s', root] as const
  return withOurs(ours, () =>
    withPeer(t, 69, 'tftpd-hpa', hpaArgs, async () => {
      // Untimed: every client gets the same bytes from both servers (and both servers are warm).
      for (const [name, address] of [
        ['ours', t.ours.serverAddress],
        ['tftpd-hpa', t.peer.serverAddress]
      ] as const) {
        await curlGet(t, address, fetched)
        await check(`curl from ${name}`, fileSha(fetched))
        await rm(fetched, { force: true })
        await atftpGet(t, address, fetched)
        await check(`atftp from ${name}`, fileSha(fetched))
        await rm(fetched, { force: true })
        await check(`tftp package client from ${name}`, tftpJsGet(t, address, true).then((r) => r.sha256))
      }
      const granted = { ours: await atftpNegotiated(t, t.ours.serverAddress), peer: await atftpNegotiated(t, t.peer.serverAddress) }
      const runs = {} as Record<TftpClient, { ours: TftpRun[]; peer: TftpRun[] }>
      for (const client of Object.keys(TFTP_CLIENTS) as TftpClient[]) {
        const one = (who: 'ours' | 'tftpd-hpa', address: string) => async (i: number) => {
          const r = await tftpGet(t, client, address, who === 'ours' ? granted.ours : granted.peer)
          log(`  tftp round ${i + 1}: ${client.padEnd(7)} -> ${who.padEnd(9)} ${r.mbPerSecond.toFixed(1)} MB/s (windowsize ${r.windowSize})`)
          return r
        }
        runs[client] = await alternate(REPEATS, one('ours', t.ours.serverAddress), one('tftpd-hpa', t.peer.serverAddress))
      }
      return { runs, hpaFlags: hpaArgs.slice(1).join(' ') }
    })
  )
}

// ---------------------------------------------------------------- DNS

export interface DnsRun {
  readonly qps: number
  readonly sent: number
  readonly completed: number
  readonly lost: number
  readonly noerror: number
}

export function parseDnsperf(r: CommandResult, who: string): DnsRun {
  const n = (re: RegExp): number => Number(r.stdout.match(re)?.[1] ?? NaN)
  const run = {
    qps: n(/Queries per second:\s*([\d.]+)/),
    sent: n(/Queries sent:\s*(\d+)/),
    completed: n(/Queries completed:\s*(\d+)/),
    lost: n(/Queries lost:\s*(\d+)/),
    noerror: n(/NOERROR (\d+)/)
  }
  if (Number.isNaN(run.qps)) throw new Error(`dnsperf against ${who} gave no rate (exit ${r.code}):\n${(r.stdout + r.stderr).slice(-1_500)}`)
  if (run.noerror !== run.completed) throw new Error(`dnsperf against ${who}: ${run.completed - run.noerror} answers were not NOERROR; the two servers' data differ`)
  return run
}

export function dnsperf(t: BenchTopology, address: string, queries: string, who: string): Promise<DnsRun> {
  return t.exec(t.clientNs, 'dnsperf', ['-s', address, '-d', queries, '-l', String(DNS_SECONDS)], (DNS_SECONDS + 20) * 1000).then((r) => parseDnsperf(r, who))
}

export const DNSMASQ_DNS_FLAGS = ['--no-daemon', '--conf-file=/dev/null', '--no-resolv', '--no-hosts', `--local=/${DNS_DOMAIN}/`, '--bind-interfaces', '--port=53', '--log-facility=-']

export async function benchDns(t: BenchTopology, work: string) {
  const hosts = Array.from({ length: DNS_HOSTS }, (_, i) => ({ fqdn: `h${i + 1}.${DNS_DOMAIN}`, addresses: [`198.18.${Math.floor(i / 250)}.${(i % 250) + 1}`] }))
  const hostsFile = join(work, 'dns-hosts')
  const queries = join(work, 'dns-queries')
  await writeFile(hostsFile, hosts.map((h) => `${h.addresses[0]} ${h.fqdn}\n`).join(''), { mode: 0o644 })
  await writeFile(queries, hosts.map((h) => `${h.fqdn} A\n`).join(''), { mode: 0o644 })
  const zone: DnsZone = { domain: DNS_DOMAIN, ttl: 300, hosts, nameserver: { fqdn: `ns.${DNS_DOMAIN}`, addresses: [t.ours.serverAddress] } }
  const peerArgs = ['dnsmasq', ...DNSMASQ_DNS_FLAGS, `--addn-hosts=${hostsFile}`, `--listen-address=${t.peer.serverAddress}`, `--pid-file=${join(work, 'dnsmasq-dns.pid')}`] as const
  return alternate(
    REPEATS,
    async (i) => {
      const server = new DnsServer({ address: t.ours.serverAddress, port: 53, zone: () => zone })
      const r = await withOurs(server, () => dnsperf(t, t.ours.serverAddress, queries, 'our DNS'))
      log(`  dns round ${i + 1}: ours    ${r.qps.toFixed(0)} q/s (lost ${r.lost} of ${r.sent})`)
      return r
    },
    async (i) => {
      const r = await withPeer(t, 53, 'dnsmasq (DNS)', peerArgs, () => dnsperf(t, t.peer.serverAddress, queries, 'dnsmasq'))
      log(`  dns round ${i + 1}: dnsmasq ${r.qps.toFixed(0)} q/s (lost ${r.lost} of ${r.sent})`)
      return r
    }
  )
}
