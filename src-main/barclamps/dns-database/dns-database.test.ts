// The DNS database's zone (issue 17): a node's name holds its admin addresses, and each other
// network's addresses get `<node>.<network>.<domain>`, so a storage or BMC address never answers
// for the node's own name.
import { afterEach, describe, expect, it } from 'vitest'
import { NetworkInputSchema } from '../../model'
import { createNetwork } from '../network/networks'
import { clusterDomain } from '../network/admin-bootstrap'
import { startTestApp, type TestApp } from '../../testing/test-app'
import { scenario } from '../../testing/domain-scenario'
import { buildZone } from './dns-database'

describe('DNS database zone', () => {
  let app: TestApp | undefined
  afterEach(async () => {
    await app?.dispose()
    app = undefined
  })

  it('publishes the admin addresses under the node name and the others under <node>.<network>.<domain>', async () => {
    app = await startTestApp('sqlite', { bootstrap: true })
    const domain = await clusterDomain(app.ctx)
    await createNetwork(app.ctx, NetworkInputSchema.parse({ name: 'storage', category: 'storage', vlan: 20, v4_subnet: '10.20.0.0/24', ranges: [{ name: 'host', first: '10.20.0.10', last: '10.20.0.20' }] }))
    await createNetwork(app.ctx, NetworkInputSchema.parse({ name: 'bmc', category: 'bmc', v4_subnet: '10.30.0.0/24', ranges: [{ name: 'host', first: '10.30.0.10', last: '10.30.0.20' }] }))
    const s = scenario(app.ctx)
    const node = await s.node(`n1.${domain}`)
    const system = await s.system()
    for (const role of ['network-admin', 'network-storage', 'network-bmc']) await s.bind(system, node, role, true)
    const zone = await buildZone(app.ctx, domain, { fqdn: `admin.${domain}`, addresses: ['192.168.124.10'] })
    const host = (fqdn: string) => zone.hosts.find((h) => h.fqdn === fqdn)?.addresses ?? []
    const admin = host(`n1.${domain}`)
    expect(admin.length).toBeGreaterThanOrEqual(1)
    expect(admin.every((a) => a.startsWith('192.168.124.') || a.includes(':'))).toBe(true)
    expect(host(`n1.storage.${domain}`)).toEqual(['10.20.0.10'])
    expect(host(`n1.bmc.${domain}`)).toEqual(['10.30.0.10'])
    // No other network's address answers for the node's own name.
    expect(admin).not.toContain('10.20.0.10')
    expect(admin).not.toContain('10.30.0.10')
  })
})
