// The boot services as `serve --interface` runs them, on the host end of a veth pair: a machine in
// the namespace registers over HTTP boot, gets its reserved address from DHCP, its iPXE script
// follows its bootenv, its boot file comes over TFTP, and DNS answers for it. Root.
import { createHash } from 'node:crypto'
import { mkdtemp, readFile, rm, writeFile, mkdir, chmod } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startApp, type CrowbarApp } from '../app'
import { createRootLogger } from '../base/log'
import { createTestLink, type TestLink } from '../testing/test-link'

describe('boot services on an interface', () => {
  let link: TestLink
  let app: CrowbarApp
  let dir: string
  let assets: string
  let http: string

  beforeAll(async () => {
    link = await createTestLink()
    dir = await mkdtemp(join(tmpdir(), 'crowbar-boot-'))
    assets = join(dir, 'assets')
    await mkdir(join(assets, 'discovery'), { recursive: true })
    await writeFile(join(assets, 'undionly.kpxe'), Buffer.from(Array.from({ length: 70_000 }, (_, i) => (i * 7) & 0xff)))
    await writeFile(join(assets, 'discovery', 'vmlinuz'), 'kernel')
    await writeFile(join(assets, 'grub-local.efi'), 'MZ local-boot loader')
    app = await startApp({
      dataDir: join(dir, 'data'),
      logger: createRootLogger('silent'),
      anneal: false,
      bootstrap: { domain: 'lab.test', adminName: 'admin.lab.test' },
      boot: { interface: link.hostIf, assetsDir: assets, proxyDhcp: false, ports: { http: 8702 } }
    })
    http = app.boot?.httpUrl ?? ''
    // The machine in the namespace gets a temporary address to talk to HTTP boot before its lease.
    await link.exec('ip', ['addr', 'add', `${link.prefix}250/24`, 'dev', link.peerIf])
  })
  afterAll(async () => {
    await app?.stop()
    await link?.stop()
    if (dir) await rm(dir, { recursive: true, force: true })
  })

  it('advertises the admin network’s IPv6 prefix, so hosts on the link configure an address in it', async () => {
    const prefix = (await app.handlers.listNetworks({}))[0]?.v6prefix ?? ''
    expect(prefix).toMatch(/^fd/)
    const head = prefix.replace(/::\/64$/, ':')
    let addresses = ''
    for (let i = 0; i < 50 && !addresses.includes(head); i++) {
      addresses = (await link.exec('ip', ['-6', 'addr', 'show', 'dev', link.peerIf])).stdout
      await new Promise((r) => setTimeout(r, 200))
    }
    expect(addresses).toMatch(new RegExp(`inet6 ${head.replace(/:/g, ':')}[0-9a-f:]+/64 scope global`))
  }, 20_000)

  it('puts the admin network on the interface’s subnet and the admin node at its address', async () => {
    const nodes = await app.handlers.listNodes({})
    expect(nodes[0]).toMatchObject({ name: 'admin.lab.test', admin: true })
    expect(nodes[0]?.addresses[0]).toEqual({ network: 'admin', family: 4, address: link.hostAddress })
    expect(http).toBe(`http://${link.hostAddress}:8702`)
  })

  it('registers a machine, reserves its address, follows its bootenv, and names it in DNS', async () => {
    const mac = '52:54:00:c0:ff:ee'
    const body = JSON.stringify({ macs: [mac], cpus: 2, memory_mb: 1024, disks: [{ name: 'vda', size_bytes: 8e9 }] })
    const reg = await link.exec('curl', ['-sS', '-X', 'POST', '-H', 'Content-Type: application/json', '-d', body, `${http}/api/node/register`])
    const registered = JSON.parse(reg.stdout) as { node_id: number; name: string; admin_public_key: string; secret: string }
    expect(registered.name).toBe('d52-54-00-c0-ff-ee.lab.test')
    expect(registered.admin_public_key).toBe(app.adminKeys.publicKey.trim())
    const node = (await app.handlers.listNodes({})).find((n) => n.id === registered.node_id)
    const v4 = node?.addresses.find((a) => a.family === 4)?.address
    const v6 = node?.addresses.find((a) => a.family === 6)?.address
    expect(v4).toMatch(new RegExp(`^${link.prefix.replace(/\./g, '\\.')}(8[1-9]|9[0-9]|1[0-5][0-9]|160)$`))

    // DHCP: the registered MAC gets its reserved address (udhcpc in the namespace).
    await link.setPeerMac(mac)
    const script = join(dir, 'udhcpc.sh')
    await writeFile(script, `#!/bin/sh\n[ "$1" = bound ] && env > ${join(dir, 'udhcpc.env')}\nexit 0\n`)
    await chmod(script, 0o755)
    const dhcp = await link.exec('busybox', ['udhcpc', '-i', link.peerIf, '-n', '-q', '-f', '-t', '4', '-T', '1', '-s', script, '-x', '0x4d:69505845'], 20_000)
    expect(dhcp.code).toBe(0)
    const env = await readFile(join(dir, 'udhcpc.env'), 'utf8')
    expect(env).toMatch(`ip=${v4}`)
    expect(env).toMatch(`boot_file=${http}/boot/52-54-00-c0-ff-ee.ipxe`)

    // HTTP boot: discovery until the node says it boots locally, then hand over to the disk. The
    // script is found by dashes, colons, or colons escaped the way iPXE sends them.
    const first = await link.exec('curl', ['-sS', `${http}/boot/52%3A54%3A00%3Ac0%3Aff%3Aee.ipxe`])
    expect((await link.exec('curl', ['-sS', `${http}/boot/${mac}.ipxe`])).stdout).toBe(first.stdout)
    expect(first.stdout).toMatch(`kernel ${http}/files/discovery/vmlinuz initrd=initrd.img`)
    const set = await link.exec('curl', ['-sS', '-X', 'POST', '-H', 'Content-Type: application/json', '-H', `Authorization: Bearer ${registered.secret}`, '-d', '{"bootenv":"local"}', `${http}/api/node/${registered.node_id}/bootenv`])
    expect(JSON.parse(set.stdout)).toEqual({ id: registered.node_id, bootenv: 'local' })
    // local: BIOS iPXE exits to the disk; UEFI iPXE chains the local-boot loader (exit if it fails).
    expect((await link.exec('curl', ['-sS', `${http}/boot/52-54-00-c0-ff-ee.ipxe`])).stdout).toBe(
      `#!ipxe\n# bootenv local: boot the installed system on the local disk\niseq \${platform} efi || exit\nchain --autofree ${http}/files/grub-local.efi || exit\n`
    )
    expect((await link.exec('curl', ['-sS', `${http}/files/discovery/vmlinuz`])).stdout).toBe('kernel')
    // UEFI firmware PXE (no iPXE) of a node in local gets the local-boot loader by TFTP, never a
    // reply without a file (edk2 would wait ~3 min in PXE and HTTP boot before its disk).
    await rm(join(dir, 'udhcpc.env'), { force: true })
    const uefi = await link.exec('busybox', ['udhcpc', '-i', link.peerIf, '-n', '-q', '-f', '-t', '4', '-T', '1', '-s', script, '-V', 'PXEClient:Arch:00007:UNDI:003016', '-x', '0x5d:0007'], 20_000)
    expect(uefi.code).toBe(0)
    const uefiEnv = await readFile(join(dir, 'udhcpc.env'), 'utf8')
    expect(uefiEnv).toMatch(/^boot_file=grub-local\.efi$/m)
    expect(uefiEnv).toMatch(`siaddr=${link.hostAddress}`)

    // TFTP: the BIOS boot file, byte-identical.
    const got = join(dir, 'got.kpxe')
    const tftp = await link.exec('tftp', ['-m', 'binary', link.hostAddress, '-c', 'get', 'undionly.kpxe', got])
    expect(tftp.code).toBe(0)
    const sha = async (f: string) => createHash('sha256').update(await readFile(f)).digest('hex')
    expect(await sha(got)).toBe(await sha(join(assets, 'undionly.kpxe')))

    // DNS: A, AAAA and PTR for the new node, from the embedded server (its zone follows node events).
    await new Promise((r) => setTimeout(r, 200))
    const dig = async (...args: string[]) => (await link.exec('dig', ['+short', '+tries=1', '+time=2', `@${link.hostAddress}`, ...args])).stdout.trim()
    expect(await dig(registered.name, 'A')).toBe(v4)
    expect(await dig(registered.name, 'AAAA')).toBe(v6)
    expect(await dig('-x', v4 ?? '')).toBe(`${registered.name}.`)
    expect(await dig('admin.lab.test', 'A')).toBe(link.hostAddress)
    const nx = await link.exec('dig', ['+tries=1', '+time=2', `@${link.hostAddress}`, 'nobody.lab.test', 'A'])
    expect(nx.stdout).toMatch('status: NXDOMAIN')
  }, 60_000)
})
