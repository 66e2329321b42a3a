// The iPXE scripts of the bootenvs that boot a kernel: the kernel line each installer needs, filled
// in per node, and nothing on it that iPXE or the kernel would read differently.
import { describe, expect, it } from 'vitest'
import { BOOTENVS, answersUrl, bootenvNamed, ipxeScript, kernelArgs } from './bootenvs'

const BASE = 'http://192.168.124.10:8702'
const NODE = { baseUrl: BASE, mac: '52:54:00:12:34:56', hostname: 'n1', domain: 'lab.test' }
const kernelLine = (script: string) => script.split('\n').find((l) => l.startsWith('kernel ')) ?? ''

describe('bootenvs', () => {
  it('declares the installers with their answer file kind, kernel and initrd under the boot assets', () => {
    expect(BOOTENVS.map((b) => [b.name, b.answer ?? null])).toEqual([
      ['discovery', null],
      ['debian-12-install', 'preseed'],
      ['ubuntu-24.04-install', 'autoinstall'],
      ['local', null]
    ])
    expect(bootenvNamed('debian-12-install')).toMatchObject({ kernel: 'debian-installer/amd64/linux', initrds: ['debian-installer/amd64/initrd.gz'] })
    expect(bootenvNamed('ubuntu-24.04-install')).toMatchObject({ kernel: 'ubuntu-24.04/casper/vmlinuz', initrds: ['ubuntu-24.04/casper/initrd'] })
  })

  it('boots the Debian installer in auto mode with the node’s preseed URL, host name and domain', () => {
    expect(ipxeScript('debian-12-install', NODE)).toBe(
      [
        '#!ipxe',
        '# bootenv debian-12-install for 52:54:00:12:34:56',
        `kernel ${BASE}/files/debian-installer/amd64/linux initrd=initrd.gz auto=true priority=critical ` +
          `url=${BASE}/answers/52-54-00-12-34-56/preseed.cfg interface=auto hostname=n1 domain=lab.test`,
        `initrd --name initrd.gz ${BASE}/files/debian-installer/amd64/initrd.gz`,
        'boot',
        ''
      ].join('\n')
    )
  })

  it('boots the Ubuntu installer from the served ISO with the NoCloud source as one unquoted word', () => {
    const line = kernelLine(ipxeScript('ubuntu-24.04-install', NODE))
    expect(line).toBe(
      `kernel ${BASE}/files/ubuntu-24.04/casper/vmlinuz initrd=initrd ip=dhcp url=${BASE}/files/ubuntu-24.04/live-server-amd64.iso ` +
        `cloud-config-url=/dev/null autoinstall ds=nocloud-net;s=${BASE}/answers/52-54-00-12-34-56/`
    )
    // iPXE ends a command only at a word that is exactly `;`, `&&` or `||`, starts a comment at a
    // word beginning with `#`, and expands `${...}`: none of those may appear.
    const words = line.split(' ')
    expect(words.filter((w) => w === ';' || w === '&&' || w === '||' || w.startsWith('#') || w.includes('${'))).toEqual([])
    expect(words).toContain(`ds=nocloud-net;s=${BASE}/answers/52-54-00-12-34-56/`)
  })

  it('leaves out an argument whose value is unknown or not a plain name, rather than writing it', () => {
    const bare = { baseUrl: BASE, mac: '52:54:00:12:34:56' }
    expect(kernelArgs('a hostname={hostname} domain={domain} b', bare)).toBe('a b')
    expect(kernelArgs('hostname={hostname} domain={domain}', { ...bare, hostname: 'n1\n#!ipxe', domain: '${x}' })).toBe('')
    expect(kernelArgs('x={unknown} y={mac}', bare)).toBe('y=52:54:00:12:34:56')
  })

  it('keeps discovery’s kernel line, and boots discovery for a bootenv it does not know', () => {
    expect(kernelLine(ipxeScript('discovery', NODE))).toBe(
      `kernel ${BASE}/files/discovery/vmlinuz initrd=initrd.img console=ttyS0 console=tty0 quiet crowbar.api=${BASE} crowbar.mac=52:54:00:12:34:56`
    )
    expect(ipxeScript('no-such-bootenv', NODE)).toBe(ipxeScript('discovery', NODE))
  })

  it('serves answer files under the MAC with dashes', () => {
    expect(answersUrl(BASE, '52:54:00:AB:CD:EF')).toBe(`${BASE}/answers/52-54-00-ab-cd-ef`)
  })
})
