// The timeline's one-line summaries, trouble marks and phase grouping (pure).
import { describe, expect, it } from 'vitest'
import type { BootEvent } from '../../../src-main/model'
import { bootEventSummary, groupByPhase, isTroubleEvent } from './boot-event-text'

let next = 1
const ev = (source: BootEvent['source'], event: string, detail: BootEvent['detail'], t = '2026-12-03T10:00:00.000Z'): BootEvent => ({ id: next++, mac: '52:54:00:00:00:01', node_id: null, t, source, event, detail })

describe('boot event text', () => {
  it('says what each source’s event is about in one line', () => {
    expect(bootEventSummary(ev('dhcp', 'discover', { xid: 1, arch: 7, vendor_class: 'PXEClient:Arch:00007', user_class: ['iPXE'] }))).toBe('arch 7 · PXEClient:Arch:00007 · user class iPXE')
    expect(bootEventSummary(ev('dhcp', 'ack', { address: '10.0.0.5', boot_file: 'ipxe.efi', next_server: '10.0.0.1' }))).toBe('address 10.0.0.5 · boot file ipxe.efi · next server 10.0.0.1')
    expect(bootEventSummary(ev('tftp', 'transfer_complete', { file: 'undionly.kpxe', bytes: 70_000, ms: 41, retransmits: 2, client: '10.0.0.5' }))).toBe('undionly.kpxe · 68.4 KiB · 41 ms · 2 retransmits · from 10.0.0.5')
    expect(bootEventSummary(ev('http', 'http_get', { path: '/files/discovery/vmlinuz', status: 200, bytes: 5 * 1024 * 1024, ms: 900 }))).toBe('/files/discovery/vmlinuz · HTTP 200 · 5.0 MiB · 900 ms')
    expect(bootEventSummary(ev('api', 'register', { created: true, node_id: 4, client: '10.0.0.5' }))).toBe('new node · node 4 · from 10.0.0.5')
    expect(bootEventSummary(ev('install', 'install_step', { step: 'image', percent: 40 }))).toBe('image 40%')
    expect(bootEventSummary(ev('install', 'install_step', { step: 'failed', message: 'sfdisk could not partition /dev/vda' }))).toBe('failed · sfdisk could not partition /dev/vda')
  })

  it('marks refusals and failures, not ordinary events', () => {
    expect(isTroubleEvent(ev('http', 'http_get', { status: 404 }))).toBe(true)
    expect(isTroubleEvent(ev('http', 'http_get', { status: 200 }))).toBe(false)
    expect(isTroubleEvent(ev('tftp', 'transfer_error', {}))).toBe(true)
    expect(isTroubleEvent(ev('install', 'install_step', { step: 'failed' }))).toBe(true)
    expect(isTroubleEvent(ev('install', 'install_step', { step: 'done' }))).toBe(false)
    expect(isTroubleEvent(ev('dhcp', 'nak', {}))).toBe(true)
  })

  it('groups a timeline by the phase that had begun at each event, oldest first', () => {
    const a = ev('dhcp', 'discover', {}, '2026-12-03T10:00:00.000Z')
    const b = ev('api', 'register', {}, '2026-12-03T10:01:00.000Z')
    const c = ev('install', 'install_step', { step: 'partition' }, '2026-12-03T10:02:00.000Z')
    const groups = groupByPhase([c, b, a], { pxe: a.t, discovery: b.t, install: c.t })
    expect(groups.map((g) => [g.phase, g.events.map((e) => e.id)])).toEqual([
      ['pxe', [a.id]],
      ['discovery', [b.id]],
      ['install', [c.id]]
    ])
    expect(groupByPhase([b, a], null).map((g) => g.phase)).toEqual([null])
  })
})
