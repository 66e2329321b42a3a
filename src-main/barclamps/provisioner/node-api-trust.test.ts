// The node-facing API as an attacker on the rack network meets it: curl from a network namespace
// against HTTP boot on the host end of a veth pair. A registration never moves a MAC or rewrites a
// node it holds no secret for; alive and bootenv need the node's own secret; new machines are
// rate-limited per source and capped while many wait for the operator. Needs root (namespaces).
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createRootLogger } from '../../base/log'
import { createDeployment } from '../../domain/deployments'
import { bindNodeRole } from '../../domain/noderole-binding'
import { createNode } from '../../domain/nodes'
import { BootHttpServer } from '../../services/http/boot-http-server'
import { writeSettings, SETTING } from '../../store/settings'
import { startTestApp, type TestApp } from '../../testing/test-app'
import { createTestLink, type TestLink } from '../../testing/test-link'

interface Answer {
  readonly status: number
  readonly json: Record<string, unknown> & { error?: { kind: string; message: string } }
}

describe('node-facing API trust (rack namespace, curl)', () => {
  let app: TestApp
  let link: TestLink
  let server: BootHttpServer

  beforeEach(async () => {
    app = await startTestApp('sqlite', { bootstrap: true })
    link = await createTestLink()
    await link.exec('ip', ['addr', 'add', `${link.prefix}2/24`, 'dev', link.peerIf])
    await link.exec('ip', ['addr', 'add', `${link.prefix}3/24`, 'dev', link.peerIf])
    server = new BootHttpServer({ address: link.hostAddress, port: 0, router: app.bootRoutes, logger: createRootLogger('silent') })
    await server.start()
  })
  afterEach(async () => {
    await server?.stop()
    await link?.stop()
    await app?.dispose()
  })

  /** curl from the rack, from `from` (one of the namespace's addresses), with a secret or none. */
  async function rack(path: string, body: unknown, secret?: string, from = `${link.prefix}2`): Promise<Answer> {
    const args = ['-sS', '--max-time', '10', '--interface', from, '-w', '\n%{http_code}', '-X', 'POST', '-H', 'Content-Type: application/json', '--data', JSON.stringify(body)]
    if (secret) args.push('-H', `Authorization: Bearer ${secret}`)
    const r = await link.exec('curl', [...args, `${server.baseUrl}${path}`])
    const m = /\n(\d{3})$/.exec(r.stdout)
    return { status: Number(m?.[1] ?? 0), json: JSON.parse(r.stdout.replace(/\n\d{3}$/, '') || '{}') as Answer['json'] }
  }
  const register = (macs: string[], extra: Record<string, unknown> = {}, secret?: string, from?: string) =>
    rack('/api/node/register', { macs, disks: [{ name: 'vda', size_bytes: 8e9 }], ...extra }, secret, from)
  const nodeRow = (id: number) => app.ctx.db.selectFrom('nodes').selectAll().where('id', '=', id).executeTakeFirstOrThrow()
  const macsOf = async (id: number) => (await app.ctx.db.selectFrom('node_macs').select('mac').where('node_id', '=', id).orderBy('mac').execute()).map((r) => r.mac)

  it('never lets a host rewrite a node it holds no secret for, nor move a MAC from one node to another', async () => {
    const victim = await register(['52:54:00:00:00:0a'], { address: `${link.prefix}2` })
    expect(victim.status).toBe(200)
    const secret = String(victim.json.secret)
    expect(secret).toMatch(/^[0-9a-f]{64}$/)
    const victimId = Number(victim.json.node_id)
    const third = await register(['52:54:00:00:00:0c'], {}, undefined, `${link.prefix}3`)
    const thirdId = Number(third.json.node_id)
    const before = await nodeRow(victimId)

    // The attacker re-registers the victim's MAC, naming its own disk and SSH address: refused.
    const rewrite = await register(['52:54:00:00:00:0a'], { disks: [{ name: 'sdz', size_bytes: 1 }], address: '198.51.100.66' }, undefined, `${link.prefix}3`)
    expect(rewrite.status).toBe(401)
    expect(rewrite.json.error?.message).toMatch(/secret/)
    // With its own node's secret it is still not the victim's.
    const wrongSecret = await register(['52:54:00:00:00:0a'], { disks: [{ name: 'sdz', size_bytes: 1 }] }, String(third.json.secret), `${link.prefix}3`)
    expect(wrongSecret.status).toBe(403)
    // Moving the third node's MAC onto the victim (even with the victim's secret): refused with words.
    const move = await register(['52:54:00:00:00:0a', '52:54:00:00:00:0c'], {}, secret)
    expect(move.status).toBe(409)
    expect(move.json.error?.message).toMatch(/never moves a MAC/)

    const after = await nodeRow(victimId)
    expect({ discovery: after.discovery, hint: after.hint }).toEqual({ discovery: before.discovery, hint: before.hint })
    expect(await macsOf(victimId)).toEqual(['52:54:00:00:00:0a'])
    expect(await macsOf(thirdId)).toEqual(['52:54:00:00:00:0c'])

    // The victim itself, with its secret, re-registers (a second NIC found): accepted, no new secret.
    const again = await register(['52:54:00:00:00:0a', '52:54:00:00:00:0b'], {}, secret)
    expect(again.status).toBe(200)
    expect(again.json).toMatchObject({ node_id: victimId, created: false })
    expect(again.json.secret).toBeUndefined()
    expect(await macsOf(victimId)).toEqual(['52:54:00:00:00:0a', '52:54:00:00:00:0b'])
  }, 30_000)

  it('marks a node dead or sets its bootenv only with its own secret; the admin node never', async () => {
    const a = await register(['52:54:00:00:01:0a'])
    const b = await register(['52:54:00:00:01:0b'], {}, undefined, `${link.prefix}3`)
    const aId = Number(a.json.node_id)
    expect((await rack(`/api/node/${aId}/alive`, { alive: false })).status).toBe(401)
    expect((await rack(`/api/node/${aId}/alive`, { alive: false }, String(b.json.secret))).status).toBe(403)
    expect((await rack(`/api/node/${aId}/bootenv`, { bootenv: 'local' }, String(b.json.secret))).status).toBe(403)
    expect((await nodeRow(aId)).alive).toBe(1)
    const own = await rack(`/api/node/${aId}/alive`, { alive: false }, String(a.json.secret))
    expect({ status: own.status, alive: own.json.alive }).toEqual({ status: 200, alive: false })

    const admin = await app.ctx.db.selectFrom('nodes').select('id').where('admin', '=', 1).executeTakeFirstOrThrow()
    const dead = await rack(`/api/node/${admin.id}/alive`, { alive: false })
    expect(dead.status).toBe(401)
    expect((await nodeRow(admin.id)).alive).toBe(1)
  }, 30_000)

  it('lets a machine claim a node the operator made (no secret yet) once, then only with the secret it got', async () => {
    const made = await createNode(app.ctx, { name: 'made.crowbar.lab', description: '', admin: false, alive: false, available: true, bootenv: 'discovery', hint: {} })
    await app.ctx.db.insertInto('node_macs').values({ mac: '52:54:00:00:02:0a', node_id: made.id }).execute()
    const claimed = await register(['52:54:00:00:02:0a'])
    expect(claimed.json).toMatchObject({ node_id: made.id, created: false, secret: expect.stringMatching(/^[0-9a-f]{64}$/) })
    expect((await register(['52:54:00:00:02:0a'])).status).toBe(401)
    // The operator resets it (the machine was booted afresh into discovery): claimable again.
    await app.handlers.resetNodeSecret({ id: made.id })
    expect((await register(['52:54:00:00:02:0a'])).json).toMatchObject({ node_id: made.id, secret: expect.stringMatching(/^[0-9a-f]{64}$/) })
  }, 30_000)

  it('rate-limits new machines per source and caps them while many wait for the operator, saying why', async () => {
    const mac = (i: number) => `52:54:00:03:${(i >> 8).toString(16).padStart(2, '0')}:${(i & 0xff).toString(16).padStart(2, '0')}`
    // One host: a burst of 20, then refused with when to retry.
    const answers: Answer[] = []
    for (let i = 0; i < 21; i++) answers.push(await register([mac(i)]))
    expect(answers.slice(0, 20).every((a) => a.status === 200)).toBe(true)
    expect(answers[20]?.status).toBe(429)
    expect(answers[20]?.json.error?.message).toMatch(/too many registrations from .*: at most 20 at once .* retry in \d+ s/)
    // Another host still registers ...
    expect((await register([mac(100)], {}, undefined, `${link.prefix}3`)).status).toBe(200)
    // ... until the discovered nodes waiting for the operator reach the cap.
    await writeSettings(app.ctx.db, { [SETTING.maxUnapprovedNodes]: '21' })
    const capped = await register([mac(101)], {}, undefined, `${link.prefix}3`)
    expect(capped.status).toBe(429)
    expect(capped.json.error?.message).toMatch(/21 discovered nodes are waiting for the operator .* bind or delete some/)
    // The operator uses one: the next machine registers.
    const deployment = await createDeployment(app.ctx, { name: 'rack', description: '' })
    await bindNodeRole(app.ctx, { deployment_id: deployment.id, node_id: Number(answers[0]?.json.node_id), role: 'test-library' })
    expect((await register([mac(102)], {}, undefined, `${link.prefix}3`)).status).toBe(200)
    // Nothing the refusals asked for was created.
    const count = await app.ctx.db.selectFrom('node_macs').select('mac').where('mac', 'in', [mac(20), mac(101)]).execute()
    expect(count).toEqual([])
  }, 60_000)

  it('keeps the BMC a machine read in band, and a node enrolled by its BMC is claimed by that machine only', async () => {
    // A machine with a BMC the operator never enrolled: discovery's facts, no password yet.
    const plain = await register(['52:54:00:00:04:01'], { bmc: { mac: '52:54:00:bb:04:01', address: '10.9.0.41', ip_source: 'Static Address', channel: 1 } })
    expect(plain.status).toBe(200)
    const found = await app.handlers.getNodeBmc({ id: Number(plain.json.node_id) })
    expect(found).toMatchObject({ source: 'discovery', protocol: 'ipmi', address: '10.9.0.41', port: 623, mac: '52:54:00:bb:04:01', has_password: false })
    expect(await app.handlers.powerNode({ id: Number(plain.json.node_id), action: 'status' })).toMatchObject({ ok: false, error: { kind: 'unconfigured', message: expect.stringMatching(/no password stored/) } })

    // The operator enrolls a machine that is still off by its BMC (address, user, password).
    const enrolled = await app.handlers.createNode({ name: 'rack1-u7.lab.test', description: '', admin: false, alive: false, available: true, bootenv: 'discovery', hint: {} })
    await app.handlers.setNodeBmc({ id: enrolled.id, protocol: 'ipmi', address: '10.9.0.42', username: 'admin', password: 'factory-pw' })
    // Its first boot registers with its own MACs and the BMC it reads in band: the same node.
    const first = await register(['52:54:00:00:04:02'], { bmc: { mac: '52:54:00:bb:04:02', address: '10.9.0.42', ip_source: 'Static Address' } })
    expect(first.json).toMatchObject({ node_id: enrolled.id, created: false, secret: expect.stringMatching(/^[0-9a-f]{64}$/) })
    expect(await macsOf(enrolled.id)).toEqual(['52:54:00:00:04:02'])
    expect((await nodeRow(enrolled.id)).alive).toBe(1)
    // The operator's settings stay; the BMC's MAC is learnt; the discovery roles are bound.
    expect(await app.handlers.getNodeBmc({ id: enrolled.id })).toMatchObject({ source: 'operator', address: '10.9.0.42', username: 'admin', has_password: true, mac: '52:54:00:bb:04:02' })
    const roles = (await app.handlers.listNodeRoles({ node_id: enrolled.id })).map((nr) => nr.role)
    expect(roles).toEqual(expect.arrayContaining(['network-admin', 'crowbar-managed-node']))
    // Another machine naming the same BMC address claims nothing: the node is taken (it has MACs).
    const other = await register(['52:54:00:00:04:03'], { bmc: { mac: '52:54:00:bb:04:03', address: '10.9.0.42' } })
    expect(other.json).toMatchObject({ created: true })
    expect(other.json.node_id).not.toBe(enrolled.id)
    // A malformed BMC fact is refused with words, and nothing is made.
    const bad = await register(['52:54:00:00:04:04'], { bmc: { address: '10.9.0.999x' } })
    expect(bad.status).toBe(400)
    expect(bad.json.error?.message).toMatch(/bmc/)
  }, 30_000)

  it('keeps the NIC inventory and hardware model a machine reports, for conduits, and refuses a malformed NIC', async () => {
    const nics = [
      { name: 'eno1', mac: '3C:FD:FE:00:05:01', speed_mbps: 1000, bus_path: '0000:02:00.0', link: true },
      { name: 'enp65s0f0', mac: '3c:fd:fe:00:05:10', speed_mbps: null, bus_path: null, link: null }
    ]
    const ok = await register(['3c:fd:fe:00:05:01'], { nics, model: 'PowerEdge R640' })
    expect(ok.status).toBe(200)
    const node = await nodeRow(Number(ok.json.node_id))
    expect(JSON.parse(node.discovery)).toMatchObject({ nics: [{ ...nics[0], mac: '3c:fd:fe:00:05:01' }, nics[1]], model: 'PowerEdge R640' })
    const bad = await register(['3c:fd:fe:00:05:02'], { nics: [{ name: 'eth0; reboot', mac: '3c:fd:fe:00:05:02', speed_mbps: 1000, bus_path: null, link: true }] })
    expect(bad.status).toBe(400)
    expect(bad.json.error?.message).toMatch(/nics/)
  }, 30_000)
})
