// The core barclamp: the roles every installation has, whatever else is installed. The DHCP and
// DNS database roles are declared here (their behaviour is in their own modules).
import type { BarclampModule } from '../barclamp-module'
import { dhcpDatabaseRole } from '../dhcp-database/dhcp-database'
import { dnsDatabaseRole } from '../dns-database/dns-database'

export const ADMIN_NODE_ROLE = 'crowbar-admin-node'
export const MANAGED_NODE_ROLE = 'crowbar-managed-node'

export const crowbarBarclamp: BarclampModule = {
  name: 'crowbar',
  definition: {
    name: 'crowbar',
    description: 'The framework itself: the admin node and every managed node',
    version: '2.0',
    roles: [
      {
        name: ADMIN_NODE_ROLE,
        description: 'This machine: runs the boot services and the annealer',
        jig: 'noop',
        flags: { bootstrap: true }
      },
      dhcpDatabaseRole,
      dnsDatabaseRole,
      {
        name: MANAGED_NODE_ROLE,
        description: 'A node under management: bound to every node when it is discovered',
        jig: 'noop',
        flags: { discovery: true }
      }
    ]
  }
}

/** The roles the admin node is bound to when the system deployment is set up, in this order. */
export const ADMIN_NODE_ROLES = [ADMIN_NODE_ROLE, dhcpDatabaseRole.name, dnsDatabaseRole.name] as const
