// diagnoseBoot and listBootProgress over a real store: the timeline read, a real TCP probe of the
// node's SSH port (a listening socket, then a closed port), its failure recorded once, and every
// node's progress from the bounded queries agreeing with the pure function on the whole timeline.
import net from 'node:net'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createHandlers } from '../../api/handlers'
import { createRootLogger } from '../../base/log'
import { createNode } from '../../domain/nodes'
import type { BootEventSource } from '../../model'
import { appendBootEvents, listBootEvents, type NewBootEvent } from '../../store/boot-events'
import { startTestApp, type TestApp } from '../../testing/test-app'
import { STORE_KINDS } from '../../testing/test-stores'
import { bootProgress } from './boot-progress'
import { BootRecorder } from './boot-recorder'

const T0 = Date.parse('2026-01-02T02:00:00.000Z')
const t = (s: number): string => new Date(T0 + s * 1000).toISOString()
const ev = (mac: string, s: number, source: BootEventSource, event: string, detail: Record<string, unknown> = {}): NewBootEvent => ({ mac, t: t(s), source, event, detail })

describe.each(STORE_KINDS)('boot diagnosis and progress on %s', (kind) => {
  let app: TestApp
  let recorder: BootRecorder
  let listener: net.Server | undefined

  beforeEach(async () => {
    app = await startTestApp(kind)
    recorder = new BootRecorder({ ctx: app.ctx, logger: createRootLogger('silent') })
  })
  afterEach(async () => {
    await recorder.dispose()
    if (listener) await new Promise((r) => listener?.close(r))
    listener = undefined
    await app.dispose()
  })

  async function node(name: string, macs: string[], hint: Record<string, string> = {}): Promise<number> {
    const n = await createNode(app.ctx, { name, description: '', admin: false, alive: true, available: true, bootenv: 'local', hint })
    for (const mac of macs) await app.ctx.db.insertInto('node_macs').values({ mac, node_id: n.id }).execute()
    return n.id
  }

  async function freePort(): Promise<number> {
    const s = net.createServer()
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r))
    const port = (s.address() as net.AddressInfo).port
    await new Promise((r) => s.close(r))
    return port
  }

  it('finds a missing asset by MAC before the machine is a node, and refuses a query naming nothing', async () => {
    const mac = '52:54:00:00:00:01'
    await appendBootEvents(app.ctx.db, [ev(mac, 0, 'dhcp', 'discover', { xid: 1 }), ev(mac, 1, 'tftp', 'error_sent', { file: 'bootx64.efi', code: 1, searched: '/srv/tftp' })])
    const handlers = createHandlers(app.ctx, { version: 'test', location: 'test', setup: app.setup, bootDiagnosis: { recorder } })
    const d = await handlers.diagnoseBoot({ mac })
    expect(d).toMatchObject({ mac, node_id: null, progress: { phase: 'pxe', mac } })
    expect(d.findings.map((f) => f.rule)).toEqual(['asset_not_found'])
    expect(d.findings[0]?.text).toContain('bootx64.efi over TFTP once and it is not in the TFTP root /srv/tftp')
    await expect(handlers.diagnoseBoot({})).rejects.toMatchObject({ kind: 'invalid' })
    await expect(handlers.diagnoseBoot({ node_id: 999 })).rejects.toMatchObject({ kind: 'not_found' })
  })

  it('knows our server identifier from the admin node’s address when no reply of ours is on the timeline', async () => {
    const mac = '52:54:00:00:00:05'
    await createNode(app.ctx, { name: 'admin.lab.test', description: '', admin: true, alive: true, available: true, bootenv: 'local', hint: { admin_address: '198.19.5.1' } })
    await appendBootEvents(app.ctx.db, [ev(mac, 0, 'dhcp', 'discover', { xid: 1 }), ev(mac, 1, 'dhcp', 'request', { xid: 1, server_id: '198.19.5.2', address: '198.19.5.201' })])
    const handlers = createHandlers(app.ctx, { version: 'test', location: 'test', setup: app.setup })
    const d = await handlers.diagnoseBoot({ mac })
    expect(d.findings.map((f) => f.title)).toEqual(['The client asked another DHCP server (198.19.5.2) for its address'])
  })

  it('probes a registered node’s SSH port: quiet while it listens, a finding and one recorded event when it is closed', async () => {
    const mac = '52:54:00:00:00:02'
    listener = net.createServer((s) => s.destroy())
    await new Promise<void>((r) => listener?.listen(0, '127.0.0.1', r))
    const open = (listener.address() as net.AddressInfo).port
    const id = await node('n2.lab.test', [mac], { admin_address: '127.0.0.1' })
    await appendBootEvents(app.ctx.db, [ev(mac, 0, 'dhcp', 'discover', { xid: 1 }), ev(mac, 30, 'api', 'register', { node_id: id })])
    const reachable = createHandlers(app.ctx, { version: 'test', location: 'test', setup: app.setup, bootDiagnosis: { recorder, sshPort: open } })
    expect(await reachable.diagnoseBoot({ node_id: id })).toMatchObject({ node_id: id, mac, findings: [], progress: { phase: 'discovery', node_id: id } })

    const closed = await freePort()
    const handlers = createHandlers(app.ctx, { version: 'test', location: 'test', setup: app.setup, bootDiagnosis: { recorder, sshPort: closed } })
    const d = await handlers.diagnoseBoot({ mac })
    expect(d.findings.map((f) => f.rule)).toEqual(['ssh_unreachable'])
    expect(d.findings[0]?.text).toContain(`n2.lab.test registered but SSH to 127.0.0.1:${closed} failed (connection refused: nothing listens on the port (ECONNREFUSED))`)
    const probes = (await listBootEvents(app.ctx.db, { mac, limit: 100 })).filter((e) => e.event === 'ssh_unreachable')
    expect(probes).toEqual([expect.objectContaining({ source: 'api', node_id: id, detail: { address: '127.0.0.1', port: closed, error: expect.stringContaining('ECONNREFUSED') } })])
    expect(d.findings[0]?.event_ids[0]).toBe(probes[0]?.id)
    // Asked again: the same finding, not a second event.
    await handlers.diagnoseBoot({ node_id: id })
    expect((await listBootEvents(app.ctx.db, { mac, limit: 100 })).filter((e) => e.event === 'ssh_unreachable')).toHaveLength(1)
  })

  it('lists every node’s progress, as the pure function gives it from each whole timeline', async () => {
    const a = await node('a.lab.test', ['52:54:00:00:01:01', '52:54:00:00:01:02'])
    const b = await node('b.lab.test', ['52:54:00:00:02:01'])
    const c = await node('c.lab.test', [])
    await appendBootEvents(app.ctx.db, [
      ev('52:54:00:00:01:02', 0, 'dhcp', 'discover', { xid: 1 }),
      ev('52:54:00:00:01:02', 1, 'dhcp', 'offer', { xid: 1 }),
      ev('52:54:00:00:01:02', 5, 'http', 'http_get', { path: '/files/discovery/vmlinuz', status: 200 }),
      ev('52:54:00:00:01:02', 30, 'api', 'register', {}),
      ev('52:54:00:00:01:01', 40, 'api', 'bootenv', { bootenv: 'debian-12-install' }),
      ev('52:54:00:00:01:01', 50, 'install', 'install_step', { step: 'image', percent: 70 }),
      ev('52:54:00:00:01:01', 60, 'tftp', 'rrq', { file: 'x' }),
      ev('52:54:00:00:02:01', 0, 'dhcp', 'discover', { xid: 2 }),
      ev('52:54:00:00:02:01', 3, 'dhcp', 'ack', { xid: 2 }),
      // Not linked to any node: in no one's progress.
      ev('52:54:00:00:09:09', 0, 'dhcp', 'discover', { xid: 3 })
    ])
    const handlers = createHandlers(app.ctx, { version: 'test', location: 'test', setup: app.setup })
    const all = await handlers.listBootProgress({})
    expect(all.map((p) => [p.node_id, p.phase, p.mac])).toEqual([
      [a, 'install', '52:54:00:00:01:02'],
      [b, 'pxe', '52:54:00:00:02:01'],
      [c, null, null]
    ])
    expect(all[0]).toMatchObject({ install_step: 'image 70%', last_event_at: t(60), phases: { pxe: t(0), discovery: t(5), install: t(40) } })
    expect(all[1]?.last_event_at).toBe(t(3))
    for (const id of [a, b]) {
      const whole = await listBootEvents(app.ctx.db, { node_id: id, limit: 1000 })
      const fromWhole = bootProgress(whole, { node_id: id })
      const listed = all.find((p) => p.node_id === id)
      expect(listed && { ...listed, mac: null }).toEqual({ ...fromWhole, mac: null })
    }
  })
})
