// The core barclamp: the roles every installation has, whatever else is installed.
import type { z } from 'zod'
import type { BarclampDefinitionSchema } from '../model'

export const crowbarBarclamp: z.input<typeof BarclampDefinitionSchema> = {
  name: 'crowbar',
  description: 'The framework itself: the admin node and every managed node',
  version: '2.0',
  roles: [
    {
      name: 'crowbar-admin-node',
      description: 'This machine: runs the boot services and the annealer',
      jig: 'noop',
      flags: { bootstrap: true }
    },
    {
      name: 'dhcp-database',
      description: 'Keeps the embedded DHCP server’s reservations in step with the nodes',
      jig: 'noop',
      flags: { bootstrap: true }
    },
    {
      name: 'dns-database',
      description: 'Keeps the embedded DNS server’s zone (A, AAAA, PTR) in step with the nodes',
      jig: 'noop',
      flags: { bootstrap: true }
    },
    {
      name: 'crowbar-managed-node',
      description: 'A node under management: bound to every node when it is discovered',
      jig: 'noop',
      flags: { discovery: true }
    }
  ]
}
