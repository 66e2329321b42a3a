import { describe, expect, it } from 'vitest'
import { defaultDataDir } from '../data-dir'
import { parseServeArgs, UsageError } from './cli'

describe('crowbar serve arguments', () => {
  it('defaults to port 8700 and the desktop app’s data directory', () => {
    expect(parseServeArgs([])).toEqual({ port: 8700, dataDir: defaultDataDir(), proxyDhcp: false, wizard: false })
  })

  it('takes --port 0 (any free port) and --data-dir', () => {
    expect(parseServeArgs(['--port', '0', '--data-dir', '/tmp/x'])).toEqual({ port: 0, dataDir: '/tmp/x', proxyDhcp: false, wizard: false })
  })

  it('refuses a bad port or an unknown option with a usage error', () => {
    expect(() => parseServeArgs(['--port', 'eighty'])).toThrow(UsageError)
    expect(() => parseServeArgs(['--port', '70000'])).toThrow('--port must be a number from 0 to 65535, not "70000"')
    expect(() => parseServeArgs(['--bogus'])).toThrow(UsageError)
  })

  it('takes the boot service flags, and refuses them without an interface', () => {
    expect(parseServeArgs(['--interface', 'eth1', '--boot-assets', '/srv/boot', '--proxy-dhcp'])).toMatchObject({
      interface: 'eth1',
      bootAssets: '/srv/boot',
      proxyDhcp: true
    })
    expect(() => parseServeArgs(['--proxy-dhcp'])).toThrow('--boot-assets and --proxy-dhcp need --interface')
    expect(() => parseServeArgs(['--interface', 'eth1; rm -rf /'])).toThrow('is not an interface name')
  })

  it('takes --wizard, with the boot service flags for the interface chosen there, and refuses it with --interface', () => {
    expect(parseServeArgs(['--wizard'])).toMatchObject({ wizard: true, interface: undefined })
    expect(parseServeArgs(['--wizard', '--boot-assets', '/srv/boot', '--proxy-dhcp'])).toMatchObject({ wizard: true, bootAssets: '/srv/boot', proxyDhcp: true })
    expect(() => parseServeArgs(['--wizard', '--interface', 'eth1'])).toThrow('--wizard and --interface do not go together')
  })

  it('takes --dns-forwarder (repeatable, or none), defaults to the system resolvers, and refuses bad ones', () => {
    expect(parseServeArgs(['--interface', 'eth1']).dnsForwarders).toBeUndefined()
    expect(parseServeArgs(['--interface', 'eth1', '--dns-forwarder', '10.0.0.53', '--dns-forwarder', '[2001:db8::53]:5353']).dnsForwarders).toEqual([
      '10.0.0.53',
      '[2001:db8::53]:5353'
    ])
    expect(parseServeArgs(['--wizard', '--dns-forwarder', 'none']).dnsForwarders).toEqual([])
    expect(() => parseServeArgs(['--interface', 'eth1', '--dns-forwarder', 'dns.example'])).toThrow('--dns-forwarder "dns.example" is not an IP address')
    expect(() => parseServeArgs(['--dns-forwarder', '10.0.0.53'])).toThrow('--dns-forwarder needs --interface or --wizard')
  })

  it('uses the same data directory as Electron’s userData for the product', () => {
    expect(defaultDataDir({ XDG_CONFIG_HOME: '/cfg' }, 'linux')).toBe('/cfg/Crowbar Desktop')
    expect(defaultDataDir({ APPDATA: 'C:\\AppData' }, 'win32')).toMatch(/Crowbar Desktop$/)
  })
})
