// The database's tables as TypeScript types: every query is checked against these by the compiler.
// Portable column types on both SQLite and PostgreSQL: flags are integers 0/1, JSON is text,
// timestamps are ISO-8601 text in UTC.
import type { ColumnType, Generated, Insertable, Kysely, Selectable, Transaction } from 'kysely'

type Id = Generated<number>
type Flag = ColumnType<number, number | undefined, number>
type Json = ColumnType<string, string | undefined, string>
type Defaulted<T> = ColumnType<T, T | undefined, T>

export interface SettingsTable {
  key: string
  value: string
}

export interface BarclampsTable {
  id: Id
  name: string
  description: string
  version: string
}

export interface RolesTable {
  id: Id
  name: string
  barclamp_id: number
  description: string
  jig: string
  /** JSON array of role names this role requires. */
  requires: Json
  /** JSON array of role names this role provides (may stand in for them). */
  provides: Json
  /** JSON array of role names this role conflicts with. */
  conflicts: Json
  /** JSON array of role names this role must run before (soft ordering, never blocks). */
  precedes: Json
  /** JSON object: the role's default attributes. */
  template: Json
  library: Flag
  implicit: Flag
  bootstrap: Flag
  discovery: Flag
  cluster: Flag
  destructive: Flag
  milestone: Flag
  abstract: Flag
  /** JSON array of script texts the script jig runs, in order. */
  scripts: Json
}

export interface DeploymentsTable {
  id: Id
  name: string
  description: string
  parent_id: number | null
  system: Flag
  /** 'proposed' while a snapshot is open, else 'committed'. */
  state: string
  created_at: string
  updated_at: string
}

export interface SnapshotsTable {
  id: Id
  deployment_id: number
  /** 'proposed' (open) or 'committed'. At most one open per deployment (partial unique index). */
  state: string
  created_at: string
  committed_at: string | null
}

export interface DeploymentRolesTable {
  id: Id
  deployment_id: number
  role_id: number
  proposed_data: Json
  committed_data: Json
}

export interface NodesTable {
  id: Id
  name: string
  description: string
  deployment_id: number
  admin: Flag
  alive: Flag
  available: Flag
  bootenv: string
  /** JSON object of operator hints (e.g. wanted addresses). */
  hint: Json
  /** JSON object of what discovery reported (MACs, CPUs, memory, disks). */
  discovery: Json
  created_at: string
  updated_at: string
  last_seen_at: ColumnType<string | null, string | null | undefined, string | null>
  /** SHA-256 (hex) of the node's node-facing API secret; null when it has none. */
  api_secret_hash: ColumnType<string | null, string | null | undefined, string | null>
  api_secret_issued_at: ColumnType<string | null, string | null | undefined, string | null>
}

export interface NodeRolesTable {
  id: Id
  deployment_id: number
  role_id: number
  node_id: number
  /** Numeric state as Crowbar stores it: error -1, active 0, todo 1, transition 2, blocked 3, proposed 4. */
  state: number
  cohort: Defaulted<number>
  available: Flag
  proposed_data: Json
  committed_data: Json
  sysdata: Json
  wall: Json
  runlog: Defaulted<string>
  run_count: Defaulted<number>
  created_at: string
  updated_at: string
}

export interface NodeRoleEdgesTable {
  parent_id: number
  child_id: number
}

export interface JobsTable {
  id: Id
  noderole_id: number
  node_id: number
  /** queued | running | done | failed */
  state: string
  attempt: Defaulted<number>
  worker: string | null
  created_at: string
  started_at: string | null
  finished_at: string | null
  heartbeat_at: string | null
  output: Defaulted<string>
}

export interface SshHostKeysTable {
  node_id: number
  key_type: string
  fingerprint: string
  first_seen_at: string
}

export interface NetworksTable {
  id: Id
  name: string
  category: string
  vlan: Defaulted<number>
  /** JSON: null or { mode, interfaces }. */
  bond: Json
  v4_subnet: string | null
  v6prefix_setting: string | null
  v6prefix: string | null
  created_at: string
  updated_at: string
}

export interface NetworkRangesTable {
  id: Id
  network_id: number
  name: string
  family: number
  first: string
  last: string
}

export interface NetworkRoutersTable {
  id: Id
  network_id: number
  family: number
  address: string
  pref: Defaulted<number>
}

export interface NetworkAllocationsTable {
  id: Id
  network_id: number
  node_id: number
  family: number
  range_name: string | null
  address: string
  created_at: string
}

export interface DhcpLeasesTable {
  mac: string
  address: string
  hostname: string | null
  expires_at: string
  updated_at: string
}

export interface NodeMacsTable {
  mac: string
  node_id: number
}

export interface BootEventsTable {
  id: Id
  mac: string
  node_id: number | null
  t: string
  source: string
  event: string
  /** JSON object. */
  detail: string
}

export interface BootPacketsTable {
  id: Id
  mac: string
  node_id: number | null
  /** The first packet's time, microseconds since the epoch (PostgreSQL's bigint reads as text). */
  t: ColumnType<number | string, number, number>
  /** Packets in `records`. */
  packets: number
  /** The packets as pcap records (16-byte header and the Ethernet frame as kept, each), base64. */
  records: string
}

export interface NodeBmcsTable {
  node_id: number
  protocol: string
  address: string
  port: number
  username: string
  /** The password sealed with the credential key (base/secret-box.ts); null when none is stored. */
  password_sealed: string | null
  /** bmc-configure's user and (sealed) password while its run sets them on the BMC. */
  pending_username: ColumnType<string | null, string | null | undefined, string | null>
  pending_password_sealed: ColumnType<string | null, string | null | undefined, string | null>
  mac: string | null
  source: string
  certificate_sha256: string | null
  power_state: ColumnType<string, string | undefined, string>
  power_checked_at: string | null
  /** JSON {kind, message} of the last failed operation; null after a success. */
  power_error: string | null
  created_at: string
  updated_at: string
}

export interface Database {
  boot_events: BootEventsTable
  boot_packets: BootPacketsTable
  dhcp_leases: DhcpLeasesTable
  node_macs: NodeMacsTable
  node_bmcs: NodeBmcsTable
  networks: NetworksTable
  network_ranges: NetworkRangesTable
  network_routers: NetworkRoutersTable
  network_allocations: NetworkAllocationsTable
  jobs: JobsTable
  ssh_host_keys: SshHostKeysTable
  settings: SettingsTable
  barclamps: BarclampsTable
  roles: RolesTable
  deployments: DeploymentsTable
  snapshots: SnapshotsTable
  deployment_roles: DeploymentRolesTable
  nodes: NodesTable
  noderoles: NodeRolesTable
  noderole_edges: NodeRoleEdgesTable
}

export type DB = Kysely<Database>
export type Tx = Transaction<Database>
/** Either the database or an open transaction: domain functions accept both. */
export type Queryable = Kysely<Database>

export type RoleRow = Selectable<RolesTable>
export type DeploymentRow = Selectable<DeploymentsTable>
export type NodeRow = Selectable<NodesTable>
export type NodeRoleRow = Selectable<NodeRolesTable>
export type NewNodeRole = Insertable<NodeRolesTable>
