// Per-node answer files of the installer bootenvs: a Debian installer preseed, and an Ubuntu
// autoinstall (NoCloud user-data and meta-data). Pure renderers that check every value first, so
// no node attribute can add a preseed line, a shell command or a YAML key.
import { isIPv4, isIPv6 } from 'node:net'

export interface AnswerInputs {
  /** The node's host name: one DNS label. */
  readonly hostname: string
  readonly domain: string
  /** The MAC the node booted with: the NIC the installed system configures. */
  readonly mac: string
  /** The node's address on the admin network, its router (none: no default route) and DNS servers. */
  readonly ipv4: {
    readonly address: string
    readonly prefixLength: number
    readonly router?: string | null | undefined
    readonly nameservers: readonly string[]
  }
  readonly ipv6?: { readonly address: string; readonly prefixLength: number } | null | undefined
  /** One authorized_keys line: root logs in with it, and with nothing else. */
  readonly adminPublicKey: string
  /** `host/directory` or an http(s) URL; absent: deb.debian.org/debian or archive.ubuntu.com/ubuntu. */
  readonly mirror?: string | null | undefined
  /**
   * Absent: the first disk the installer lists (/dev/sda or /dev/vda on most machines). The
   * default from the node's inventory is `defaultInstallDisk`.
   */
  readonly disk?: string | null | undefined
  /** Default UTC. */
  readonly timezone?: string | undefined
  /** The node-facing API's set-bootenv URL: the installer's last step POSTs {"bootenv":"local"} there. */
  readonly bootenvUrl: string
  /** What that call sends as `Authorization: Bearer`: the node's install token for this bootenv (hex). */
  readonly bootenvToken: string
}

/** Block devices that are never an install target: software RAID, device mapper, optical, loop, zram, ramdisks. */
const NOT_AN_INSTALL_DISK = /^(md|dm-|sr|loop|zram|ram)/

/**
 * The install disk when no attribute names one: the first disk the discovery image registered
 * (`disks` of its inventory, as stored) that is not removable (USB sticks, virtual media) and not
 * a virtual or optical device, as a /dev path. None such: null, and the installer chooses.
 */
export function defaultInstallDisk(disks: unknown): string | null {
  if (!Array.isArray(disks)) return null
  for (const disk of disks as unknown[]) {
    if (typeof disk !== 'object' || disk === null || Array.isArray(disk)) continue
    const { name, removable } = disk as { name?: unknown; removable?: unknown }
    if (typeof name !== 'string' || !name || removable === true) continue
    const base = name.startsWith('/dev/') ? name.slice('/dev/'.length) : name
    if (!base || NOT_AN_INSTALL_DISK.test(base)) continue
    return `/dev/${base}`
  }
  return null
}

/** A value that cannot go into an answer file; the message names it and says what to change. */
export class AnswerFileError extends Error {
  override readonly name = 'AnswerFileError'
}

export interface Mirror {
  readonly protocol: 'http' | 'https'
  /** Host, with `:port` when not the default. */
  readonly host: string
  readonly directory: string
}

export const DEBIAN_MIRROR: Mirror = { protocol: 'http', host: 'deb.debian.org', directory: '/debian' }
export const UBUNTU_MIRROR: Mirror = { protocol: 'http', host: 'archive.ubuntu.com', directory: '/ubuntu' }

const LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/i
const KEY = /^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)|sk-ssh-ed25519@openssh\.com|sk-ecdsa-sha2-nistp256@openssh\.com) [A-Za-z0-9+/]{16,16000}={0,3}( [A-Za-z0-9@._+:-]{1,128})?$/
const DISK = /^\/dev\/[A-Za-z0-9_][A-Za-z0-9_.:+/-]{0,200}$/
const TIMEZONE = /^[A-Za-z0-9_+-]{1,40}(\/[A-Za-z0-9_+-]{1,40}){0,2}$/
/** What a URL may hold here: it is written between single quotes in shell and bare in preseed. */
const URL_CHARS = /^[A-Za-z0-9.:/[\]_~%-]{1,1000}$/

function fail(message: string): never {
  throw new AnswerFileError(message)
}

function show(value: string): string {
  return JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}…` : value)
}

function isDomain(name: string): boolean {
  return name.length <= 253 && name.split('.').every((l) => LABEL.test(l))
}

/** `host/directory`, `host` or an http(s) URL. A bare host gets the distribution's directory. */
export function parseMirror(value: string, fallback: Mirror): Mirror {
  const text = value.trim()
  if (!URL_CHARS.test(text)) fail(`mirror ${show(value)} has characters a mirror URL does not: give host/directory or http://host/directory`)
  let url: URL
  try {
    url = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : `http://${text}`)
  } catch {
    return fail(`mirror ${show(value)} is not a URL or host/directory`)
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') fail(`mirror ${show(value)}: the installers fetch over http or https only`)
  if (url.username || url.password || url.search || url.hash) fail(`mirror ${show(value)}: no credentials, query or fragment`)
  const bare = url.hostname.replace(/^\[|\]$/g, '')
  if (!isDomain(bare) && !isIPv4(bare) && !isIPv6(bare)) fail(`mirror ${show(value)}: ${show(url.hostname)} is not a host name or address`)
  const directory = url.pathname.replace(/\/+$/, '')
  if (!/^(\/[A-Za-z0-9._~-]+)*$/.test(directory) || directory.split('/').some((s) => s === '.' || s === '..')) {
    fail(`mirror ${show(value)}: the directory may hold letters, digits and . _ ~ - only`)
  }
  return { protocol: url.protocol === 'https:' ? 'https' : 'http', host: url.host, directory: directory || fallback.directory }
}

function mirrorUrl(m: Mirror): string {
  return `${m.protocol}://${m.host}${m.directory}`
}

/** Dotted netmask of an IPv4 prefix length. */
export function netmaskOf(prefixLength: number): string {
  const mask = prefixLength === 0 ? 0 : (~0 << (32 - prefixLength)) >>> 0
  return [24, 16, 8, 0].map((s) => (mask >>> s) & 255).join('.')
}

interface Checked extends AnswerInputs {
  readonly adminPublicKey: string
  readonly timezone: string
}

function check(node: AnswerInputs): Checked {
  if (!LABEL.test(node.hostname)) fail(`host name ${show(node.hostname)} is not one DNS label (letters, digits, inner hyphens, at most 63): rename the node`)
  if (!isDomain(node.domain)) fail(`domain ${show(node.domain)} is not a DNS name: fix the cluster domain or the node's name`)
  if (!/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/.test(node.mac)) fail(`MAC ${show(node.mac)} is not in 52:54:00:12:34:56 form`)
  const { ipv4, ipv6 } = node
  if (!isIPv4(ipv4.address)) fail(`IPv4 address ${show(ipv4.address)} is not an IPv4 address`)
  if (!Number.isInteger(ipv4.prefixLength) || ipv4.prefixLength < 1 || ipv4.prefixLength > 32) fail(`IPv4 prefix length ${ipv4.prefixLength} is not 1-32`)
  if (ipv4.router && !isIPv4(ipv4.router)) fail(`router ${show(ipv4.router)} is not an IPv4 address`)
  if (ipv4.nameservers.length === 0) fail('no DNS server for the node: the installer needs one to reach the mirror by name')
  for (const ns of ipv4.nameservers) if (!isIPv4(ns) && !isIPv6(ns)) fail(`DNS server ${show(ns)} is not an IP address`)
  if (ipv6) {
    if (!isIPv6(ipv6.address) || ipv6.address.includes('%')) fail(`IPv6 address ${show(ipv6.address)} is not an IPv6 address`)
    if (!Number.isInteger(ipv6.prefixLength) || ipv6.prefixLength < 1 || ipv6.prefixLength > 128) fail(`IPv6 prefix length ${ipv6.prefixLength} is not 1-128`)
  }
  const key = node.adminPublicKey.trim()
  if (!KEY.test(key)) fail('the admin public key is not one OpenSSH public key line (type, base64, optional plain comment)')
  if (node.disk && (!DISK.test(node.disk) || node.disk.split('/').some((s) => s === '.' || s === '..'))) {
    fail(`disk ${show(node.disk)} is not a /dev path: set provisioner.install_disk to e.g. /dev/sda`)
  }
  const timezone = node.timezone ?? 'UTC'
  if (!TIMEZONE.test(timezone)) fail(`time zone ${show(timezone)} is not a tz database name such as UTC or Europe/Berlin`)
  if (!URL_CHARS.test(node.bootenvUrl) || !/^https?:\/\//.test(node.bootenvUrl)) fail(`set-bootenv URL ${show(node.bootenvUrl)} is not a plain http(s) URL`)
  if (!/^[0-9a-f]{32,128}$/.test(node.bootenvToken)) fail('the install token is not hex')
  return { ...node, adminPublicKey: key, timezone }
}

const BOOTENV_LOCAL = '{"bootenv":"local"}'

/** The installer's last call, with the flags GNU wget and busybox wget (long options) share. */
export function wgetSetLocal(url: string, token: string): string {
  return `wget -q -O /dev/null --header 'Content-Type: application/json' --header 'Authorization: Bearer ${token}' --post-data '${BOOTENV_LOCAL}' '${url}'`
}

export function curlSetLocal(url: string, token: string): string {
  return `curl -fsS -o /dev/null -H 'Content-Type: application/json' -H 'Authorization: Bearer ${token}' --data '${BOOTENV_LOCAL}' '${url}'`
}

/**
 * Shell commands, run by the installer with the new system mounted at `target`: root's
 * authorized_keys, no password logins over SSH, and (preseed only: netcfg configures one family)
 * the node's static IPv6 address on the interface netcfg wrote.
 */
export function targetSetupCommands(node: AnswerInputs, target: string, options: { ipv6Stanza: boolean }): string[] {
  const n = check(node)
  const commands = [
    `mkdir -p ${target}/root/.ssh ${target}/etc/ssh/sshd_config.d`,
    `echo '${n.adminPublicKey}' > ${target}/root/.ssh/authorized_keys`,
    `chmod 700 ${target}/root/.ssh`,
    `chmod 600 ${target}/root/.ssh/authorized_keys`,
    `echo 'PasswordAuthentication no' > ${target}/etc/ssh/sshd_config.d/crowbar.conf`
  ]
  if (options.ipv6Stanza && n.ipv6) {
    const file = `${target}/etc/network/interfaces`
    commands.push(
      `iface="$(awk '$1 == "iface" && $3 == "inet" && $4 == "static" { print $2; exit }' ${file})"`,
      `if [ -n "$iface" ]; then { echo; echo "iface $iface inet6 static"; echo '    address ${n.ipv6.address}/${n.ipv6.prefixLength}'; } >> ${file}; fi`
    )
  }
  return commands
}

/** The Debian 12 installer's answers: static admin address, the mirror, the disk, root by key only. */
export function renderPreseed(node: AnswerInputs): string {
  const n = check(node)
  const mirror = n.mirror ? parseMirror(n.mirror, DEBIAN_MIRROR) : DEBIAN_MIRROR
  const fqdn = `${n.hostname}.${n.domain}`
  const disk = n.disk
    ? [`d-i partman-auto/disk string ${n.disk}`, `d-i grub-installer/bootdev string ${n.disk}`]
    : // The installer's own disk list decides: the first disk it sees.
      ['d-i partman/early_command string disk="$(list-devices disk | head -n 1)"; debconf-set partman-auto/disk "$disk"; debconf-set grub-installer/bootdev "$disk"']
  const late = [...targetSetupCommands(n, '/target', { ipv6Stanza: true }), `in-target ${wgetSetLocal(n.bootenvUrl, n.bootenvToken)}`]
  return [
    `# Debian installer preseed for ${fqdn}, rendered by Crowbar Desktop from the node's attributes.`,
    'd-i debian-installer/locale string en_US.UTF-8',
    'd-i keyboard-configuration/xkb-keymap select us',
    // Preseeding over the network means DHCP already ran: configure again, statically, once the
    // answers are loaded (the documented kill-all-dhcp; netcfg hack). DHCP gave the same address.
    'd-i preseed/early_command string kill-all-dhcp; netcfg',
    'd-i netcfg/choose_interface select auto',
    'd-i netcfg/disable_autoconfig boolean true',
    `d-i netcfg/get_ipaddress string ${n.ipv4.address}`,
    `d-i netcfg/get_netmask string ${netmaskOf(n.ipv4.prefixLength)}`,
    ...(n.ipv4.router ? [`d-i netcfg/get_gateway string ${n.ipv4.router}`] : ['d-i netcfg/get_gateway string', 'd-i netcfg/no_default_route boolean true']),
    `d-i netcfg/get_nameservers string ${n.ipv4.nameservers.join(' ')}`,
    'd-i netcfg/confirm_static boolean true',
    `d-i netcfg/get_hostname string ${n.hostname}`,
    `d-i netcfg/get_domain string ${n.domain}`,
    // DHCP's host name would otherwise win over get_hostname.
    `d-i netcfg/hostname string ${n.hostname}`,
    'd-i hw-detect/load_firmware boolean false',
    'd-i mirror/country string manual',
    `d-i mirror/protocol string ${mirror.protocol}`,
    `d-i mirror/${mirror.protocol}/hostname string ${mirror.host}`,
    `d-i mirror/${mirror.protocol}/directory string ${mirror.directory}`,
    `d-i mirror/${mirror.protocol}/proxy string`,
    // A site mirror rarely carries security.debian.org; asking for it would stop the install.
    ...(n.mirror ? ['d-i apt-setup/services-select multiselect'] : []),
    'd-i passwd/root-login boolean true',
    'd-i passwd/make-user boolean false',
    // `*` matches no password: root logs in with the admin key only.
    'd-i passwd/root-password-crypted password *',
    'd-i clock-setup/utc boolean true',
    `d-i time/zone string ${n.timezone}`,
    'd-i clock-setup/ntp boolean false',
    ...disk,
    'd-i partman-auto/method string regular',
    'd-i partman-auto/choose_recipe select atomic',
    'd-i partman-lvm/device_remove_lvm boolean true',
    'd-i partman-md/device_remove_md boolean true',
    'd-i partman-partitioning/confirm_write_new_label boolean true',
    'd-i partman/choose_partition select finish',
    'd-i partman/confirm boolean true',
    'd-i partman/confirm_nooverwrite boolean true',
    'd-i partman-efi/non_efi_system boolean true',
    'tasksel tasksel/first multiselect standard, ssh-server',
    // wget in the target: the installer's busybox wget has no --post-data.
    'd-i pkgsel/include string openssh-server wget',
    'd-i pkgsel/upgrade select none',
    'popularity-contest popularity-contest/participate boolean false',
    'd-i grub-installer/only_debian boolean true',
    // Also \EFI\BOOT\BOOTX64.EFI: the local-boot loader (and a firmware with no NVRAM entry) finds that.
    'd-i grub-installer/force-efi-extra-removable boolean true',
    'd-i debian-installer/add-kernel-opts string console=tty0 console=ttyS0,115200n8',
    // Last: the bootenv becomes local only once the system is on the disk, so the reboot boots it.
    `d-i preseed/late_command string ${late.join(' && ')}`,
    'd-i finish-install/reboot_in_progress note',
    ''
  ].join('\n')
}

type YamlValue = string | number | boolean | readonly YamlValue[] | { readonly [key: string]: YamlValue }

/** A scalar as a JSON string (YAML reads JSON), with everything outside printable ASCII escaped. */
function yamlScalar(value: string | number | boolean): string {
  if (typeof value !== 'string') return String(value)
  return JSON.stringify(value).replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
}

/** Block-style YAML of a tree whose keys are ours and whose strings are all emitted quoted. */
export function toYaml(value: YamlValue, indent = ''): string[] {
  if (typeof value !== 'object') return [`${indent}${yamlScalar(value)}`]
  const lines: string[] = []
  const isList = Array.isArray(value)
  const entries: Array<[string, YamlValue]> = isList ? (value as readonly YamlValue[]).map((v) => ['', v]) : Object.entries(value)
  for (const [key, child] of entries) {
    if (!isList && !/^[a-z][a-z0-9_-]{0,63}$/.test(key)) throw new Error(`YAML key ${JSON.stringify(key)} is not one of ours`)
    const head = isList ? `${indent}-` : `${indent}${key}:`
    if (typeof child !== 'object') lines.push(`${head} ${yamlScalar(child)}`)
    else if (Array.isArray(child) ? child.length === 0 : Object.keys(child).length === 0) lines.push(`${head} ${Array.isArray(child) ? '[]' : '{}'}`)
    else if (isList) {
      // `- ` then the nested node, its first line on the dash's line.
      const nested = toYaml(child, `${indent}  `)
      lines.push(`${indent}- ${(nested[0] ?? '').slice(indent.length + 2)}`, ...nested.slice(1))
    } else lines.push(head, ...toYaml(child, `${indent}  `))
  }
  return lines
}

export interface Autoinstall {
  readonly userData: string
  readonly metaData: string
}

/** The autoinstall tree (user-data's `autoinstall:` key), before it becomes YAML. */
export function autoinstallConfig(node: AnswerInputs): { readonly [key: string]: YamlValue } {
  const n = check(node)
  const mirror = n.mirror ? parseMirror(n.mirror, UBUNTU_MIRROR) : UBUNTU_MIRROR
  const addresses = [`${n.ipv4.address}/${n.ipv4.prefixLength}`, ...(n.ipv6 ? [`${n.ipv6.address}/${n.ipv6.prefixLength}`] : [])]
  return {
    version: 1,
    locale: 'en_US.UTF-8',
    keyboard: { layout: 'us' },
    timezone: n.timezone,
    identity: { hostname: n.hostname, username: 'crowbar', realname: 'Crowbar', password: '*' },
    ssh: { 'install-server': true, 'allow-pw': false, 'authorized-keys': [n.adminPublicKey] },
    network: {
      version: 2,
      ethernets: {
        admin: {
          match: { macaddress: n.mac },
          dhcp4: false,
          dhcp6: false,
          addresses,
          ...(n.ipv4.router ? { routes: [{ to: 'default', via: n.ipv4.router }] } : {}),
          nameservers: { addresses: [...n.ipv4.nameservers], search: [n.domain] }
        }
      }
    },
    // Without the mirror the ISO still installs: offline rather than a stopped install.
    apt: { geoip: false, fallback: 'offline-install', primary: [{ arches: ['default'], uri: mirrorUrl(mirror) }] },
    storage: { layout: n.disk ? { name: 'direct', match: { path: n.disk } } : { name: 'direct' } },
    // cloud-init on the installed system would otherwise rewrite root's key to refuse logins.
    'user-data': { disable_root: false },
    'late-commands': [...targetSetupCommands(n, '/target', { ipv6Stanza: false }), `${wgetSetLocal(n.bootenvUrl, n.bootenvToken)} || ${curlSetLocal(n.bootenvUrl, n.bootenvToken)}`]
  }
}

/** Ubuntu autoinstall as NoCloud serves it: `#cloud-config` user-data, and meta-data. */
export function renderAutoinstall(node: AnswerInputs): Autoinstall {
  const n = check(node)
  return {
    userData: ['#cloud-config', ...toYaml({ autoinstall: autoinstallConfig(n) }), ''].join('\n'),
    metaData: [...toYaml({ 'instance-id': `crowbar-${n.hostname}.${n.domain}`, 'local-hostname': n.hostname }), ''].join('\n')
  }
}
