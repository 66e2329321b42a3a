// The provisioner's routes served by HTTP boot over a real socket, on a real store of each kind:
// a registered node in an installer bootenv gets the installer's iPXE script and its answer files rendered from the store, and the
// installer's last call (real wget, busybox wget and curl) sets its bootenv to local.
import { execFile } from 'node:child_process'
import { mkdir, mkdtemp, rm, symlink } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { curlSetLocal, wgetSetLocal } from './answer-files'
import { OS_INSTALL_ROLE } from './os-install-role'
import { commitDeployment, createDeployment } from '../../domain/deployments'
import { bindNodeRole } from '../../domain/noderole-binding'
import { setNodeRoleData } from '../../domain/noderoles'
import { createNode } from '../../domain/nodes'
import { createRootLogger } from '../../base/log'
import { STORE_KINDS } from '../../testing/test-stores'
import { startTestApp, type TestApp } from '../../testing/test-app'
import { BootHttpServer } from '../../services/http/boot-http-server'
import { SETTING } from '../../store/settings'

const MIRROR_SETTING = SETTING.provisionerMirror

const MAC = '52:54:00:c0:ff:ee'

/** A shell command, asynchronously: the server it calls runs in this process's event loop. */
function sh(command: string, path: string): Promise<{ status: number; stderr: string }> {
  return new Promise((resolve) => {
    execFile('sh', ['-c', command], { env: { ...process.env, PATH: path }, timeout: 15_000, encoding: 'utf8' }, (err, _stdout, stderr) => {
      const code = err && typeof err.code === 'number' ? err.code : err ? -1 : 0
      resolve({ status: code, stderr })
    })
  })
}
const DASHED = '52-54-00-c0-ff-ee'

describe.each(STORE_KINDS)('HTTP boot of the installer bootenvs (%s)', (kind) => {
  let app: TestApp
  let server: BootHttpServer
  let base: string
  let scratch: string | undefined

  beforeEach(async () => {
    app = await startTestApp(kind, { bootstrap: true })
    server = new BootHttpServer({
      address: '127.0.0.1',
      port: 0,
      router: app.bootRoutes,
      logger: createRootLogger('silent')
    })
    await server.start()
    base = server.baseUrl
  })
  afterEach(async () => {
    await server?.stop()
    await app?.dispose()
    if (scratch) await rm(scratch, { recursive: true, force: true })
    scratch = undefined
  })

  /** A node-facing call, with the node's secret when there is one. */
  const post = (path: string, body: unknown, secret?: string) =>
    fetch(`${base}${path}`, { method: 'POST', headers: { 'Content-Type': 'application/json', ...(secret ? { Authorization: `Bearer ${secret}` } : {}) }, body: JSON.stringify(body) })

  /** The operator's side: the only one that may put a node in an installer bootenv. */
  const setBootenv = (id: number, bootenv: string) => app.handlers.updateNode({ id, bootenv })
  const bootenvOf = async (id: number) => (await app.handlers.listNodes({})).find((n) => n.id === id)?.bootenv
  const discoveryOf = async (id: number) =>
    JSON.parse((await app.ctx.db.selectFrom('nodes').select('discovery').where('id', '=', id).executeTakeFirstOrThrow()).discovery) as Record<string, unknown>

  /** A machine that booted discovery: registered with `disks`, then put in `bootenv` by the operator. */
  async function registered(
    bootenv: string,
    disks: unknown[] = [{ name: 'vda', size_bytes: 8e9 }],
    secret?: string
  ): Promise<{ id: number; name: string; v4: string; v6: string; secret: string }> {
    const reg = (await (await post('/api/node/register', { macs: [MAC], disks }, secret)).json()) as { node_id: number; name: string; secret?: string }
    expect((await setBootenv(reg.node_id, bootenv)).bootenv).toBe(bootenv)
    const node = (await app.handlers.listNodes({})).find((n) => n.id === reg.node_id)
    return {
      id: reg.node_id,
      name: reg.name,
      v4: node?.addresses.find((a) => a.family === 4)?.address ?? '',
      v6: node?.addresses.find((a) => a.family === 6)?.address ?? '',
      secret: reg.secret ?? secret ?? ''
    }
  }

  async function getText(path: string): Promise<{ status: number; type: string | null; body: string }> {
    const res = await fetch(`${base}${path}`)
    return { status: res.status, type: res.headers.get('content-type'), body: await res.text() }
  }

  it('boots a node in debian-12-install into the Debian installer with its preseed URL, and serves that preseed', async () => {
    const node = await registered('debian-12-install')
    expect(node.name).toBe('d52-54-00-c0-ff-ee.crowbar.lab')
    expect(node.v4).toMatch(/^192\.168\.124\.\d+$/)

    const script = await getText(`/boot/${DASHED}.ipxe`)
    expect(script.body.split('\n')).toEqual([
      '#!ipxe',
      `# bootenv debian-12-install for ${MAC}`,
      `kernel ${base}/files/debian-installer/amd64/linux initrd=initrd.gz auto=true priority=critical url=${base}/answers/${DASHED}/preseed.cfg interface=auto hostname=d52-54-00-c0-ff-ee domain=crowbar.lab`,
      `initrd --name initrd.gz ${base}/files/debian-installer/amd64/initrd.gz`,
      'boot',
      ''
    ])

    // Colons (as typed) and dashes (as the kernel line has them) name the same node.
    const preseed = await getText(`/answers/${MAC}/preseed.cfg`)
    expect(preseed.status).toBe(200)
    expect(preseed.type).toBe('text/plain; charset=utf-8')
    expect((await getText(`/answers/${DASHED}/preseed.cfg`)).body).toBe(preseed.body)
    const lines = preseed.body.split('\n')
    expect(lines).toEqual(
      expect.arrayContaining([
        `d-i netcfg/get_ipaddress string ${node.v4}`,
        'd-i netcfg/get_netmask string 255.255.255.0',
        'd-i netcfg/get_gateway string 192.168.124.1',
        'd-i netcfg/get_nameservers string 127.0.0.1',
        'd-i netcfg/get_hostname string d52-54-00-c0-ff-ee',
        'd-i netcfg/get_domain string crowbar.lab',
        'd-i mirror/http/hostname string deb.debian.org',
        // The disk the discovery image registered.
        'd-i partman-auto/disk string /dev/vda'
      ])
    )
    const late = lines.find((l) => l.startsWith('d-i preseed/late_command string ')) ?? ''
    expect(late).toContain(`echo '${app.adminKeys.publicKey.trim()}' > /target/root/.ssh/authorized_keys`)
    expect(late).toContain(`echo '    address ${node.v6}/64'`)
    expect(late).toContain(`'${base}/api/node/${node.id}/bootenv'`)
  })

  it('serves a node in ubuntu-24.04-install the casper kernel with its NoCloud URL, and its user-data and meta-data', async () => {
    const node = await registered('ubuntu-24.04-install')
    const script = await getText(`/boot/${MAC}.ipxe`)
    const kernel = script.body.split('\n').find((l) => l.startsWith('kernel ')) ?? ''
    expect(kernel).toBe(
      `kernel ${base}/files/ubuntu-24.04/casper/vmlinuz initrd=initrd ip=dhcp url=${base}/files/ubuntu-24.04/live-server-amd64.iso ` +
        `cloud-config-url=/dev/null autoinstall ds=nocloud-net;s=${base}/answers/${DASHED}/`
    )
    // NoCloud appends the file names to s=: exactly the paths served.
    const userData = await getText(`/answers/${DASHED}/user-data`)
    expect(userData.status).toBe(200)
    expect(userData.type).toBe('text/plain; charset=utf-8')
    expect(userData.body).toMatch(/^#cloud-config\nautoinstall:\n {2}version: 1\n/)
    expect(userData.body).toContain(`    hostname: "d52-54-00-c0-ff-ee"\n`)
    expect(userData.body).toContain(`          macaddress: "${MAC}"\n`)
    expect(userData.body).toContain(`          - "${node.v4}/24"\n          - "${node.v6}/64"\n`)
    expect(userData.body).toContain(`      - ${JSON.stringify(app.adminKeys.publicKey.trim())}\n`)
    expect(userData.body).toContain(`        path: "/dev/vda"\n`)
    const metaData = await getText(`/answers/${DASHED}/meta-data`)
    expect(metaData.body).toBe('instance-id: "crowbar-d52-54-00-c0-ff-ee.crowbar.lab"\nlocal-hostname: "d52-54-00-c0-ff-ee"\n')
  })

  it('takes the installer’s last call from GNU wget, busybox wget and curl: the node’s bootenv becomes local', async () => {
    const node = await registered('debian-12-install')
    scratch = await mkdtemp(join(tmpdir(), 'crowbar-wget-'))
    // busybox answers to the name it is called by; a directory first on PATH makes it `wget`.
    await mkdir(join(scratch, 'busybox'))
    await symlink('/usr/bin/busybox', join(scratch, 'busybox', 'wget'))
    const url = `${base}/api/node/${node.id}/bootenv`
    // The installer never saw the node's secret: it carries the install token its preseed names.
    const token = /Authorization: Bearer ([0-9a-f]+)/.exec((await getText(`/answers/${DASHED}/preseed.cfg`)).body)?.[1] ?? ''
    expect(token).toMatch(/^[0-9a-f]{64}$/)
    expect(token).not.toBe(node.secret)
    const clients: Array<[string, string, string]> = [
      ['GNU wget', wgetSetLocal(url, token), process.env.PATH ?? '/usr/bin:/bin'],
      ['busybox wget', wgetSetLocal(url, token), `${join(scratch, 'busybox')}:${process.env.PATH ?? '/usr/bin:/bin'}`],
      ['curl', curlSetLocal(url, token), process.env.PATH ?? '/usr/bin:/bin']
    ]
    for (const [client, command, path] of clients) {
      await setBootenv(node.id, 'debian-12-install')
      const run = await sh(command, path)
      expect({ client, status: run.status, stderr: run.stderr }).toEqual({ client, status: 0, stderr: '' })
      expect(await bootenvOf(node.id)).toBe('local')
    }
    // Spent: once the node is local, the token no longer speaks for it, and it never could for alive.
    expect((await post(`/api/node/${node.id}/bootenv`, { bootenv: 'local' }, token)).status).toBe(401)
    expect((await post(`/api/node/${node.id}/alive`, { alive: false }, token)).status).toBe(401)
    expect((await getText(`/boot/${DASHED}.ipxe`)).body).not.toContain('kernel ')
  })

  it('refuses, on the node-facing API, every bootenv but local: no host on the rack can put a node in an installer', async () => {
    const node = await registered('local')
    const asked: unknown[] = [
      { bootenv: 'debian-12-install' },
      { bootenv: 'ubuntu-24.04-install' },
      { bootenv: 'discovery' },
      { bootenv: 'LOCAL' },
      { bootenv: 'local', alive: true },
      { bootenv: 7 },
      {},
      null
    ]
    for (const body of asked) {
      const res = await post(`/api/node/${node.id}/bootenv`, body, node.secret)
      const answer = ((await res.json()) as { error: { message: string } }).error
      expect({ body, status: res.status }).toEqual({ body, status: 400 })
      expect(answer.message).toContain('the node-facing API sets bootenv "local" only')
      expect(answer.message).toContain('the operator API: PATCH /api/v2/nodes/ID')
      expect(await bootenvOf(node.id)).toBe('local')
    }
    const installer = ((await (await post(`/api/node/${node.id}/bootenv`, { bootenv: 'debian-12-install' }, node.secret)).json()) as { error: { message: string } }).error
    expect(installer.message).toMatch(/^bootenv "debian-12-install" refused: /)
    // Nothing changed: the node still boots its disk, and its answer files still name it local.
    expect((await getText(`/boot/${DASHED}.ipxe`)).body).not.toContain('debian-installer')
    expect((await getText(`/boot/${DASHED}.ipxe`)).body).toContain('# bootenv local')

    // The operator's side sets an installer; the node-facing call then takes the node back to local.
    await setBootenv(node.id, 'debian-12-install')
    expect((await post(`/api/node/${node.id}/bootenv`, { bootenv: 'discovery' }, node.secret)).status).toBe(400)
    expect(await bootenvOf(node.id)).toBe('debian-12-install')
    const local = await post(`/api/node/${node.id}/bootenv`, { bootenv: 'local' }, node.secret)
    expect({ status: local.status, body: await local.json() }).toEqual({ status: 200, body: { id: node.id, bootenv: 'local' } })
    expect(await bootenvOf(node.id)).toBe('local')
  })

  it('registers disks with and without `removable`, keeps it in the inventory, and installs to the first fixed disk', async () => {
    // An image from before `removable`: the disk is stored as sent, and is the install disk.
    const old = (await (await post('/api/node/register', { macs: [MAC], disks: [{ name: 'vda', size_bytes: 8e9 }] })).json()) as { node_id: number; secret: string }
    expect((await discoveryOf(old.node_id)).disks).toEqual([{ name: 'vda', size_bytes: 8e9 }])

    // A USB stick listed first (sda), then software RAID, then the real disk.
    const disks = [
      { name: 'sda', size_bytes: 16e9, removable: true },
      { name: 'md0', size_bytes: 8e9, removable: false },
      { name: 'nvme0n1', size_bytes: 512e9, removable: false }
    ]
    const node = await registered('debian-12-install', disks, old.secret)
    expect(node.id).toBe(old.node_id)
    expect((await discoveryOf(node.id)).disks).toEqual(disks)
    const preseed = (await getText(`/answers/${DASHED}/preseed.cfg`)).body
    expect(preseed).toContain('d-i partman-auto/disk string /dev/nvme0n1\n')
    expect(preseed).not.toContain('/dev/sda')
    expect((await getText(`/answers/${DASHED}/user-data`)).body).toContain(`        path: "/dev/nvme0n1"\n`)

    // Only removable media: no disk named, the installer chooses.
    await post('/api/node/register', { macs: [MAC], disks: [{ name: 'sda', size_bytes: 16e9, removable: true }] }, old.secret)
    const none = (await getText(`/answers/${DASHED}/preseed.cfg`)).body
    expect(none).not.toContain('d-i partman-auto/disk string')
    expect(none).toContain('d-i partman/early_command string disk="$(list-devices disk | head -n 1)"')

    // `removable` is a boolean or absent.
    const bad = await post('/api/node/register', { macs: [MAC], disks: [{ name: 'sda', size_bytes: 16e9, removable: 1 }] }, old.secret)
    expect(bad.status).toBe(400)
    expect(((await bad.json()) as { error: { message: string } }).error.message).toMatch(/^invalid registration: .*removable/)
  })

  it('renders the mirror from the setting, and the mirror and disk from the node’s provisioner-os-install attributes over it', async () => {
    const node = await registered('debian-12-install')
    await app.ctx.db.insertInto('settings').values({ key: MIRROR_SETTING, value: 'mirror.lab.test/debian' }).execute()
    let preseed = (await getText(`/answers/${DASHED}/preseed.cfg`)).body
    expect(preseed).toContain('d-i mirror/http/hostname string mirror.lab.test\nd-i mirror/http/directory string /debian\n')

    const deployment = await createDeployment(app.ctx, { name: 'install', description: '' })
    const id = await bindNodeRole(app.ctx, { deployment_id: deployment.id, node_id: node.id, role: OS_INSTALL_ROLE })
    await setNodeRoleData(app.ctx, id, { provisioner: { mirror: 'https://10.9.8.7/pub/debian', install_disk: '/dev/nvme0n1' } })
    await commitDeployment(app.ctx, deployment.id)
    preseed = (await getText(`/answers/${DASHED}/preseed.cfg`)).body
    expect(preseed).toContain('d-i mirror/protocol string https\nd-i mirror/https/hostname string 10.9.8.7\nd-i mirror/https/directory string /pub/debian\n')
    expect(preseed).toContain('d-i partman-auto/disk string /dev/nvme0n1\n')
  })

  it('answers an unknown MAC with 404, and a node whose attribute cannot be rendered with 409, in plain text that says why', async () => {
    const unknown = await getText('/answers/52-54-00-00-00-01/preseed.cfg')
    expect(unknown).toEqual({
      status: 404,
      type: 'text/plain; charset=utf-8',
      body: 'no node has MAC 52:54:00:00:00:01: a machine gets answer files once it has registered (booted discovery)\n'
    })
    expect((await getText('/answers/52-54-00-00-00-01/user-data')).status).toBe(404)

    await registered('debian-12-install')
    await app.ctx.db.insertInto('settings').values({ key: MIRROR_SETTING, value: 'mirror.lab.test\nd-i preseed/late_command string reboot' }).execute()
    const refused = await getText(`/answers/${DASHED}/preseed.cfg`)
    expect(refused.status).toBe(409)
    expect(refused.body).toMatch(/^cannot render preseed\.cfg for the node with MAC 52:54:00:c0:ff:ee: mirror .* has characters a mirror URL does not/)
    expect(refused.body).not.toContain('\nd-i preseed/late_command')

    // A node with no admin address (created by hand, never bound to the admin network).
    const bare = await createNode(app.ctx, { name: 'bare.crowbar.lab', description: '', admin: false, alive: false, available: true, bootenv: 'debian-12-install', hint: {} })
    await app.ctx.db.insertInto('node_macs').values({ mac: '52:54:00:00:00:02', node_id: bare.id }).execute()
    const noAddress = await getText('/answers/52:54:00:00:00:02/meta-data')
    expect(noAddress.status).toBe(409)
    expect(noAddress.body).toMatch(/^node bare\.crowbar\.lab has no IPv4 address on an admin network/)
  })
})
