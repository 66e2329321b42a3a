// The answer files of a known node, line by line; their syntax checked by the tools that read them
// (debconf-set-selections, sh, PyYAML); and every attempt to inject a line, a command or a key refused.
import { spawnSync } from 'node:child_process'
import { mkdtemp, mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import {
  AnswerFileError,
  autoinstallConfig,
  defaultInstallDisk,
  netmaskOf,
  parseMirror,
  renderAutoinstall,
  renderPreseed,
  targetSetupCommands,
  toYaml,
  DEBIAN_MIRROR,
  type AnswerInputs
} from './answer-files'

const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHx3mZ9pQ0H6m5m0m2yB0tV7b5Wm3rVbQm9yJ4fGx0pS crowbar-admin'
const NODE: AnswerInputs = {
  hostname: 'd52-54-00-12-34-56',
  domain: 'lab.test',
  mac: '52:54:00:12:34:56',
  ipv4: { address: '192.168.124.81', prefixLength: 24, router: '192.168.124.1', nameservers: ['192.168.124.10'] },
  ipv6: { address: 'fd12:3456:789a:1::8a2e:370:7334', prefixLength: 64 },
  adminPublicKey: `${KEY}\n`,
  disk: '/dev/vda',
  bootenvUrl: 'http://192.168.124.10:8702/api/node/7/bootenv',
  bootenvToken: 'ab'.repeat(32)
}
const with_ = (change: Partial<AnswerInputs>): AnswerInputs => ({ ...NODE, ...change })

/** The value of one preseed question, by its owner and name. */
function preseedValue(text: string, question: string): string | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`d-i ${question} `))
  return line?.split(' ').slice(3).join(' ')
}

// Debian's python3 (with python3-yaml, which CI installs) rather than whatever python3 PATH finds.
const python = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3'
const pyYaml = spawnSync(python, ['-c', 'import yaml'], { encoding: 'utf8' }).status === 0

/** YAML to JSON by PyYAML's safe loader (the parser cloud-init uses). */
function parseYaml(text: string): unknown {
  const out = spawnSync(python, ['-c', 'import json, sys, yaml; print(json.dumps(yaml.safe_load(sys.stdin.read())))'], { input: text, encoding: 'utf8' })
  if (out.status !== 0) throw new Error(`PyYAML refused it: ${out.stderr}`)
  return JSON.parse(out.stdout) as unknown
}

let dirs: string[] = []
afterEach(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })))
  dirs = []
})
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'crowbar-answers-'))
  dirs.push(dir)
  return dir
}

describe('the preseed', () => {
  it('configures the admin address statically, names the host, and points at the mirror and the disk', () => {
    const lines = renderPreseed(NODE).split('\n')
    expect(lines).toEqual(
      expect.arrayContaining([
        'd-i preseed/early_command string kill-all-dhcp; netcfg',
        'd-i netcfg/disable_autoconfig boolean true',
        'd-i netcfg/get_ipaddress string 192.168.124.81',
        'd-i netcfg/get_netmask string 255.255.255.0',
        'd-i netcfg/get_gateway string 192.168.124.1',
        'd-i netcfg/get_nameservers string 192.168.124.10',
        'd-i netcfg/confirm_static boolean true',
        'd-i netcfg/get_hostname string d52-54-00-12-34-56',
        'd-i netcfg/get_domain string lab.test',
        'd-i netcfg/hostname string d52-54-00-12-34-56',
        'd-i mirror/protocol string http',
        'd-i mirror/http/hostname string deb.debian.org',
        'd-i mirror/http/directory string /debian',
        'd-i partman-auto/disk string /dev/vda',
        'd-i grub-installer/bootdev string /dev/vda',
        'd-i passwd/root-login boolean true',
        'd-i passwd/make-user boolean false',
        'd-i passwd/root-password-crypted password *',
        'd-i time/zone string UTC',
        'd-i pkgsel/include string openssh-server wget'
      ])
    )
    // The default mirror keeps Debian's security and updates services.
    expect(lines.some((l) => l.startsWith('d-i apt-setup/services-select'))).toBe(false)
  })

  it('installs the admin key for root and sets the bootenv to local as the very last step', () => {
    const late = preseedValue(renderPreseed(NODE), 'preseed/late_command') ?? ''
    expect(late).toContain(`echo '${KEY}' > /target/root/.ssh/authorized_keys`)
    expect(late).toContain("echo 'PasswordAuthentication no' > /target/etc/ssh/sshd_config.d/crowbar.conf")
    expect(late).toMatch(
      / && in-target wget -q -O \/dev\/null --header 'Content-Type: application\/json' --header 'Authorization: Bearer (ab){32}' --post-data '\{"bootenv":"local"\}' 'http:\/\/192\.168\.124\.10:8702\/api\/node\/7\/bootenv'$/
    )
  })

  it('passes debconf-set-selections --checkonly, and its commands pass sh -n in dash and busybox ash', async () => {
    const dir = await tempDir()
    for (const node of [NODE, with_({ disk: null, ipv6: null, mirror: 'https://mirror.lab.test:8443/debian/', ipv4: { ...NODE.ipv4, router: null } })]) {
      const file = join(dir, 'preseed.cfg')
      const text = renderPreseed(node)
      await writeFile(file, text)
      const check = spawnSync('debconf-set-selections', ['--checkonly', file], { encoding: 'utf8' })
      expect(check.stderr).toBe('')
      expect(check.status).toBe(0)
      for (const question of ['preseed/early_command', 'preseed/late_command', 'partman/early_command']) {
        const command = preseedValue(text, question)
        if (command === undefined) continue
        for (const shell of [['sh'], ['busybox', 'sh']]) {
          const parsed = spawnSync(shell[0] ?? 'sh', [...shell.slice(1), '-n', '-c', command], { encoding: 'utf8' })
          expect(parsed.stderr).toBe('')
          expect(parsed.status).toBe(0)
        }
      }
    }
  })

  it('lets the installer pick the first disk when none is known, and takes no default route without a router', () => {
    const text = renderPreseed(with_({ disk: undefined, ipv4: { ...NODE.ipv4, router: null } }))
    expect(preseedValue(text, 'partman-auto/disk')).toBeUndefined()
    expect(preseedValue(text, 'partman/early_command')).toBe(
      'disk="$(list-devices disk | head -n 1)"; debconf-set partman-auto/disk "$disk"; debconf-set grub-installer/bootdev "$disk"'
    )
    expect(preseedValue(text, 'netcfg/get_gateway')).toBe('')
    expect(preseedValue(text, 'netcfg/no_default_route')).toBe('true')
  })

  it('uses a site mirror given as host/directory or URL, and then asks for no security service', () => {
    const text = renderPreseed(with_({ mirror: 'mirror.lab.test/debian' }))
    expect(preseedValue(text, 'mirror/http/hostname')).toBe('mirror.lab.test')
    expect(preseedValue(text, 'mirror/http/directory')).toBe('/debian')
    expect(preseedValue(text, 'apt-setup/services-select')).toBe('')
    const https = renderPreseed(with_({ mirror: 'https://10.0.0.5:8443/debian/' }))
    expect(preseedValue(https, 'mirror/protocol')).toBe('https')
    expect(preseedValue(https, 'mirror/https/hostname')).toBe('10.0.0.5:8443')
    expect(preseedValue(https, 'mirror/https/directory')).toBe('/debian')
  })
})

describe('the commands run on the installed system', () => {
  it('write root’s key (0600 in a 0700 directory), refuse password logins, and add the static IPv6 address (run by dash and busybox ash)', async () => {
    for (const shell of [['sh'], ['busybox', 'sh']]) {
      const target = await tempDir()
      await mkdir(join(target, 'etc/network'), { recursive: true })
      const interfaces = 'source /etc/network/interfaces.d/*\n\nauto lo\niface lo inet loopback\n\nallow-hotplug ens3\niface ens3 inet static\n\taddress 192.168.124.81/24\n'
      await writeFile(join(target, 'etc/network/interfaces'), interfaces)
      const run = spawnSync(shell[0] ?? 'sh', [...shell.slice(1), '-c', targetSetupCommands(NODE, target, { ipv6Stanza: true }).join(' && ')], { encoding: 'utf8' })
      expect(run.stderr).toBe('')
      expect(run.status).toBe(0)
      expect(await readFile(join(target, 'root/.ssh/authorized_keys'), 'utf8')).toBe(`${KEY}\n`)
      expect((await stat(join(target, 'root/.ssh/authorized_keys'))).mode & 0o777).toBe(0o600)
      expect((await stat(join(target, 'root/.ssh'))).mode & 0o777).toBe(0o700)
      expect(await readFile(join(target, 'etc/ssh/sshd_config.d/crowbar.conf'), 'utf8')).toBe('PasswordAuthentication no\n')
      expect(await readFile(join(target, 'etc/network/interfaces'), 'utf8')).toBe(
        `${interfaces}\niface ens3 inet6 static\n    address fd12:3456:789a:1::8a2e:370:7334/64\n`
      )
    }
  })
})

describe('the autoinstall', () => {
  it('renders user-data and meta-data that PyYAML reads back as exactly the intended tree', () => {
    if (!pyYaml) throw new Error('python3-yaml is not installed: apt-get install python3-yaml')
    const { userData, metaData } = renderAutoinstall(NODE)
    expect(userData.startsWith('#cloud-config\nautoinstall:\n  version: 1\n')).toBe(true)
    expect(parseYaml(userData)).toEqual({ autoinstall: JSON.parse(JSON.stringify(autoinstallConfig(NODE))) })
    expect(parseYaml(metaData)).toEqual({ 'instance-id': 'crowbar-d52-54-00-12-34-56.lab.test', 'local-hostname': 'd52-54-00-12-34-56' })
  })

  it('names the host, trusts the admin key, configures the admin NIC statically, and installs to the disk', () => {
    const { userData } = renderAutoinstall(NODE)
    const block = (lines: string[]) => expect(userData).toContain(lines.join('\n'))
    block(['  identity:', '    hostname: "d52-54-00-12-34-56"', '    username: "crowbar"', '    realname: "Crowbar"', '    password: "*"'])
    block(['  ssh:', '    install-server: true', '    allow-pw: false', '    authorized-keys:', `      - ${JSON.stringify(KEY)}`])
    block([
      '  network:',
      '    version: 2',
      '    ethernets:',
      '      admin:',
      '        match:',
      '          macaddress: "52:54:00:12:34:56"',
      '        dhcp4: false',
      '        dhcp6: false',
      '        addresses:',
      '          - "192.168.124.81/24"',
      '          - "fd12:3456:789a:1::8a2e:370:7334/64"',
      '        routes:',
      '          - to: "default"',
      '            via: "192.168.124.1"',
      '        nameservers:',
      '          addresses:',
      '            - "192.168.124.10"',
      '          search:',
      '            - "lab.test"'
    ])
    block(['  storage:', '    layout:', '      name: "direct"', '      match:', '        path: "/dev/vda"'])
    block(['    primary:', '      - arches:', '          - "default"', '        uri: "http://archive.ubuntu.com/ubuntu"'])
    block(['  user-data:', '    disable_root: false'])
    const late = autoinstallConfig(NODE)['late-commands']
    expect(late).toEqual(expect.arrayContaining([`echo '${KEY}' > /target/root/.ssh/authorized_keys`]))
    expect(Array.isArray(late) && late.at(-1)).toBe(
      `wget -q -O /dev/null --header 'Content-Type: application/json' --header 'Authorization: Bearer ${'ab'.repeat(32)}' --post-data '{"bootenv":"local"}' 'http://192.168.124.10:8702/api/node/7/bootenv' || ` +
        `curl -fsS -o /dev/null -H 'Content-Type: application/json' -H 'Authorization: Bearer ${'ab'.repeat(32)}' --data '{"bootenv":"local"}' 'http://192.168.124.10:8702/api/node/7/bootenv'`
    )
  })

  it('lets subiquity choose the disk when none is known, and uses a site mirror', () => {
    const config = autoinstallConfig(with_({ disk: null, mirror: 'mirror.lab.test' }))
    expect(config.storage).toEqual({ layout: { name: 'direct' } })
    expect(config.apt).toMatchObject({ primary: [{ arches: ['default'], uri: 'http://mirror.lab.test/ubuntu' }] })
  })

  it('emits any string as one quoted scalar (checked by a strict line grammar, no YAML parser needed)', () => {
    const hostile = 'a: b\n- c\n#d "e" \\f \u2028 \u0085 key: [x]'
    const lines = toYaml({ list: [hostile, { k: hostile }], flag: true, n: 3, empty: [] })
    // Every line is `indent (- )* key:` with an optional JSON scalar, or `indent - scalar`.
    const grammar = /^( {2})*(- )*(([a-z][a-z0-9_-]*):( (".*"|true|false|\d+|\[\]|\{\}))?|- (".*"|true|false|\d+))$/
    for (const line of lines) expect(line).toMatch(grammar)
    expect(lines).toHaveLength(6)
    const quoted = lines.map((l) => /"(.*)"$/.exec(l)?.[0]).filter((q): q is string => q !== undefined)
    expect(quoted.map((q) => JSON.parse(q) as string)).toEqual([hostile, hostile])
    if (pyYaml) expect(parseYaml(lines.join('\n'))).toEqual({ list: [hostile, { k: hostile }], flag: true, n: 3, empty: [] })
  })
})

describe('values that would change an answer file’s meaning', () => {
  const refused: Array<[string, Partial<AnswerInputs>, RegExp]> = [
    ['a host name with a newline', { hostname: 'node1\nd-i passwd/root-password string x' }, /host name .* is not one DNS label/],
    ['a host name with a YAML key', { hostname: 'node1: x' }, /host name/],
    ['a domain with a newline', { domain: 'lab.test\nd-i preseed/late_command string reboot' }, /domain .* is not a DNS name/],
    ['a domain with a comment', { domain: 'lab.test #x' }, /domain/],
    ['a key with a newline', { adminPublicKey: `${KEY}\nd-i preseed/late_command string reboot` }, /admin public key/],
    ['a key with a quote', { adminPublicKey: `${KEY}' ; reboot ; '` }, /admin public key/],
    ['a key that is no key', { adminPublicKey: 'hello' }, /admin public key/],
    ['a disk with a command', { disk: '/dev/sda; reboot' }, /disk .* is not a \/dev path/],
    ['a disk outside /dev', { disk: '/dev/../etc/passwd' }, /disk/],
    ['a mirror with a newline', { mirror: 'deb.debian.org\nd-i preseed/late_command string reboot' }, /mirror .* has characters/],
    ['a mirror with a space', { mirror: 'deb.debian.org /debian' }, /mirror/],
    ['a mirror with credentials', { mirror: 'http://u:p@deb.debian.org/debian' }, /mirror/],
    ['an ftp mirror', { mirror: 'ftp://deb.debian.org/debian' }, /http or https/],
    ['an address that is not one', { ipv4: { ...NODE.ipv4, address: '192.168.124.81\nx' } }, /IPv4 address/],
    ['a DNS server that is not one', { ipv4: { ...NODE.ipv4, nameservers: ['8.8.8.8 #'] } }, /DNS server/],
    ['a time zone with a quote', { timezone: 'UTC"' }, /time zone/],
    ['a bootenv URL with a quote', { bootenvUrl: "http://x/'; reboot; '" }, /set-bootenv URL/],
    ['a MAC with a newline', { mac: '52:54:00:12:34:56\n' }, /MAC/]
  ]
  it.each(refused)('refuses %s with an AnswerFileError that says what to fix', (_what, change, message) => {
    for (const render of [renderPreseed, renderAutoinstall]) {
      expect(() => render(with_(change))).toThrow(AnswerFileError)
      expect(() => render(with_(change))).toThrow(message)
    }
  })
})

describe('helpers', () => {
  it('turns prefix lengths into netmasks', () => {
    expect([8, 16, 23, 24, 30, 32].map(netmaskOf)).toEqual(['255.0.0.0', '255.255.0.0', '255.255.254.0', '255.255.255.0', '255.255.255.252', '255.255.255.255'])
  })

  it('reads a mirror as host, host/directory or URL', () => {
    expect(parseMirror('mirror.lab.test', DEBIAN_MIRROR)).toEqual({ protocol: 'http', host: 'mirror.lab.test', directory: '/debian' })
    expect(parseMirror('mirror.lab.test/pub/debian/', DEBIAN_MIRROR)).toEqual({ protocol: 'http', host: 'mirror.lab.test', directory: '/pub/debian' })
    expect(parseMirror('http://[fd00::5]:8080/debian', DEBIAN_MIRROR)).toEqual({ protocol: 'http', host: '[fd00::5]:8080', directory: '/debian' })
  })
})

describe('the default install disk, from the inventory discovery registered', () => {
  it('is the first registered disk, as a /dev path, when it is not removable', () => {
    expect(defaultInstallDisk([{ name: 'vda', size_bytes: 8e9, removable: false }, { name: 'vdb', size_bytes: 8e9, removable: false }])).toBe('/dev/vda')
    // Images from before `removable` send none: such a disk is taken as fixed.
    expect(defaultInstallDisk([{ name: 'sda', size_bytes: 8e9 }])).toBe('/dev/sda')
    expect(defaultInstallDisk([{ name: '/dev/nvme0n1', size_bytes: 8e9 }])).toBe('/dev/nvme0n1')
  })

  it('skips removable disks: a USB stick or virtual media listed first is never wiped', () => {
    const disks = [
      { name: 'sda', size_bytes: 16e9, removable: true },
      { name: 'sdb', size_bytes: 2e9, removable: true },
      { name: 'nvme0n1', size_bytes: 512e9, removable: false }
    ]
    expect(defaultInstallDisk(disks)).toBe('/dev/nvme0n1')
  })

  it('skips software RAID, device mapper, optical, loop, zram and ramdisk devices', () => {
    const virtual = ['md0', 'md127', 'dm-0', 'dm-3', 'sr0', 'loop0', 'zram0', 'ram0', '/dev/md1', '/dev/dm-1'].map((name) => ({ name, size_bytes: 8e9, removable: false }))
    expect(defaultInstallDisk([...virtual, { name: 'sdc', size_bytes: 8e9, removable: false }])).toBe('/dev/sdc')
    // Names that merely contain those letters later on are disks.
    expect(defaultInstallDisk([{ name: 'mmcblk0', size_bytes: 8e9 }])).toBe('/dev/mmcblk0')
  })

  it('is unset when no disk is left, or the inventory holds none: the installer chooses', () => {
    expect(defaultInstallDisk([{ name: 'sda', size_bytes: 16e9, removable: true }, { name: 'md0', size_bytes: 8e9 }, { name: 'dm-0', size_bytes: 8e9 }])).toBeNull()
    expect(defaultInstallDisk([])).toBeNull()
    expect(defaultInstallDisk(undefined)).toBeNull()
    expect(defaultInstallDisk('vda')).toBeNull()
    expect(defaultInstallDisk([null, 'vda', { size_bytes: 1 }, { name: '' }, { name: '/dev/' }])).toBeNull()
    // Unset, the answer files leave the choice to the installer, as with no disk known.
    const preseed = renderPreseed(with_({ disk: defaultInstallDisk([{ name: 'sda', size_bytes: 16e9, removable: true }]) }))
    expect(preseedValue(preseed, 'partman-auto/disk')).toBeUndefined()
    expect(preseedValue(preseed, 'partman/early_command')).toContain('list-devices disk')
    expect(autoinstallConfig(with_({ disk: defaultInstallDisk([]) })).storage).toEqual({ layout: { name: 'direct' } })
  })
})
