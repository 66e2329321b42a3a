// The network preflight's I/O (DESIGN.md §6.2): reads the interface's link, addresses and the
// default routes with iproute2, broadcasts one PXE DISCOVER and collects OFFERs (never REQUESTs),
// and captures LLDP frames and IPv6 router advertisements (after one solicitation) with tcpdump,
// all for one bounded window; the codecs and `recommend` decide what they mean.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { createSocket } from 'node:dgram'
import { messageOf } from '../../base/error-message'
import { bindUdp } from '../../base/socket-ready'
import type { DhcpServerSeen, Ipv6RouterSeen, LldpNeighbour, PreflightReport } from '../../model/preflight'
import { decode, encode } from '../dhcp/dhcp-codec'
import { bindSocketToDevice } from '../net/bind-to-device'
import { describeOffer, pxeDiscover } from './dhcp-offers'
import { defaultRouteDevices, linkFacts } from './link-facts'
import { decodeLldp, LLDP_ETHERTYPE } from './lldp-codec'
import { readEthernet, readPcap } from './pcap-codec'
import { recommend } from './preflight-policy'
import { decodeRouterAdvertisement, IPV6_ETHERTYPE } from './router-advert-codec'

export interface PreflightOptions {
  /** How long to listen for OFFERs, LLDP and router advertisements; default 2 s. */
  readonly listenMs?: number
  /** Read the routing table of this network namespace instead of ours (tests). */
  readonly routesNetns?: string
}

const DEFAULT_LISTEN_MS = 2000
const COMMAND_TIMEOUT_MS = 5000

function ipJson(args: readonly string[], netns?: string): string {
  const out = spawnSync('ip', [...(netns ? ['-n', netns] : []), '-j', ...args], { encoding: 'utf8', timeout: COMMAND_TIMEOUT_MS })
  return out.status === 0 ? out.stdout : ''
}

/** The interfaces holding this machine's (or the namespace's) default route, IPv4 or IPv6. */
export function defaultRouteInterfaces(netns?: string): string[] {
  const v4 = defaultRouteDevices(ipJson(['-4', 'route', 'show', 'default'], netns))
  const v6 = defaultRouteDevices(ipJson(['-6', 'route', 'show', 'default'], netns))
  return [...new Set([...v4, ...v6])]
}

/** Broadcasts the PXE DISCOVER twice (half the window apart) and describes each server's OFFER. */
async function dhcpOffers(ifname: string, ms: number, unchecked: string[]): Promise<DhcpServerSeen[]> {
  const socket = createSocket({ type: 'udp4', reuseAddr: true })
  const errors = new Set<string>()
  socket.on('error', (err) => errors.add(messageOf(err)))
  const mac = [0x02, ...randomBytes(5)].map((b) => b.toString(16).padStart(2, '0')).join(':')
  const xid = randomBytes(4).readUInt32BE(0)
  const seen = new Map<string, DhcpServerSeen>()
  try {
    await bindUdp(socket, { port: 68, address: '0.0.0.0' })
    bindSocketToDevice(socket, ifname)
    socket.setBroadcast(true)
    socket.on('message', (msg) => {
      const d = decode(msg)
      const offer = d.ok ? describeOffer(d.packet, xid) : null
      if (offer && !seen.has(offer.server)) seen.set(offer.server, offer)
    })
    const packet = encode(pxeDiscover(mac, xid))
    const send = (): void => socket.send(packet, 67, '255.255.255.255', (err) => err && errors.add(messageOf(err)))
    send()
    await new Promise((r) => setTimeout(r, ms / 2))
    if (seen.size === 0) send()
    await new Promise((r) => setTimeout(r, ms / 2))
  } catch (err) {
    unchecked.push(`other DHCP servers: cannot listen on ${ifname} port 68 (${messageOf(err)})`)
  } finally {
    await new Promise<void>((resolve) => socket.close(() => resolve()))
  }
  if (errors.size > 0) unchecked.push(`other DHCP servers: the DISCOVER may not have gone out (${[...errors].join('; ')})`)
  return [...seen.values()]
}

/** Captures LLDP and router advertisements for `ms` (tcpdump, stopped by its PID), soliciting once. */
async function capture(ifname: string, ms: number, unchecked: string[]): Promise<{ lldp: LldpNeighbour | null; routers: Ipv6RouterSeen[] }> {
  const none = { lldp: null, routers: [] }
  let child: ChildProcess
  try {
    child = spawn('tcpdump', ['-i', ifname, '-U', '--immediate-mode', '-s', '2048', '-c', '200', '-w', '-', `ether proto ${LLDP_ETHERTYPE} or (icmp6 and ip6[40] == 134)`], {
      stdio: ['ignore', 'pipe', 'pipe']
    })
  } catch (err) {
    unchecked.push(`LLDP and IPv6 routers: cannot run tcpdump (${messageOf(err)})`)
    return none
  }
  const chunks: Buffer[] = []
  let stderr = ''
  child.stdout?.on('data', (c: Buffer) => chunks.push(c))
  let failed: string | undefined
  const exited = new Promise<number | null>((resolve) => {
    child.on('error', (err) => {
      failed = messageOf(err)
      resolve(null)
    })
    child.on('close', (code) => resolve(code))
  })
  // Ready when tcpdump says it listens (it is then capturing); bounded by the window.
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms)
    child.stderr?.on('data', (c: Buffer) => {
      stderr += c.toString()
      if (stderr.includes('listening on')) {
        clearTimeout(timer)
        resolve()
      }
    })
    void exited.then(() => {
      clearTimeout(timer)
      resolve()
    })
  })
  solicitRouters(ifname)
  await Promise.race([exited, new Promise((r) => setTimeout(r, ms))])
  if (child.exitCode === null && child.pid !== undefined) {
    child.kill('SIGTERM')
    const killer = setTimeout(() => child.kill('SIGKILL'), 1000)
    await exited
    clearTimeout(killer)
  }
  if (failed !== undefined) {
    unchecked.push(`LLDP and IPv6 routers: cannot run tcpdump (${failed}): install tcpdump`)
    return none
  }
  const pcap = readPcap(Buffer.concat(chunks))
  if (!pcap.ok) {
    const said = stderr.trim().split('\n').filter((l) => !l.includes('listening on')).join('; ')
    unchecked.push(`LLDP and IPv6 routers: tcpdump captured nothing readable (${said || pcap.error})`)
    return none
  }
  let lldp: LldpNeighbour | null = null
  const routers = new Map<string, Ipv6RouterSeen>()
  for (const frame of pcap.frames) {
    const eth = readEthernet(frame)
    if (!eth) continue
    if (eth.etherType === LLDP_ETHERTYPE && lldp === null) {
      const d = decodeLldp(eth.payload)
      if (d.ok) lldp = d.neighbour
    } else if (eth.etherType === IPV6_ETHERTYPE) {
      const ra = decodeRouterAdvertisement(eth.payload)
      if (ra && !routers.has(ra.address)) routers.set(ra.address, ra)
    }
  }
  return { lldp, routers: [...routers.values()] }
}

/** One router solicitation (rdisc6 from ndisc6, bounded); without it we hear periodic ones only. */
function solicitRouters(ifname: string): void {
  const rdisc = spawn('rdisc6', ['-1', '-q', '-w', '500', ifname], { stdio: 'ignore', timeout: COMMAND_TIMEOUT_MS, killSignal: 'SIGKILL' })
  rdisc.on('error', () => undefined)
}

/** The preflight of one interface; never throws for what it finds (a missing interface is a finding). */
export async function runPreflight(ifname: string, options: PreflightOptions = {}): Promise<PreflightReport> {
  const ms = options.listenMs ?? DEFAULT_LISTEN_MS
  const facts = linkFacts(ipJson(['addr', 'show', 'dev', ifname]))
  const unchecked: string[] = []
  const defaultRoute = defaultRouteInterfaces(options.routesNetns).includes(ifname)
  let dhcp: DhcpServerSeen[] = []
  let heard: { lldp: LldpNeighbour | null; routers: Ipv6RouterSeen[] } = { lldp: null, routers: [] }
  if (!facts.link.exists) unchecked.push(`everything on the link: there is no interface named ${ifname}`)
  else if (!facts.link.up) unchecked.push(`everything on the link: ${ifname} is down (ip link set ${ifname} up)`)
  else [dhcp, heard] = await Promise.all([dhcpOffers(ifname, ms, unchecked), capture(ifname, ms, unchecked)])
  const findings = { interface: ifname, ...facts, default_route: defaultRoute, dhcp_servers: dhcp, ipv6_routers: heard.routers, lldp: heard.lldp, listened_ms: ms, unchecked }
  return { ...findings, recommendation: recommend(findings) }
}
