// The installation's settings (the `settings` table: key -> text), every key named here once, so
// a key is never spelled two ways and its reader and writer cannot drift apart.
import type { Kysely, Transaction } from 'kysely'
import type { Database } from './database'

export const SETTING = {
  /** How many jig runs the annealer keeps in flight (a positive integer). */
  maxJobs: 'annealer.max_jobs',
  /** When the first start (or the install wizard) created the admin network and node (ISO time). */
  bootstrapDone: 'bootstrap.done',
  /** The interface the wizard chose for the boot services, or the wizard's "none" marker. */
  setupInterface: 'setup.interface',
  /** 'true': the operator confirmed that the chosen interface, which holds the default route, faces the office network. */
  setupConfirmDefaultRoute: 'setup.confirm_default_route',
  setupDhcpMode: 'setup.dhcp_mode',
  /** The DNS domain node names live in. */
  clusterDomain: 'cluster_domain',
  /** The cluster's 40-bit ULA global ID, 10 hex digits, chosen once. */
  ulaGlobalId: 'network.ula_global_id',
  /** The site's package mirror for OS installs (a URL), when the operator set one. */
  provisionerMirror: 'provisioner.mirror',
  /** The key (64 hex digits) answer-file installers' install tokens are made with; chosen once. */
  nodeInstallKey: 'provisioner.install_key',
  /**
   * How many discovered nodes may wait for the operator (bound in no deployment but the system
   * one) before registrations of new machines are refused (a positive integer; default 32).
   */
  maxUnapprovedNodes: 'provisioner.max_unapproved_nodes'
} as const
export type SettingKey = (typeof SETTING)[keyof typeof SETTING]

type Db = Kysely<Database> | Transaction<Database>

export async function readSetting(db: Db, key: SettingKey): Promise<string | undefined> {
  return (await db.selectFrom('settings').select('value').where('key', '=', key).executeTakeFirst())?.value
}

/** Sets one or more settings, replacing what they held. */
export async function writeSettings(db: Db, values: Partial<Record<SettingKey, string>>): Promise<void> {
  const rows = Object.entries(values).flatMap(([key, value]) => (value === undefined ? [] : [{ key, value }]))
  if (rows.length === 0) return
  await db
    .insertInto('settings')
    .values(rows)
    .onConflict((oc) => oc.column('key').doUpdateSet((eb) => ({ value: eb.ref('excluded.value') })))
    .execute()
}
