// bench:boot — our embedded DHCP, TFTP and DNS side by side with their Debian peers (dnsmasq,
// tftpd-hpa), in network namespaces this bench creates: one server at a time, the same clients over
// two identical veth links, in one run. Writes bench/results/boot-services.json. Needs root.
// BENCH_ONLY=dhcp,tftp,dns picks sections and BENCH_DHCP_RATE the offered rate (such runs print only).
import type { ChildProcess } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { loadavg, tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { fileURLToPath } from 'node:url'
import { startApp, type CrowbarApp } from '../src-main/app'
import { createNetwork } from '../src-main/barclamps/network/networks'
import { messageOf } from '../src-main/base/error-message'
import { createRootLogger } from '../src-main/base/log'
import { DhcpLeases } from '../src-main/services/dhcp/dhcp-leases'
import type { DhcpConfig } from '../src-main/services/dhcp/dhcp-policy'
import { DhcpServer } from '../src-main/services/dhcp/dhcp-server'
import type { DnsZone } from '../src-main/services/dns/dns-zone'
import { DnsServer } from '../src-main/services/dns/dns-server'
import { TftpServer } from '../src-main/services/tftp/tftp-server'
import { createBenchTopology, run, type BenchLink, type BenchTopology, type CommandResult } from './boot-topology'

const REPEATS = 3
/** Offered DORA/s (DESIGN 6.1: 16k); BENCH_DHCP_RATE overrides it, to find where a server tops out. */
const DHCP_RATE = Number(process.env.BENCH_DHCP_RATE ?? 16_000)
const DHCP_SECONDS = 10
const DHCP_CLIENTS = 100
const DNS_SECONDS = 10
const DNS_HOSTS = 1000
const DNS_DOMAIN = 'bench.test'
/** 50 MB, MB = 10^6 bytes throughout. */
const TFTP_BYTES = 50_000_000
const TFTP_FILE = 'bench-50MB.bin'
const TFTP_BLKSIZE = 1468
const TFTP_WINDOW = 8
/** The whole bench is killed (and cleaned up) past this. */
const DEADLINE_MS = 8 * 60_000
const GOALS = { dhcp: 1.2, tftp: 2, dns: 1 } as const

const HERE = dirname(fileURLToPath(import.meta.url))
const RESULTS = join(HERE, 'results', 'boot-services.json')
const SECTIONS = new Set((process.env.BENCH_ONLY ?? 'dhcp,tftp,dns').split(',').map((s) => s.trim()))

const log = (line: string): void => {
  process.stderr.write(`${line}\n`)
}
const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b)
  const m = Math.floor(s.length / 2)
  return s.length % 2 === 1 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2
}
const round = (x: number, digits = 2): number => Number(x.toFixed(digits))
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

/** What runs now and must be stopped on any exit: servers, the topology, temp dirs. */
const cleanups: Array<() => Promise<void>> = []
let cleaning: Promise<void> | undefined
function cleanUp(): Promise<void> {
  cleaning ??= (async () => {
    while (cleanups.length > 0) {
      const step = cleanups.pop()
      try {
        await step?.()
      } catch (err) {
        log(`cleanup step failed: ${messageOf(err)}`)
      }
    }
  })()
  return cleaning
}
/** Drops a cleanup that already ran (a signal's cleanup may have taken it first). */
function forget(step: () => Promise<void>): void {
  const i = cleanups.indexOf(step)
  if (i >= 0) cleanups.splice(i, 1)
}
let interrupted = false
function onExitSignal(signal: NodeJS.Signals): void {
  interrupted = true
  log(`\n${signal}: stopping every server and deleting the namespaces`)
  void cleanUp().finally(() => process.exit(130))
}

async function requireTools(): Promise<void> {
  const tools: Array<[string, string]> = [
    ['perfdhcp', 'kea-admin'],
    ['dnsperf', 'dnsperf'],
    ['in.tftpd', 'tftpd-hpa'],
    ['dnsmasq', 'dnsmasq-base'],
    ['curl', 'curl'],
    ['atftp', 'atftp'],
    ['ss', 'iproute2']
  ]
  const missing: string[] = []
  for (const [tool, pkg] of tools) {
    if ((await run('sh', ['-c', `command -v ${tool}`], 5_000)).code !== 0) missing.push(`${tool} (Debian package ${pkg})`)
  }
  if (missing.length > 0) throw new Error(`missing: ${missing.join(', ')}: apt-get install -y ${tools.map(([, p]) => p).join(' ')}`)
  if (process.getuid?.() !== 0) throw new Error('bench:boot creates network namespaces and binds ports 53/67/69: run it as root')
}

async function versions(): Promise<Record<string, string>> {
  const first = async (file: string, args: string[]): Promise<string> => {
    const r = await run(file, args, 5_000)
    return `${r.stdout}${r.stderr}`.split('\n').find((l) => l.trim() !== '')?.trim() ?? 'unknown'
  }
  return {
    dnsmasq: await first('dnsmasq', ['--version']),
    tftpd_hpa: await first('in.tftpd', ['-V']),
    perfdhcp: `perfdhcp ${await first('perfdhcp', ['-v'])}`,
    dnsperf: ((r) => `${r.stdout}${r.stderr}`)(await run('dnsperf', ['-h'], 5_000)).match(/Version [\d.]+/)?.[0] ?? 'unknown',
    curl: await first('curl', ['--version']),
    atftp: await first('atftp', ['-V']),
    node: process.version
  }
}

/** Waits (bounded) until something in `ns` listens on UDP `port`, or the process died. */
async function waitForUdpListener(t: BenchTopology, ns: string, port: number, child: ChildProcess, what: string): Promise<void> {
  for (let i = 0; i < 50; i++) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`${what} exited before listening`)
    const r = await t.exec(ns, 'ss', ['-Hlun', `sport = :${port}`], 5_000)
    if (r.stdout.trim() !== '') return
    await sleep(100)
  }
  throw new Error(`${what} did not listen on UDP ${port} within 5 s`)
}

/** Stops a peer by PID and waits (bounded) for it to go. */
async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  try {
    if (child.pid) process.kill(child.pid, 'SIGTERM')
  } catch {
    return
  }
  const timer = sleep(3_000).then(() => 'late' as const)
  if ((await Promise.race([gone.then(() => 'gone' as const), timer])) === 'late' && child.pid) {
    try {
      process.kill(child.pid, 'SIGKILL')
    } catch {
      // already gone
    }
    await Promise.race([gone, sleep(2_000)])
  }
}

/** Runs a peer for the length of `body`, stopped by PID afterwards (and on any exit). */
async function withPeer<T>(t: BenchTopology, port: number, what: string, args: readonly [string, ...string[]], body: () => Promise<T>): Promise<T> {
  let output = ''
  const child = t.spawn(t.peerNs, args[0], args.slice(1), (text) => {
    if (output.length < 20_000) output += text
  })
  const stop = (): Promise<void> => stopChild(child)
  cleanups.push(stop)
  try {
    await waitForUdpListener(t, t.peerNs, port, child, what)
    return await body()
  } catch (err) {
    log(`${what} output:\n${output.slice(-2_000)}`)
    throw err
  } finally {
    await stop()
    forget(stop)
  }
}

/** Runs one of our servers for the length of `body`. */
async function withOurs<T>(server: { start(): Promise<void>; stop(): Promise<void> }, body: () => Promise<T>): Promise<T> {
  const stop = (): Promise<void> => server.stop()
  cleanups.push(stop)
  await server.start()
  try {
    return await body()
  } finally {
    await stop()
    forget(stop)
  }
}

/** Ours and the peer, one after the other, the order swapped each round so drift hits both alike. */
async function alternate<T>(rounds: number, ours: (round: number) => Promise<T>, peer: (round: number) => Promise<T>): Promise<{ ours: T[]; peer: T[] }> {
  const out = { ours: [] as T[], peer: [] as T[] }
  for (let i = 0; i < rounds; i++) {
    if (i % 2 === 0) {
      out.ours.push(await ours(i))
      out.peer.push(await peer(i))
    } else {
      out.peer.push(await peer(i))
      out.ours.push(await ours(i))
    }
  }
  return out
}

// ---------------------------------------------------------------- DHCP

interface DoraRun {
  readonly perSecond: number
  readonly discovers: number
  readonly offers: number
  readonly requests: number
  readonly acks: number
  readonly rejected: number
}

function parsePerfdhcp(r: CommandResult, who: string): DoraRun {
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

function perfdhcp(t: BenchTopology, link: BenchLink, who: string): Promise<DoraRun> {
  const args = ['-4', '-l', link.clientIf, '-r', String(DHCP_RATE), '-p', String(DHCP_SECONDS), '-R', String(DHCP_CLIENTS)]
  return t.exec(t.clientNs, 'perfdhcp', args, (DHCP_SECONDS + 20) * 1000).then((r) => parsePerfdhcp(r, who))
}

const DNSMASQ_DHCP_FLAGS = ['--no-daemon', '--conf-file=/dev/null', '--port=0', '--bind-interfaces', '--no-ping', '--quiet-dhcp', '--log-facility=-']

async function benchDhcp(t: BenchTopology, app: CrowbarApp, networkId: number, work: string) {
  const o = t.ours
  const config: DhcpConfig = {
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
  const logger = createRootLogger('silent')
  let persisted = 0
  const drains: Array<{ seconds: number; requests: number }> = []
  const ours = async (round: number): Promise<DoraRun> => {
    // A fresh lease table and offer memory each round, as dnsmasq gets a fresh lease file.
    await app.ctx.db.deleteFrom('dhcp_leases').execute()
    const leases = new DhcpLeases(app.ctx.db, app.ctx.clock, { networkId, first: `${o.prefix}10`, last: `${o.prefix}250` }, config.leaseSeconds)
    const server = new DhcpServer({ interface: o.serverIf, config, leases, logger, probeMs: 0 })
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
async function quiesce(progress: () => number): Promise<number> {
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

interface TftpRun {
  readonly mbPerSecond: number
  readonly seconds: number
  /** As negotiated (1 when the server declined the option or the client did not ask). */
  readonly windowSize: number
}

type TftpClient = 'atftp' | 'curl' | 'tftp-js'
const TFTP_CLIENTS: Record<TftpClient, string> = {
  atftp: `atftp --option "blksize ${TFTP_BLKSIZE}" --option "windowsize ${TFTP_WINDOW}"`,
  curl: `curl --tftp-blksize ${TFTP_BLKSIZE} (no windowsize)`,
  'tftp-js': `tftp npm package client, blksize ${TFTP_BLKSIZE}, windowsize ${TFTP_WINDOW}`
}

/** curl: lock-step (curl has no windowsize); its own transfer time. */
async function curlGet(t: BenchTopology, address: string, out: string): Promise<TftpRun> {
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
const TFTP_PROBE_FILE = 'probe.bin'

/**
 * atftp (a C client with RFC 7440 windowsize); wall time of the process, a few ms of start-up
 * included. atftp prints the options it asks for, not the ones granted: `windowSize` is filled in
 * from a traced probe (atftpNegotiated).
 */
async function atftpGet(t: BenchTopology, address: string, out: string, file = TFTP_FILE, trace = false): Promise<TftpRun & { text: string }> {
  const args = ['--option', `blksize ${TFTP_BLKSIZE}`, '--option', `windowsize ${TFTP_WINDOW}`, ...(trace ? ['--trace'] : []), '-g', '-r', file, '-l', out, address, '69']
  const r = await t.exec(t.clientNs, 'atftp', args, 100_000)
  const text = `${r.stdout}\n${r.stderr}`
  if (r.code !== 0 || /\b(error|aborting)\b|timeout:/i.test(text)) throw new Error(`atftp from ${address} failed (exit ${r.code}): ${text.trim().slice(-500)}`)
  return { mbPerSecond: TFTP_BYTES / 1e6 / (r.ms / 1000), seconds: r.ms / 1000, windowSize: 0, text }
}

/** The windowsize a server grants atftp's request (1 when its OACK leaves the option out). */
async function atftpNegotiated(t: BenchTopology, address: string): Promise<number> {
  const { text } = await atftpGet(t, address, '/dev/null', TFTP_PROBE_FILE, true)
  const oack = text.match(/received OACK <([^>]*)>/)?.[1]
  if (oack === undefined) throw new Error(`atftp got no OACK from ${address}: ${text.slice(0, 500)}`)
  return Number(oack.match(/windowsize: (\d+)/)?.[1] ?? 1)
}

/** The `tftp` package's client, in the client namespace; it times itself. */
async function tftpJsGet(t: BenchTopology, address: string, verify: boolean): Promise<TftpRun & { sha256: string | null }> {
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

function tftpGet(t: BenchTopology, client: TftpClient, address: string, atftpWindow: number): Promise<TftpRun> {
  switch (client) {
    case 'atftp':
      return atftpGet(t, address, '/dev/null').then((r) => ({ mbPerSecond: r.mbPerSecond, seconds: r.seconds, windowSize: atftpWindow }))
    case 'curl':
      return curlGet(t, address, '/dev/null')
    case 'tftp-js':
      return tftpJsGet(t, address, false)
  }
}

async function benchTftp(t: BenchTopology, work: string) {
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

  const ours = new TftpServer({ root, address: t.ours.serverAddress, port: 69 })
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

interface DnsRun {
  readonly qps: number
  readonly sent: number
  readonly completed: number
  readonly lost: number
  readonly noerror: number
}

function parseDnsperf(r: CommandResult, who: string): DnsRun {
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

function dnsperf(t: BenchTopology, address: string, queries: string, who: string): Promise<DnsRun> {
  return t.exec(t.clientNs, 'dnsperf', ['-s', address, '-d', queries, '-l', String(DNS_SECONDS)], (DNS_SECONDS + 20) * 1000).then((r) => parseDnsperf(r, who))
}

const DNSMASQ_DNS_FLAGS = ['--no-daemon', '--conf-file=/dev/null', '--no-resolv', '--no-hosts', `--local=/${DNS_DOMAIN}/`, '--bind-interfaces', '--port=53', '--log-facility=-']

async function benchDns(t: BenchTopology, work: string) {
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
    const f = await benchTftp(t, work)
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
  interrupted = true
  log(`bench:boot passed its ${DEADLINE_MS / 60_000} minute limit: stopping`)
  void cleanUp().finally(() => process.exit(1))
}, DEADLINE_MS)

void main()
  .then(
    () => 0,
    (err: unknown) => {
      // After a signal, failures are the cleanup pulling servers from under the runs.
      if (!interrupted) log(`bench:boot failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`)
      return 1
    }
  )
  .then(async (code) => {
    await cleanUp()
    clearTimeout(deadline)
    process.exit(code)
  })
