// Boot diagnosis (DESIGN.md §6.2), pure: from one machine's flight-recorder timeline, the likely
// causes of a stopped boot in words an engineer acts on (how far it got: boot-progress.ts).
import type { BootEvent, BootFinding, BootFindingRule } from '../../model'
import { BOOTENVS, bootenvNamed } from './bootenvs'

/** What the caller knows beyond the timeline. */
export interface BootFacts {
  /** Our DHCP server identifiers (the served address); those on our replies in the timeline count too. */
  readonly serverIds?: readonly string[]
  /** The discovery image's kernel and initrd paths (default: the `discovery` bootenv's). */
  readonly discovery?: { readonly kernel: readonly string[]; readonly initrd: readonly string[] }
  /** A TCP connect to the node's SSH port, when the caller probed one. */
  readonly ssh?: { readonly node: string; readonly address: string; readonly port: number; readonly reachable: boolean; readonly error?: string }
}

export interface DiagnosisTimeouts {
  /** An OFFER with no REQUEST for it after this long was not taken. Default 10 s. */
  readonly offerMs: number
  /** A UEFI client given a boot file that fetched nothing after this long. Default 15 s. */
  readonly fetchMs: number
  /** A kernel and initrd fetched with no word from the machine after this long. Default 5 min. */
  readonly registerMs: number
}

export const DEFAULT_DIAGNOSIS_TIMEOUTS: DiagnosisTimeouts = { offerMs: 10_000, fetchMs: 15_000, registerMs: 5 * 60_000 }

/** Evidence ids kept per finding: a client that loops a thousand times needs a few to show. */
const MAX_EVIDENCE = 20

/**
 * Option 93 values of UEFI firmware (RFC 4578, IANA "Processor Architecture Types"): x86, x64,
 * EBC, ARM 32/64, their HTTP-boot variants, RISC-V.
 */
const UEFI_ARCHES = new Set([6, 7, 9, 10, 11, 15, 16, 17, 18, 19, 25, 27, 29])

const KERNEL_NAME = /^(vmlinuz|vmlinux|linux|bzimage|kernel)([-._].*)?$/i
const INITRD_NAME = /^(initrd|initramfs)([-._].*)?$/i
/** Names PXE loaders probe and may lack (pxelinux.cfg/01-..., grub.cfg-01-...): a miss is normal. */
const PROBED_NAME = /(^|\/)pxelinux\.cfg\/|(^|\/)grub\.cfg-|(^|\/)ldlinux\.c32$/i

export const BOOTENVS_WITHOUT_INSTALL = new Set(['local', 'discovery'])

/** A timeline event with its time in ms (shared with boot-progress.ts). */
export interface Timed {
  readonly e: BootEvent
  readonly ms: number
}

export function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined
}

export function num(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined
}

/** Oldest first, by id (ids grow with time; the store hands timelines newest first). */
export function ordered(events: readonly BootEvent[]): Timed[] {
  return [...events].sort((a, b) => a.id - b.id).map((e) => ({ e, ms: Date.parse(e.t) }))
}

function seconds(ms: number): string {
  return ms >= 120_000 ? `${Math.round(ms / 60_000)} min` : `${Math.round(ms / 1000)} s`
}

function times(n: number): string {
  return n === 1 ? 'once' : `${n} times`
}

function finding(rule: BootFindingRule, severity: 'error' | 'warning', title: string, text: string, evidence: readonly Timed[]): BootFinding {
  const newest = evidence.reduce<Timed | undefined>((a, b) => (!a || b.e.id > a.e.id ? b : a), undefined)
  return {
    rule,
    severity,
    title,
    text,
    event_ids: [...evidence].sort((a, b) => b.e.id - a.e.id).slice(0, MAX_EVIDENCE).map((t) => t.e.id),
    at: newest?.e.t ?? new Date(0).toISOString()
  }
}

export function fileOf(t: Timed): string | undefined {
  if (t.e.source === 'tftp') return str(t.e.detail.file)
  if (t.e.source === 'http') {
    const path = str(t.e.detail.path)
    if (!path) return undefined
    try {
      return decodeURIComponent(path).replace(/^\/files\//, '')
    } catch {
      return path.replace(/^\/files\//, '')
    }
  }
  return undefined
}

/** A file delivered to the machine: a completed TFTP transfer or an HTTP GET answered 200. */
export function isFetched(t: Timed): boolean {
  return (t.e.source === 'tftp' && t.e.event === 'transfer_complete') || (t.e.source === 'http' && t.e.event === 'http_get' && t.e.detail.status === 200)
}

/** The machine asked for a file (whatever the answer). */
function isFetchAttempt(t: Timed): boolean {
  return (t.e.source === 'tftp' && t.e.event === 'rrq') || (t.e.source === 'http' && t.e.event === 'http_get')
}

function baseName(path: string): string {
  return path.split('/').pop() ?? path
}

export interface ImageNames {
  readonly kernel: readonly string[]
  readonly initrd: readonly string[]
}

export function discoveryNames(facts: BootFacts): ImageNames {
  if (facts.discovery) return facts.discovery
  const env = bootenvNamed('discovery')
  return { kernel: env?.kernel ? [env.kernel] : [], initrd: [...(env?.initrds ?? [])] }
}

function matchesImage(file: string, names: readonly string[], generic: RegExp): boolean {
  const clean = file.replace(/^\/+/, '')
  return names.some((n) => clean === n || clean.endsWith(`/${n}`)) || generic.test(baseName(clean))
}

/** Every installer's kernel path (any bootenv but discovery and local). */
export const INSTALLER_KERNELS = BOOTENVS.filter((b) => !BOOTENVS_WITHOUT_INSTALL.has(b.name) && b.kernel).map((b) => b.kernel as string)

export function isKernel(file: string, names: ImageNames): boolean {
  return matchesImage(file, names.kernel, KERNEL_NAME)
}

function isInitrd(file: string, names: ImageNames): boolean {
  return matchesImage(file, names.initrd, INITRD_NAME)
}

/** The machine's own word: the node-facing API or the installer reporting. */
function isMachineSpeaking(t: Timed): boolean {
  return (t.e.source === 'api' && t.e.event !== 'ssh_unreachable') || t.e.source === 'install'
}

/**
 * The likely causes of a stopped boot, newest first. `now` bounds the time-outs: an OFFER 3 s old
 * with no REQUEST yet is not judged.
 */
export function diagnose(events: readonly BootEvent[], facts: BootFacts, now: Date, timeouts: DiagnosisTimeouts = DEFAULT_DIAGNOSIS_TIMEOUTS): BootFinding[] {
  const timeline = ordered(events)
  const nowMs = now.getTime()
  const findings: BootFinding[] = [
    ...offersNotTaken(timeline, facts, nowMs, timeouts),
    ...requestsForOtherServers(timeline, facts),
    ...bootFilesNotFetched(timeline, nowMs, timeouts),
    ...tftpStalls(timeline),
    ...assetsNotFound(timeline),
    ...noRegistration(timeline, facts, nowMs, timeouts),
    ...sshUnreachable(timeline, facts, now)
  ]
  return findings.sort((a, b) => Date.parse(b.at) - Date.parse(a.at) || (b.event_ids[0] ?? 0) - (a.event_ids[0] ?? 0))
}

function ourServerIds(timeline: readonly Timed[], facts: BootFacts): Set<string> {
  const ours = new Set(facts.serverIds ?? [])
  for (const t of timeline) {
    if (t.e.source !== 'dhcp' || !['offer', 'ack', 'nak'].includes(t.e.event)) continue
    const id = str(t.e.detail.server_id)
    if (id) ours.add(id)
  }
  return ours
}

/** A REQUEST that names no server (INIT-REBOOT, renewing) or one of ours: it takes our offer. */
function isRequestForUs(t: Timed, ours: ReadonlySet<string>): boolean {
  if (t.e.source !== 'dhcp' || t.e.event !== 'request') return false
  const id = str(t.e.detail.server_id)
  return id === undefined || ours.has(id)
}

function isRequestForOther(t: Timed, ours: ReadonlySet<string>): boolean {
  if (t.e.source !== 'dhcp' || t.e.event !== 'request' || ours.size === 0) return false
  const id = str(t.e.detail.server_id)
  return id !== undefined && !ours.has(id)
}

function offersNotTaken(timeline: readonly Timed[], facts: BootFacts, nowMs: number, timeouts: DiagnosisTimeouts): BootFinding[] {
  const ours = ourServerIds(timeline, facts)
  const missed: Timed[] = []
  timeline.forEach((offer, i) => {
    if (offer.e.source !== 'dhcp' || offer.e.event !== 'offer') return
    const deadline = offer.ms + timeouts.offerMs
    let answered = false
    let judged = nowMs >= deadline
    for (let j = i + 1; j < timeline.length; j++) {
      const later = timeline[j] as Timed
      if (later.ms > deadline) {
        judged = true
        break
      }
      // A REQUEST naming another server is its own, sharper finding.
      if (isRequestForUs(later, ours) || isRequestForOther(later, ours)) {
        answered = true
        break
      }
    }
    if (judged && !answered) missed.push(offer)
  })
  // Offers missed before the client went on to take one of ours are history.
  const lastTaken = timeline.filter((t) => t.e.source === 'dhcp' && t.e.event === 'ack' && ours.has(str(t.e.detail.server_id) ?? '')).at(-1)
  const current = missed.filter((m) => !lastTaken || m.e.id > lastTaken.e.id)
  const last = current.at(-1)
  if (!last) return []
  const address = str(last.e.detail.address)
  const newDiscover = timeline.some((t) => t.e.id > last.e.id && t.e.source === 'dhcp' && t.e.event === 'discover')
  return [
    finding(
      'offer_not_taken',
      'warning',
      'The client took another DHCP server’s offer',
      `We offered ${address ?? 'an address'} ${times(current.length)} and the client never asked for it within ${seconds(timeouts.offerMs)}` +
        (newDiscover ? ', then started over with a new DISCOVER' : '') +
        ': the client took another DHCP server’s offer, or ours never reached it. ' +
        'Look for another DHCP server on this network (the preflight lists them): stop it, make it ignore this machine, or run Crowbar in proxyDHCP mode.',
      current
    )
  ]
}

/** Drops what a later success of the same file answered: the boot went on past it. */
function unresolved(timeline: readonly Timed[], found: Map<string, Timed[]>, fileKey: (t: Timed) => string | undefined): Timed[][] {
  return [...found.values()].filter((misses) => {
    const last = misses.at(-1) as Timed
    const key = fileKey(last)
    return !timeline.some((t) => t.e.id > last.e.id && isFetched(t) && fileKey(t) === key)
  })
}

function requestsForOtherServers(timeline: readonly Timed[], facts: BootFacts): BootFinding[] {
  const ours = ourServerIds(timeline, facts)
  const byServer = new Map<string, Timed[]>()
  for (const t of timeline) {
    if (!isRequestForOther(t, ours)) continue
    const id = str(t.e.detail.server_id) as string
    byServer.set(id, [...(byServer.get(id) ?? []), t])
  }
  return [...byServer].map(([server, requests]) => {
    const address = requests.map((r) => str(r.e.detail.address)).filter(Boolean).at(-1)
    return finding(
      'request_for_other_server',
      'error',
      `The client asked another DHCP server (${server}) for its address`,
      `The client sent ${requests.length === 1 ? 'a REQUEST' : `${requests.length} REQUESTs`} naming the DHCP server ${server}` +
        (address ? ` for ${address}` : '') +
        `, not us: it took ${server}’s offer and boots with what that server gives (no Crowbar boot file). ` +
        `Stop the DHCP server at ${server} or make it ignore this machine, or run Crowbar in proxyDHCP mode next to it.`,
      requests
    )
  })
}

/** The client's architecture around an ACK: its REQUEST of the same transaction, else its last word. */
function archAt(timeline: readonly Timed[], index: number): { arch?: number; ipxe: boolean } {
  const ack = timeline[index] as Timed
  const xid = ack.e.detail.xid
  let fallback: Timed | undefined
  for (let i = index - 1; i >= 0; i--) {
    const t = timeline[i] as Timed
    if (t.e.source !== 'dhcp' || (t.e.event !== 'request' && t.e.event !== 'discover')) continue
    if (t.e.detail.xid === xid) {
      fallback = t
      break
    }
    fallback ??= t
  }
  const userClass = fallback?.e.detail.user_class
  const arch = num(fallback?.e.detail.arch)
  return { ...(arch !== undefined ? { arch } : {}), ipxe: Array.isArray(userClass) && userClass.includes('iPXE') }
}

function bootFilesNotFetched(timeline: readonly Timed[], nowMs: number, timeouts: DiagnosisTimeouts): BootFinding[] {
  const unfetched: Timed[] = []
  let arch: number | undefined
  timeline.forEach((ack, i) => {
    if (ack.e.source !== 'dhcp' || ack.e.event !== 'ack' || !str(ack.e.detail.boot_file)) return
    const client = archAt(timeline, i)
    if (client.arch === undefined || !UEFI_ARCHES.has(client.arch) || client.ipxe) return
    const deadline = ack.ms + timeouts.fetchMs
    let fetched = false
    let judged = nowMs >= deadline
    for (let j = i + 1; j < timeline.length; j++) {
      const later = timeline[j] as Timed
      if (later.ms > deadline) {
        judged = true
        break
      }
      if (isFetchAttempt(later)) {
        fetched = true
        break
      }
    }
    if (judged && !fetched) {
      unfetched.push(ack)
      arch = client.arch
    }
  })
  const last = unfetched.at(-1)
  if (!last) return []
  const file = str(last.e.detail.boot_file) as string
  return [
    finding(
      'boot_file_not_fetched',
      'error',
      'UEFI firmware got a boot file but fetched nothing',
      `A UEFI client (architecture ${arch}) was given the boot file ${file} ${times(unfetched.length)} and asked for nothing within ${seconds(timeouts.fetchMs)}: ` +
        'Secure Boot may be refusing an unsigned loader; check firmware (disable Secure Boot, or check the network boot order) or use the signed shim.',
      unfetched
    )
  ]
}

function tftpStalls(timeline: readonly Timed[]): BootFinding[] {
  const byFile = new Map<string, Timed[]>()
  for (const t of timeline) {
    if (t.e.source !== 'tftp' || t.e.event !== 'transfer_error' || t.e.detail.outcome !== 'timed-out') continue
    const file = str(t.e.detail.file) ?? '(unnamed)'
    byFile.set(file, [...(byFile.get(file) ?? []), t])
  }
  return unresolved(timeline, byFile, fileOf).map((stalls) => {
    const last = stalls.at(-1) as Timed
    const file = fileOf(last) ?? '(unnamed)'
    const acked = num(last.e.detail.block) ?? 0
    const blockSize = num(last.e.detail.blockSize) ?? num(last.e.detail.block_size)
    const retransmits = num(last.e.detail.retransmits) ?? 0
    return finding(
      'tftp_stalled',
      'error',
      `TFTP transfer of ${file} stalled at block ${acked + 1}`,
      `The transfer stalled at block ${acked + 1} of ${file} (blksize ${blockSize ?? 'unknown'}) after ${retransmits} retransmits` +
        (acked > 0 ? `; blocks 1 to ${acked} arrived` : '; not one block arrived') +
        (stalls.length > 1 ? `, ${stalls.length} times` : '') +
        ': packets of that size are lost on the path (MTU?) or the link drops packets; try a smaller blksize / check the switch (port errors, MTU, spanning tree).',
      stalls
    )
  })
}

function assetsNotFound(timeline: readonly Timed[]): BootFinding[] {
  const byFile = new Map<string, Timed[]>()
  for (const t of timeline) {
    const tftpMiss = t.e.source === 'tftp' && t.e.event === 'error_sent' && t.e.detail.code === 1
    const httpMiss = t.e.source === 'http' && t.e.event === 'http_get' && t.e.detail.status === 404 && (str(t.e.detail.searched) !== undefined || (str(t.e.detail.path) ?? '').startsWith('/files/'))
    if (!tftpMiss && !httpMiss) continue
    const file = fileOf(t)
    if (!file || PROBED_NAME.test(file)) continue
    const key = `${t.e.source} ${file}`
    byFile.set(key, [...(byFile.get(key) ?? []), t])
  }
  return unresolved(timeline, byFile, fileOf).map((misses) => {
    const last = misses.at(-1) as Timed
    const file = fileOf(last) as string
    const searched = str(last.e.detail.searched)
    const how = last.e.source === 'tftp' ? 'over TFTP' : 'over HTTP'
    const where = searched ? (last.e.source === 'tftp' ? `the TFTP root ${searched}` : `the boot assets directory ${searched}`) : last.e.source === 'tftp' ? 'the TFTP root' : 'the boot assets directory'
    return finding(
      'asset_not_found',
      'error',
      `Boot file ${file} not found`,
      `The machine asked for ${file} ${how} ${times(misses.length)} and it is not in ${where}: ` +
        'put the file there (build or download the boot assets), or fix the bootenv or DHCP boot file that names it.',
      misses
    )
  })
}

function noRegistration(timeline: readonly Timed[], facts: BootFacts, nowMs: number, timeouts: DiagnosisTimeouts): BootFinding[] {
  const names = discoveryNames(facts)
  let kernel: Timed | undefined
  let initrd: Timed | undefined
  for (const t of timeline) {
    if (isMachineSpeaking(t)) {
      // The kernel came up and its agent spoke: only a later kernel and initrd count.
      kernel = undefined
      initrd = undefined
      continue
    }
    if (!isFetched(t)) continue
    const file = fileOf(t)
    if (!file) continue
    if (isKernel(file, names)) {
      kernel = t
      initrd = undefined
    } else if (kernel && isInitrd(file, names)) initrd = t
  }
  if (!kernel || !initrd || nowMs - initrd.ms < timeouts.registerMs) return []
  const kernelFile = fileOf(kernel) as string
  const installer = INSTALLER_KERNELS.some((k) => kernelFile.endsWith(k))
  return [
    finding(
      'no_registration',
      'error',
      installer ? 'The installer fetched its kernel and initrd and then said nothing' : 'The machine fetched its kernel and initrd but never registered',
      `${kernelFile} and ${fileOf(initrd) as string} were fetched and no ${installer ? 'install progress or node API call' : 'register'} followed within ${seconds(timeouts.registerMs)}: ` +
        'driver or image problem: the kernel did not bring up the network or the image’s agent failed. Watch the machine’s console (or its BMC’s serial console) for the error.',
      [kernel, initrd]
    )
  ]
}

function sshUnreachable(timeline: readonly Timed[], facts: BootFacts, now: Date): BootFinding[] {
  const ssh = facts.ssh
  if (!ssh || ssh.reachable) return []
  const spoke = timeline.filter((t) => t.e.source === 'api' && (t.e.event === 'register' || (t.e.event === 'alive' && t.e.detail.alive === true)))
  const lastWord = spoke.at(-1)
  if (!lastWord) return []
  const probe = timeline.filter((t) => t.e.source === 'api' && t.e.event === 'ssh_unreachable').at(-1)
  const evidence = probe ? [lastWord, probe] : [lastWord]
  const f = finding(
    'ssh_unreachable',
    'error',
    `${ssh.node} cannot be reached over SSH`,
    `${ssh.node} ${lastWord.e.event === 'register' ? 'registered' : 'reported alive'} but SSH to ${ssh.address}:${ssh.port} failed${ssh.error ? ` (${ssh.error})` : ''}: ` +
      'the annealer cannot run its jigs there. Check that sshd runs in the image, the node’s firewall, and the route between this server and the admin network.',
    evidence
  )
  return [probe ? f : { ...f, at: now.toISOString() }]
}
