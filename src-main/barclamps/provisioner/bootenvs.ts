// Bootenvs as data: what a node boots next, and the iPXE script that boots it. `local` hands over
// to the disk (local-boot.ts), so a node that has been installed never loops back into an install.
import { localBootIpxeScript } from './local-boot'

export interface Bootenv {
  readonly name: string
  readonly description: string
  /** Paths under the boot assets directory; absent for `local`. */
  readonly kernel?: string
  readonly initrds?: readonly string[]
  /** Kernel arguments; {api} and {mac} are filled in per node. */
  readonly args?: string
}

export const BOOTENVS: readonly Bootenv[] = [
  {
    name: 'discovery',
    description: 'The discovery image: registers the machine, runs sshd, and installs operating systems',
    kernel: 'discovery/vmlinuz',
    initrds: ['discovery/initrd.img'],
    args: 'console=ttyS0 console=tty0 quiet crowbar.api={api} crowbar.mac={mac}'
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
}

/** The iPXE script for a bootenv. Unknown bootenvs boot discovery, which can recover the node. */
export function ipxeScript(bootenv: string, ctx: IpxeContext): string {
  const env = bootenvNamed(bootenv) ?? bootenvNamed('discovery')
  if (!env?.kernel) return localBootIpxeScript(bootenv, `${ctx.baseUrl}/files`)
  const files = `${ctx.baseUrl}/files`
  const args = (env.args ?? '').replaceAll('{api}', ctx.baseUrl).replaceAll('{mac}', ctx.mac)
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
