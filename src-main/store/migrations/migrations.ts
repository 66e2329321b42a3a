// The ordered list of migrations. Numbered, forward-only: append, never edit a shipped one.
import type { Migration, MigrationProvider } from 'kysely'
import type { StoreKind } from '../store-kind'
import { initialMigration } from './0001-initial'
import { jobsAndSshMigration } from './0002-jobs-and-ssh'
import { networkMigration } from './0003-network'
import { dhcpMigration } from './0004-dhcp'
import { nodeLastSeenMigration } from './0005-node-last-seen'
import { nodeSecretsMigration } from './0006-node-secrets'
import { bootEventsMigration } from './0007-boot-events'
import { bootPacketsMigration } from './0008-boot-packets'
import { nodeBmcsMigration } from './0009-node-bmcs'

export function migrationProvider(kind: StoreKind): MigrationProvider {
  return {
    async getMigrations(): Promise<Record<string, Migration>> {
      return {
        '0001-initial': initialMigration(kind),
        '0002-jobs-and-ssh': jobsAndSshMigration(kind),
        '0003-network': networkMigration(kind),
        '0004-dhcp': dhcpMigration(),
        '0005-node-last-seen': nodeLastSeenMigration(),
        '0006-node-secrets': nodeSecretsMigration(),
        '0007-boot-events': bootEventsMigration(kind),
        '0008-boot-packets': bootPacketsMigration(kind),
        '0009-node-bmcs': nodeBmcsMigration()
      }
    }
  }
}
