// Bootenvs as data: what a node boots next, and the iPXE script that boots it. `local` hands over
// to the disk (local-boot.ts), so a node that has been installed never loops back into an install.
import { localBootIpxeScript } from './local-boot'

export interface Bootenv {
  readonly name: string
  readonly description: string
  /** Paths under the boot assets directory; absent for `local`. */
  readonly kernel?: string
  readonly initrds?: readonly string[]
  /**
   * Kernel arguments. Filled in per node: {api} (the boot HTTP server), {files} (its boot assets),
   * {mac}, {answers} (the node's answer files), {hostname} and {domain}. An argument whose value is
   * unknown (a machine not yet registered has no host name) is left out.
   */
  readonly args?: string
  /** The answer file the installer fetches from {answers}; absent: the bootenv needs none. */
  readonly answer?: 'preseed' | 'autoinstall'
}

export const BOOTENVS: readonly Bootenv[] = [
  {
    name: 'discovery',
    description: 'The discovery image: registers the machine, runs sshd, and installs operating systems',
    kernel: 'discovery/vmlinuz',
    initrds: ['discovery/initrd.img'],
    args: 'console=ttyS0 console=tty0 quiet crowbar.api={api} crowbar.mac={mac}'
  },
  {
    // Debian's netboot layout (debian-installer-12-netboot-amd64: .../text/debian-installer/amd64).
    // auto=true defers the locale and keyboard questions until the preseed is loaded; hostname and
    // domain are asked before it, so they go on the kernel line (Debian installer manual, B.2).
    name: 'debian-12-install',
    description: 'The Debian 12 installer, answered by the node’s rendered preseed (needs a reachable Debian mirror)',
    kernel: 'debian-installer/amd64/linux',
    initrds: ['debian-installer/amd64/initrd.gz'],
    args: 'auto=true priority=critical url={answers}/preseed.cfg interface=auto hostname={hostname} domain={domain}',
    answer: 'preseed'
  },
  {
    // casper fetches the ISO named by url= into RAM (about 4 GB for 24.04); cloud-config-url=/dev/null
    // stops cloud-init fetching it a second time. iPXE splits its lines at spaces only and takes `;`
    // as a separator only as a word of its own, so ds=...;s=... reaches the kernel as one word
    // unquoted (quotes would reach cloud-init literally).
    name: 'ubuntu-24.04-install',
    description: 'The Ubuntu 24.04 server installer, answered by the node’s rendered autoinstall (needs a reachable Ubuntu mirror, else installs from the ISO)',
    kernel: 'ubuntu-24.04/casper/vmlinuz',
    initrds: ['ubuntu-24.04/casper/initrd'],
    args: 'ip=dhcp url={files}/ubuntu-24.04/live-server-amd64.iso cloud-config-url=/dev/null autoinstall ds=nocloud-net;s={answers}/',
    answer: 'autoinstall'
  },
  { name: 'local', description: 'Boot from the local disk' }
]

export function bootenvNamed(name: string): Bootenv | undefined {
  return BOOTENVS.find((b) => b.name === name)
}

export interface IpxeContext {
  /** Base URL of the boot HTTP server, e.g. http://192.168.124.10:8702 */
  readonly baseUrl: string
  readonly mac: string
  /** The registered node's host name and domain, for installers that ask before their answers load. */
  readonly hostname?: string | undefined
  readonly domain?: string | undefined
}

/** Where a node's answer files are served (dashes: iPXE and the installers pass them through as-is). */
export function answersUrl(baseUrl: string, mac: string): string {
  return `${baseUrl}/answers/${mac.toLowerCase().replaceAll(':', '-')}`
}

/**
 * A bootenv's kernel arguments for one node. Values go into an iPXE line (split at spaces, `${...}`
 * expanded, `#` starts a comment) and the kernel's command line: anything but a plain host name or
 * domain is left out with its argument rather than written.
 */
export function kernelArgs(args: string, ctx: IpxeContext): string {
  const plain = (v: string | undefined) => (v && /^[A-Za-z0-9][A-Za-z0-9.-]{0,252}$/.test(v) ? v : undefined)
  const values: Record<string, string | undefined> = {
    api: ctx.baseUrl,
    files: `${ctx.baseUrl}/files`,
    mac: ctx.mac,
    answers: answersUrl(ctx.baseUrl, ctx.mac),
    hostname: plain(ctx.hostname),
    domain: plain(ctx.domain)
  }
  return args
    .split(/\s+/)
    .filter((word) => word !== '')
    .flatMap((word) => {
      let missing = false
      const filled = word.replace(/\{([a-z]+)\}/g, (whole, name: string) => {
        const value = values[name]
        if (value === undefined) missing = true
        return value ?? whole
      })
      return missing ? [] : [filled]
    })
    .join(' ')
}

/** The iPXE script for a bootenv. Unknown bootenvs boot discovery, which can recover the node. */
export function ipxeScript(bootenv: string, ctx: IpxeContext): string {
  const env = bootenvNamed(bootenv) ?? bootenvNamed('discovery')
  if (!env?.kernel) return localBootIpxeScript(bootenv, `${ctx.baseUrl}/files`)
  const files = `${ctx.baseUrl}/files`
  const args = kernelArgs(env.args ?? '', ctx)
  const initrds = env.initrds ?? []
  // UEFI iPXE needs the kernel line to name each initrd (initrd=<name>) or the kernel finds no root.
  const initrdArgs = initrds.map((path) => `initrd=${path.split('/').pop() ?? path}`).join(' ')
  return [
    '#!ipxe',
    `# bootenv ${env.name} for ${ctx.mac}`,
    `kernel ${files}/${env.kernel} ${initrdArgs} ${args}`.replace(/\s+$/, ''),
    ...initrds.map((path) => `initrd --name ${path.split('/').pop() ?? path} ${files}/${path}`),
    'boot',
    ''
  ].join('\n')
}
