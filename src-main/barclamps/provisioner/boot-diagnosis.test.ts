// The boot diagnosis rules and boot progress on synthetic timelines (pure functions).
import { describe, expect, it } from 'vitest'
import type { BootEvent, BootEventSource } from '../../model'
import { diagnose } from './boot-diagnosis'
import { bootProgress, isProgressEvent } from './boot-progress'

const MAC = '52:54:00:12:34:56'
const OURS = '198.19.5.1'
const OTHER = '198.19.5.2'
const T0 = Date.parse('2026-03-01T10:00:00.000Z')

/** A timeline builder: events at seconds after T0, ids in order. */
function timeline() {
  const events: BootEvent[] = []
  const add = (s: number, source: BootEventSource, event: string, detail: Record<string, unknown> = {}, nodeId: number | null = null): BootEvent => {
    const e: BootEvent = { id: events.length + 1, mac: MAC, node_id: nodeId, t: new Date(T0 + s * 1000).toISOString(), source, event, detail: detail as BootEvent['detail'] }
    events.push(e)
    return e
  }
  return {
    events,
    add,
    /** Newest first, as the store hands them. */
    get stored() {
      return [...events].reverse()
    }
  }
}

const at = (s: number): Date => new Date(T0 + s * 1000)

/** A full DORA with our server, UEFI x64 unless told. */
function dora(tl: ReturnType<typeof timeline>, s: number, xid: number, arch = 7, bootFile = 'bootx64.efi'): void {
  tl.add(s, 'dhcp', 'discover', { xid, arch, vendor_class: 'PXEClient:Arch:00007:UNDI:003016' })
  tl.add(s + 0.01, 'dhcp', 'offer', { xid, address: '198.19.5.100', boot_file: bootFile, server_id: OURS })
  tl.add(s + 1, 'dhcp', 'request', { xid, arch, address: '198.19.5.100', server_id: OURS })
  tl.add(s + 1.01, 'dhcp', 'ack', { xid, address: '198.19.5.100', boot_file: bootFile, server_id: OURS })
}

describe('diagnose', () => {
  it('finds nothing wrong in a boot that went discover, ack, loader, kernel, initrd, register', () => {
    const tl = timeline()
    dora(tl, 0, 1)
    tl.add(2, 'tftp', 'rrq', { file: 'bootx64.efi' })
    tl.add(3, 'tftp', 'transfer_complete', { file: 'bootx64.efi', bytes: 1000, retransmits: 0 })
    tl.add(5, 'http', 'http_get', { path: '/files/discovery/vmlinuz', status: 200 })
    tl.add(6, 'http', 'http_get', { path: '/files/discovery/initrd.img', status: 200 })
    tl.add(40, 'api', 'register', { node_id: 3 }, 3)
    expect(diagnose(tl.stored, {}, at(3600))).toEqual([])
  })

  it('says the client took another server’s offer when our OFFER gets no REQUEST within 10 s and a new DISCOVER follows', () => {
    const tl = timeline()
    tl.add(0, 'dhcp', 'discover', { xid: 1 })
    const offer = tl.add(0.01, 'dhcp', 'offer', { xid: 1, address: '198.19.5.100', server_id: OURS })
    const again = tl.add(30, 'dhcp', 'discover', { xid: 2 })
    const offer2 = tl.add(30.01, 'dhcp', 'offer', { xid: 2, address: '198.19.5.100', server_id: OURS })
    const [f, ...rest] = diagnose(tl.stored, {}, at(60))
    expect(rest).toEqual([])
    expect(f).toMatchObject({ rule: 'offer_not_taken', severity: 'warning', event_ids: [offer2.id, offer.id], at: offer2.t })
    expect(f?.text).toContain('We offered 198.19.5.100 2 times and the client never asked for it within 10 s')
    expect(f?.text).toContain('the client took another DHCP server’s offer')
    expect(again.id).toBeLessThan(offer2.id)
  })

  it('does not judge an OFFER younger than the window, nor one the client asked for', () => {
    const tl = timeline()
    tl.add(0, 'dhcp', 'discover', { xid: 1 })
    tl.add(0.01, 'dhcp', 'offer', { xid: 1, server_id: OURS })
    expect(diagnose(tl.stored, {}, at(5))).toEqual([])
    tl.add(4, 'dhcp', 'request', { xid: 1, server_id: OURS })
    expect(diagnose(tl.stored, {}, at(60)).map((f) => f.rule)).not.toContain('offer_not_taken')
  })

  it('names the other server a REQUEST was addressed to', () => {
    const tl = timeline()
    tl.add(0, 'dhcp', 'discover', { xid: 9 })
    tl.add(0.3, 'dhcp', 'offer', { xid: 9, address: '198.19.5.100', server_id: OURS })
    const req = tl.add(0.2, 'dhcp', 'request', { xid: 9, address: '198.19.5.201', server_id: OTHER })
    const findings = diagnose(tl.stored, {}, at(60))
    expect(findings.map((f) => f.rule)).toEqual(['request_for_other_server'])
    expect(findings[0]).toMatchObject({ severity: 'error', event_ids: [req.id] })
    expect(findings[0]?.title).toBe(`The client asked another DHCP server (${OTHER}) for its address`)
    expect(findings[0]?.text).toContain(`naming the DHCP server ${OTHER} for 198.19.5.201, not us`)
    expect(findings[0]?.text).toContain(`Stop the DHCP server at ${OTHER}`)
  })

  it('knows our server from the facts when no reply of ours is on the timeline', () => {
    const tl = timeline()
    tl.add(0, 'dhcp', 'request', { xid: 1, server_id: OTHER })
    expect(diagnose(tl.stored, {}, at(60))).toEqual([])
    expect(diagnose(tl.stored, { serverIds: [OURS] }, at(60)).map((f) => f.rule)).toEqual(['request_for_other_server'])
    // A REQUEST naming us is fine.
    expect(diagnose(timelineWith({ server_id: OURS }), { serverIds: [OURS] }, at(60))).toEqual([])
  })

  it('suspects Secure Boot when a UEFI client given a boot file fetches nothing within 15 s', () => {
    const tl = timeline()
    dora(tl, 0, 1)
    dora(tl, 60, 2)
    const findings = diagnose(tl.stored, {}, at(120))
    expect(findings.map((f) => f.rule)).toEqual(['boot_file_not_fetched'])
    expect(findings[0]?.text).toContain('A UEFI client (architecture 7) was given the boot file bootx64.efi 2 times and asked for nothing within 15 s')
    expect(findings[0]?.text).toContain('Secure Boot may be refusing an unsigned loader; check firmware')
    expect(findings[0]?.text).toContain('use the signed shim')
    expect(findings[0]?.event_ids).toEqual([8, 4])
  })

  it('does not suspect Secure Boot for BIOS clients, iPXE, a fetched loader, or a young ACK', () => {
    const bios = timeline()
    dora(bios, 0, 1, 0, 'undionly.kpxe')
    expect(diagnose(bios.stored, {}, at(120))).toEqual([])
    const fetched = timeline()
    dora(fetched, 0, 1)
    fetched.add(3, 'tftp', 'rrq', { file: 'bootx64.efi' })
    expect(diagnose(fetched.stored, {}, at(120))).toEqual([])
    const young = timeline()
    dora(young, 0, 1)
    expect(diagnose(young.stored, {}, at(10))).toEqual([])
    const ipxe = timeline()
    ipxe.add(0, 'dhcp', 'request', { xid: 5, arch: 7, user_class: ['iPXE'], server_id: OURS })
    ipxe.add(0.01, 'dhcp', 'ack', { xid: 5, boot_file: 'http://x/boot.ipxe', server_id: OURS })
    expect(diagnose(ipxe.stored, {}, at(120))).toEqual([])
  })

  it('names the block, file, block size and retransmits of a stalled TFTP transfer', () => {
    const tl = timeline()
    tl.add(0, 'tftp', 'rrq', { file: 'discovery/initrd.img' })
    const err = tl.add(9, 'tftp', 'transfer_error', { file: 'discovery/initrd.img', outcome: 'timed-out', retransmits: 5, block: 1234, blockSize: 1468 })
    tl.add(10, 'tftp', 'transfer_error', { file: 'x.efi', outcome: 'client-error', retransmits: 0, block: 0, blockSize: 512 })
    const findings = diagnose(tl.stored, {}, at(20))
    expect(findings.map((f) => f.rule)).toEqual(['tftp_stalled'])
    expect(findings[0]).toMatchObject({ event_ids: [err.id], title: 'TFTP transfer of discovery/initrd.img stalled at block 1235' })
    expect(findings[0]?.text).toContain('stalled at block 1235 of discovery/initrd.img (blksize 1468) after 5 retransmits; blocks 1 to 1234 arrived')
    expect(findings[0]?.text).toContain('packets of that size are lost on the path (MTU?) or the link drops packets; try a smaller blksize / check the switch')
  })

  it('names a missing boot asset and the directory searched, over TFTP and HTTP, not PXE config probes', () => {
    const tl = timeline()
    tl.add(0, 'tftp', 'error_sent', { file: 'pxelinux.cfg/01-52-54-00-12-34-56', code: 1, message: 'File not found', refusal: 'not found', searched: '/srv/boot' })
    const t1 = tl.add(1, 'tftp', 'error_sent', { file: 'grubx64.efi', code: 1, message: 'File not found', refusal: 'not found', searched: '/srv/boot' })
    const t2 = tl.add(2, 'tftp', 'error_sent', { file: 'grubx64.efi', code: 1, message: 'File not found', refusal: 'not found', searched: '/srv/boot' })
    tl.add(2.5, 'tftp', 'error_sent', { file: '../etc/passwd', code: 2, message: 'Access violation', refusal: 'outside the root' })
    const h = tl.add(3, 'http', 'http_get', { path: '/files/discovery/initrd.img', status: 404, searched: '/srv/boot' })
    tl.add(4, 'http', 'http_get', { path: '/boot/52-54-00-12-34-56.ipxe', status: 404 })
    const findings = diagnose(tl.stored, {}, at(10))
    expect(findings.map((f) => [f.rule, f.title])).toEqual([
      ['asset_not_found', 'Boot file discovery/initrd.img not found'],
      ['asset_not_found', 'Boot file grubx64.efi not found']
    ])
    expect(findings[0]?.text).toContain('The machine asked for discovery/initrd.img over HTTP once and it is not in the boot assets directory /srv/boot')
    expect(findings[0]?.event_ids).toEqual([h.id])
    expect(findings[1]?.text).toContain('The machine asked for grubx64.efi over TFTP 2 times and it is not in the TFTP root /srv/boot')
    expect(findings[1]?.event_ids).toEqual([t2.id, t1.id])
  })

  it('blames the driver or the image when the kernel and initrd were fetched and nothing registered within the time-out', () => {
    const tl = timeline()
    dora(tl, 0, 1)
    tl.add(2, 'tftp', 'transfer_complete', { file: 'bootx64.efi' })
    const k = tl.add(5, 'http', 'http_get', { path: '/files/discovery/vmlinuz', status: 200 })
    const i = tl.add(6, 'http', 'http_get', { path: '/files/discovery/initrd.img', status: 200 })
    expect(diagnose(tl.stored, {}, at(200))).toEqual([])
    const findings = diagnose(tl.stored, {}, at(400))
    expect(findings.map((f) => f.rule)).toEqual(['no_registration'])
    expect(findings[0]).toMatchObject({ event_ids: [i.id, k.id], title: 'The machine fetched its kernel and initrd but never registered' })
    expect(findings[0]?.text).toContain('discovery/vmlinuz and discovery/initrd.img were fetched and no register followed within 5 min')
    expect(findings[0]?.text).toContain('driver or image problem: the kernel did not bring up the network or the image’s agent failed')
    // A shorter time-out, and other names (TFTP, generic kernel names).
    const tftp = timeline()
    tftp.add(0, 'tftp', 'transfer_complete', { file: 'images/linux' })
    tftp.add(1, 'tftp', 'transfer_complete', { file: 'images/initramfs-6.1.img' })
    expect(diagnose(tftp.stored, {}, at(61), { offerMs: 10_000, fetchMs: 15_000, registerMs: 60_000 }).map((f) => f.rule)).toEqual(['no_registration'])
  })

  it('is content once the machine speaks after its kernel, and watches the installer’s kernel too', () => {
    const tl = timeline()
    tl.add(5, 'http', 'http_get', { path: '/files/discovery/vmlinuz', status: 200 })
    tl.add(6, 'http', 'http_get', { path: '/files/discovery/initrd.img', status: 200 })
    tl.add(30, 'api', 'register', {}, 3)
    tl.add(40, 'api', 'bootenv', { bootenv: 'debian-12-install' }, 3)
    expect(diagnose(tl.stored, {}, at(1000))).toEqual([])
    tl.add(60, 'http', 'http_get', { path: '/files/debian-installer/amd64/linux', status: 200 }, 3)
    tl.add(61, 'http', 'http_get', { path: '/files/debian-installer/amd64/initrd.gz', status: 200 }, 3)
    const findings = diagnose(tl.stored, {}, at(1000))
    expect(findings.map((f) => f.title)).toEqual(['The installer fetched its kernel and initrd and then said nothing'])
    tl.add(90, 'install', 'install_step', { step: 'partition' }, 3)
    expect(diagnose(tl.stored, {}, at(1000))).toEqual([])
  })

  it('says a registered node cannot be reached over SSH, with the probe’s event', () => {
    const tl = timeline()
    const reg = tl.add(0, 'api', 'register', {}, 3)
    const probe = tl.add(100, 'api', 'ssh_unreachable', { address: '198.19.5.100', port: 22, error: 'ECONNREFUSED' }, 3)
    const ssh = { node: 'd52-54-00-12-34-56.lab.test', address: '198.19.5.100', port: 22, reachable: false, error: 'connection refused' }
    const findings = diagnose(tl.stored, { ssh }, at(120))
    expect(findings).toEqual([
      expect.objectContaining({ rule: 'ssh_unreachable', event_ids: [probe.id, reg.id], at: probe.t, title: 'd52-54-00-12-34-56.lab.test cannot be reached over SSH' })
    ])
    expect(findings[0]?.text).toContain('registered but SSH to 198.19.5.100:22 failed (connection refused)')
    expect(diagnose(tl.stored, { ssh: { ...ssh, reachable: true } }, at(120))).toEqual([])
    // Not for a machine that never registered.
    expect(diagnose([], { ssh }, at(120))).toEqual([])
  })

  it('orders findings newest first', () => {
    const tl = timeline()
    tl.add(0, 'tftp', 'error_sent', { file: 'a.efi', code: 1, searched: '/r' })
    tl.add(5, 'tftp', 'transfer_error', { file: 'b', outcome: 'timed-out', retransmits: 5, block: 3, blockSize: 512 })
    tl.add(9, 'tftp', 'error_sent', { file: 'c.efi', code: 1, searched: '/r' })
    expect(diagnose(tl.stored, {}, at(10)).map((f) => f.title)).toEqual(['Boot file c.efi not found', 'TFTP transfer of b stalled at block 4', 'Boot file a.efi not found'])
  })
})

function timelineWith(detail: Record<string, unknown>): BootEvent[] {
  const tl = timeline()
  tl.add(0, 'dhcp', 'request', { xid: 1, ...detail })
  return tl.stored
}

describe('bootProgress', () => {
  it('is empty before any event', () => {
    expect(bootProgress([], { node_id: 4, mac: null })).toEqual({ node_id: 4, mac: null, phase: null, phases: {}, install_step: null, last_event_at: null })
  })

  it('follows a whole provisioning: PXE, discovery, install with its steps, local disk, alive', () => {
    const tl = timeline()
    const d = tl.add(0, 'dhcp', 'discover', { xid: 1 })
    tl.add(1, 'dhcp', 'offer', { xid: 1 })
    expect(bootProgress(tl.stored)).toMatchObject({ phase: 'pxe', phases: { pxe: d.t }, mac: MAC })
    const k = tl.add(5, 'http', 'http_get', { path: '/files/discovery/vmlinuz', status: 200 })
    expect(bootProgress(tl.stored)).toMatchObject({ phase: 'discovery', phases: { discovery: k.t } })
    tl.add(30, 'api', 'register', {}, 3)
    const a1 = tl.add(35, 'api', 'alive', { alive: true }, 3)
    expect(bootProgress(tl.stored)).toMatchObject({ phase: 'alive', phases: { discovery: k.t, alive: a1.t } })
    const b = tl.add(40, 'api', 'bootenv', { bootenv: 'ubuntu-24.04-install' }, 3)
    tl.add(60, 'http', 'http_get', { path: '/files/ubuntu-24.04/casper/vmlinuz', status: 200 }, 3)
    tl.add(80, 'install', 'install_step', { step: 'partition' }, 3)
    tl.add(90, 'install', 'install_step', { step: 'image', percent: 40 }, 3)
    const p = bootProgress(tl.stored)
    expect(p).toMatchObject({ phase: 'install', install_step: 'image 40%', phases: { pxe: d.t, discovery: k.t, install: b.t } })
    expect(p.phases.alive).toBeUndefined()
    tl.add(200, 'install', 'install_step', { step: 'done' }, 3)
    tl.add(201, 'api', 'bootenv', { bootenv: 'local' }, 3)
    expect(bootProgress(tl.stored)).toMatchObject({ phase: 'install', install_step: 'done' })
    const d2 = tl.add(260, 'dhcp', 'discover', { xid: 2 }, 3)
    expect(bootProgress(tl.stored)).toMatchObject({ phase: 'local_disk', phases: { local_disk: d2.t } })
    tl.add(290, 'api', 'alive', { alive: false }, 3)
    expect(bootProgress(tl.stored).phase).toBe('local_disk')
    const a2 = tl.add(300, 'api', 'alive', { alive: true }, 3)
    const last = tl.add(301, 'dhcp', 'ack', { xid: 2 }, 3)
    expect(bootProgress(tl.stored, { node_id: 3 })).toEqual({
      node_id: 3,
      mac: MAC,
      phase: 'alive',
      phases: { pxe: d.t, discovery: k.t, install: b.t, local_disk: d2.t, alive: a2.t },
      install_step: 'done',
      last_event_at: last.t
    })
  })

  it('takes the register as discovery when the kernel came another way, and the installer’s first report as the install', () => {
    const tl = timeline()
    const r = tl.add(0, 'api', 'register', {}, 3)
    const s = tl.add(10, 'install', 'install_step', { step: 'partition', percent: 0 }, 3)
    expect(bootProgress(tl.stored)).toMatchObject({ phase: 'install', phases: { discovery: r.t, install: s.t }, install_step: 'partition 0%' })
    const alive = tl.add(20, 'api', 'alive', { alive: true }, 3)
    // Alive before the install finished is not the installed system.
    expect(bootProgress(tl.stored).phase).toBe('install')
    expect(alive.id).toBeGreaterThan(s.id)
  })

  it('gives the same answer from only the events isProgressEvent keeps, with the newest time passed in', () => {
    const tl = timeline()
    dora(tl, 0, 1)
    tl.add(3, 'tftp', 'rrq', { file: 'discovery/vmlinuz' })
    tl.add(4, 'tftp', 'transfer_complete', { file: 'discovery/vmlinuz' })
    tl.add(30, 'api', 'register', {}, 3)
    tl.add(31, 'api', 'alive', { alive: true }, 3)
    const last = tl.add(32, 'dhcp', 'ack', { xid: 7 }, 3)
    const full = bootProgress(tl.stored)
    expect(bootProgress(tl.stored.filter(isProgressEvent), { lastEventAt: last.t, mac: MAC })).toEqual(full)
    expect(full.phase).toBe('alive')
  })
})

describe('diagnose, after the boot went on', () => {
  it('drops a missing asset or a stall once the same file was fetched, and missed offers once one of ours was taken', () => {
    const tl = timeline()
    tl.add(0, 'tftp', 'error_sent', { file: 'bootx64.efi', code: 1, searched: '/r' })
    tl.add(1, 'tftp', 'transfer_error', { file: 'discovery/initrd.img', outcome: 'timed-out', retransmits: 5, block: 9, blockSize: 1468 })
    tl.add(2, 'dhcp', 'offer', { xid: 1, server_id: OURS })
    dora(tl, 30, 2, 0)
    expect(diagnose(tl.stored, {}, at(100)).map((f) => f.rule)).toEqual(['tftp_stalled', 'asset_not_found'])
    tl.add(40, 'tftp', 'transfer_complete', { file: 'bootx64.efi' })
    tl.add(41, 'tftp', 'transfer_complete', { file: 'discovery/initrd.img' })
    expect(diagnose(tl.stored, {}, at(100))).toEqual([])
  })
})
