// The one API contract: every operation the renderer (or a script) may call, with zod schemas for
// its input and output, and the change events. Both transports (IPC and HTTP) and the renderer's
// client are derived from this table; adding an operation is one entry here plus one handler.
import { z } from 'zod'

export const Id = z.number().int().positive()

export const JsonObjectSchema = z.record(z.string(), z.json())

export const NODEROLE_STATE_NAMES = ['error', 'active', 'todo', 'transition', 'blocked', 'proposed'] as const
export const NodeRoleStateSchema = z.enum(NODEROLE_STATE_NAMES)

const Name = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/, 'use 1-63 letters, digits, ".", "_" or "-", starting with a letter or digit')
const RoleName = z
  .string()
  .regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'use 1-63 lower-case letters, digits, "_" or "-"')
/** A fully qualified domain name: dot-separated labels of letters, digits and inner hyphens. */
export const Fqdn = z
  .string()
  .max(253)
  .regex(
    /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)+$/,
    'must be a fully qualified domain name in lower case, e.g. node1.cluster.lab'
  )
const Description = z.string().max(4000)
const Timestamp = z.string()

export const DeploymentStateSchema = z.enum(['proposed', 'committed', 'active', 'error'])
export const DeploymentSchema = z.object({
  id: Id,
  name: z.string(),
  description: z.string(),
  parent_id: Id.nullable(),
  system: z.boolean(),
  /** proposed: a snapshot is open; else committed, active (all noderoles active) or error. */
  state: DeploymentStateSchema,
  /** The open proposal's snapshot id, if any. */
  snapshot_id: Id.nullable(),
  noderole_states: z.record(NodeRoleStateSchema, z.number().int()),
  created_at: Timestamp,
  updated_at: Timestamp
})
export type Deployment = z.infer<typeof DeploymentSchema>

export const ROLE_FLAGS = ['library', 'implicit', 'bootstrap', 'discovery', 'cluster', 'destructive', 'milestone', 'abstract'] as const
export const RoleFlagsSchema = z.object(
  Object.fromEntries(ROLE_FLAGS.map((f) => [f, z.boolean()])) as Record<(typeof ROLE_FLAGS)[number], z.ZodBoolean>
)
export type RoleFlags = z.infer<typeof RoleFlagsSchema>

export const RoleSchema = z.object({
  id: Id,
  name: z.string(),
  barclamp: z.string(),
  description: z.string(),
  jig: z.string(),
  requires: z.array(z.string()),
  provides: z.array(z.string()),
  conflicts: z.array(z.string()),
  precedes: z.array(z.string()),
  flags: RoleFlagsSchema,
  attributes: JsonObjectSchema,
  scripts: z.array(z.string())
})
export type Role = z.infer<typeof RoleSchema>

export const RoleDefinitionSchema = z.object({
  name: RoleName,
  description: Description.default(''),
  jig: z.string().min(1),
  requires: z.array(RoleName).max(100).default([]),
  provides: z.array(RoleName).max(100).default([]),
  conflicts: z.array(RoleName).max(100).default([]),
  precedes: z.array(RoleName).max(100).default([]),
  flags: RoleFlagsSchema.partial().default({}),
  attributes: JsonObjectSchema.default({}),
  /** For the script jig: shell scripts run in order on the node (attributes JSON on stdin, wall JSON on stdout). */
  scripts: z.array(z.string().min(1).max(256 * 1024)).max(50).default([])
})
export type RoleDefinition = z.infer<typeof RoleDefinitionSchema>

export const BarclampDefinitionSchema = z.object({
  name: RoleName,
  description: Description.default(''),
  version: z.string().max(64).default('0'),
  roles: z.array(RoleDefinitionSchema).min(1).max(500)
})
export type BarclampDefinition = z.infer<typeof BarclampDefinitionSchema>

export const BarclampSchema = z.object({
  id: Id,
  name: z.string(),
  description: z.string(),
  version: z.string(),
  roles: z.array(z.string())
})
export type Barclamp = z.infer<typeof BarclampSchema>

export const NodeSchema = z.object({
  id: Id,
  name: z.string(),
  description: z.string(),
  deployment_id: Id,
  admin: z.boolean(),
  alive: z.boolean(),
  available: z.boolean(),
  bootenv: z.string(),
  hint: JsonObjectSchema,
  discovery: JsonObjectSchema,
  created_at: Timestamp,
  updated_at: Timestamp,
  /** When the node was last seen alive; null if never. */
  last_seen_at: Timestamp.nullable()
})
export type Node = z.infer<typeof NodeSchema>

export const NodeRoleSchema = z.object({
  id: Id,
  deployment_id: Id,
  role_id: Id,
  role: z.string(),
  node_id: Id,
  node: z.string(),
  state: NodeRoleStateSchema,
  cohort: z.number().int(),
  available: z.boolean(),
  parents: z.array(Id),
  children: z.array(Id),
  run_count: z.number().int(),
  created_at: Timestamp,
  updated_at: Timestamp
})
export type NodeRole = z.infer<typeof NodeRoleSchema>

export const AttributeLayersSchema = z.object({
  role_defaults: JsonObjectSchema,
  deployment_role: JsonObjectSchema,
  parents_wall: JsonObjectSchema,
  system: JsonObjectSchema,
  user: JsonObjectSchema
})

export const NodeRoleDetailSchema = NodeRoleSchema.extend({
  proposed_data: JsonObjectSchema,
  committed_data: JsonObjectSchema,
  wall: JsonObjectSchema,
  runlog: z.string(),
  attributes: z.object({ layers: AttributeLayersSchema, merged: JsonObjectSchema })
})
export type NodeRoleDetail = z.infer<typeof NodeRoleDetailSchema>

export const NETWORK_CATEGORIES = ['admin', 'bmc', 'storage', 'public', 'private', 'other'] as const
export const NetworkRangeInputSchema = z
  .object({ name: z.string().regex(/^[a-z][a-z0-9_-]{0,30}$/, 'use a short lower-case name such as host or dhcp'), first: z.string().max(64), last: z.string().max(64) })
  .strict()
export const NetworkRouterInputSchema = z.object({ address: z.string().max(64), pref: z.number().int().min(0).max(65535).default(10) }).strict()
export const NetworkBondSchema = z
  .object({ mode: z.enum(['active-backup', 'balance-alb', '802.3ad']), interfaces: z.array(z.string().min(1).max(32)).min(1).max(8) })
  .strict()
export const NetworkInputSchema = z
  .object({
    name: z.string().regex(/^[a-z][a-z0-9-]{0,30}$/, 'use 1-31 lower-case letters, digits or "-", starting with a letter'),
    category: z.enum(NETWORK_CATEGORIES).default('other'),
    vlan: z.number().int().min(0).max(4094).default(0),
    bond: NetworkBondSchema.nullable().default(null),
    v4_subnet: z.string().max(64).nullable().default(null),
    /** 'auto' (an RFC 4193 unique-local /64), a /64 such as 2001:db8:1:2::/64, or null for no IPv6. */
    v6prefix: z.string().max(64).nullable().default(null),
    ranges: z.array(NetworkRangeInputSchema).max(64).default([]),
    routers: z.array(NetworkRouterInputSchema).max(16).default([])
  })
  .strict()
export type NetworkInput = z.infer<typeof NetworkInputSchema>

export const NetworkSchema = z.object({
  id: Id,
  name: z.string(),
  category: z.enum(NETWORK_CATEGORIES),
  vlan: z.number().int(),
  bond: NetworkBondSchema.nullable(),
  v4_subnet: z.string().nullable(),
  v6prefix_setting: z.string().nullable(),
  v6prefix: z.string().nullable(),
  ranges: z.array(z.object({ name: z.string(), family: z.union([z.literal(4), z.literal(6)]), first: z.string(), last: z.string() })),
  routers: z.array(z.object({ family: z.union([z.literal(4), z.literal(6)]), address: z.string(), pref: z.number().int() })),
  allocations: z.array(z.object({ node_id: Id, family: z.union([z.literal(4), z.literal(6)]), address: z.string(), range: z.string().nullable() })),
  /** The role that puts a node on this network (binding it allocates the node's addresses). */
  role: z.string(),
  created_at: Timestamp,
  updated_at: Timestamp
})
export type Network = z.infer<typeof NetworkSchema>

export const NodeAddressSchema = z.object({ network: z.string(), family: z.union([z.literal(4), z.literal(6)]), address: z.string() })
export const NodeWithAddressesSchema = NodeSchema.extend({ addresses: z.array(NodeAddressSchema) })

export const JobStateSchema = z.enum(['queued', 'running', 'done', 'failed'])
export const JobSchema = z.object({
  id: Id,
  noderole_id: Id,
  node_id: Id,
  state: JobStateSchema,
  attempt: z.number().int(),
  worker: z.string().nullable(),
  created_at: Timestamp,
  started_at: Timestamp.nullable(),
  finished_at: Timestamp.nullable()
})
export type Job = z.infer<typeof JobSchema>
export const JobDetailSchema = JobSchema.extend({ output: z.string() })

export const AnnealerStatusSchema = z.object({
  max_jobs: z.number().int(),
  running: z.number().int(),
  queued: z.number().int()
})

export const HealthSchema = z.object({
  version: z.string(),
  store: z.enum(['sqlite', 'postgres']),
  location: z.string()
})

/** The install wizard's choices (DESIGN.md §8); the main side checks them as a whole and names each bad field. */
export const SetupInputSchema = z
  .object({
    /** The interface that faces the rack, or 'none' (the API only: no boot services). */
    interface: z.string().min(1).max(15),
    v4_subnet: z.string().max(64),
    dhcp_first: z.string().max(64),
    dhcp_last: z.string().max(64),
    /** 'auto' (an RFC 4193 /64), an IPv6 /64, or null for no IPv6. */
    v6prefix: z.string().max(64).nullable(),
    domain: z.string().max(253),
    /** The admin node's FQDN in or under the domain, or a bare host name (the domain is appended). */
    admin_name: z.string().max(253)
  })
  .strict()
export type SetupInput = z.infer<typeof SetupInputSchema>

/** What a setup creates, normalised: the admin network's layout and the admin node's name. */
export const SetupPlanSchema = z.object({
  interface: z.string(),
  v4_subnet: z.string(),
  /** The chosen interface's address, which the admin node holds; null: the first of the admin range. */
  admin_address: z.string().nullable(),
  router: z.string(),
  ranges: z.array(z.object({ name: z.string(), first: z.string(), last: z.string() })),
  v6prefix: z.string().nullable(),
  domain: z.string(),
  admin_name: z.string()
})
export type SetupPlan = z.infer<typeof SetupPlanSchema>

export const SetupInterfaceSchema = z.object({
  name: z.string(),
  loopback: z.boolean(),
  addresses: z.array(z.object({ address: z.string(), prefix_length: z.number().int(), subnet: z.string() })),
  /** Why it cannot face the rack (loopback, no IPv4 address, too small a subnet); null if it can. */
  unusable: z.string().nullable(),
  /** The choices proposed with this interface (its subnet, its address for the admin node). */
  proposal: SetupInputSchema.nullable()
})

export const BootStatusSchema = z.object({
  /** The interface the boot services were started on; null: none. */
  interface: z.string().nullable(),
  /** The HTTP boot URL while they run. */
  url: z.string().nullable(),
  /** Why they did not start, if they did not. */
  error: z.string().nullable()
})

export const SetupStateSchema = z.object({
  /** pending: nothing created yet, the wizard waits; done: the admin network, node and system deployment exist. */
  state: z.enum(['pending', 'done']),
  interfaces: z.array(SetupInterfaceSchema),
  /** The choices proposed without an interface. */
  proposal: SetupInputSchema,
  boot: BootStatusSchema
})
export type SetupState = z.infer<typeof SetupStateSchema>

export const SetupResultSchema = z.object({ plan: SetupPlanSchema, boot: BootStatusSchema })

/** A change the renderer should react to; published after the transaction that made it commits. */
export const ChangeEventSchema = z.object({
  /** 'setup' (id 1): the install wizard was completed. */
  kind: z.enum(['deployment', 'node', 'noderole', 'barclamp', 'network', 'setup']),
  id: Id,
  action: z.enum(['created', 'updated', 'deleted']),
  state: NodeRoleStateSchema.optional()
})
export type ChangeEvent = z.infer<typeof ChangeEventSchema>

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE'

export interface OperationSpec<I extends z.ZodType, O extends z.ZodType> {
  readonly method: HttpMethod
  /** Path under /api/v2; `:name` segments are taken from the input object. */
  readonly path: string
  readonly input: I
  readonly output: O
  readonly summary: string
}

const op = <I extends z.ZodType, O extends z.ZodType>(spec: OperationSpec<I, O>): OperationSpec<I, O> => spec
const NoInput = z.object({}).strict()
const ById = z.object({ id: Id }).strict()

export const contract = {
  health: op({ method: 'GET', path: '/health', input: NoInput, output: HealthSchema, summary: 'Version and store in use' }),

  getSetup: op({
    method: 'GET',
    path: '/setup',
    input: NoInput,
    output: SetupStateSchema,
    summary: 'Whether the install wizard is pending or done, this machine’s interfaces and the proposed choices'
  }),
  checkSetup: op({
    method: 'POST',
    path: '/setup/check',
    input: SetupInputSchema,
    output: SetupPlanSchema,
    summary: 'Check the wizard’s choices and say what they would create; writes nothing'
  }),
  completeSetup: op({
    method: 'POST',
    path: '/setup',
    input: SetupInputSchema,
    output: SetupResultSchema,
    summary: 'Create the admin network and node, commit the system deployment, start the boot services on the interface (once)'
  }),

  listDeployments: op({ method: 'GET', path: '/deployments', input: NoInput, output: z.array(DeploymentSchema), summary: 'All deployments, system first' }),
  getDeployment: op({ method: 'GET', path: '/deployments/:id', input: ById, output: DeploymentSchema, summary: 'One deployment' }),
  createDeployment: op({
    method: 'POST',
    path: '/deployments',
    input: z.object({ name: Name, description: Description.default(''), parent_id: Id.optional() }).strict(),
    output: DeploymentSchema,
    summary: 'Create a deployment (under system unless parent_id is given), with its proposal open'
  }),
  proposeDeployment: op({ method: 'POST', path: '/deployments/:id/propose', input: ById, output: DeploymentSchema, summary: 'Open a proposal (snapshot) on a committed deployment' }),
  discardProposal: op({
    method: 'POST',
    path: '/deployments/:id/discard',
    input: ById,
    output: DeploymentSchema,
    summary: 'Discard the open proposal: its never-run noderoles go, edited data reverts'
  }),
  deleteDeployment: op({
    method: 'DELETE',
    path: '/deployments/:id',
    input: ById,
    output: z.object({ deleted: Id }),
    summary: 'Delete a deployment with no children and nothing run in it'
  }),
  commitDeployment: op({ method: 'POST', path: '/deployments/:id/commit', input: ById, output: DeploymentSchema, summary: 'Commit the open proposal: proposed noderoles go to todo or blocked' }),

  listBarclamps: op({ method: 'GET', path: '/barclamps', input: NoInput, output: z.array(BarclampSchema), summary: 'Installed barclamps' }),
  importBarclamp: op({ method: 'POST', path: '/barclamps', input: BarclampDefinitionSchema, output: BarclampSchema, summary: 'Install or update a barclamp and its roles' }),
  listRoles: op({ method: 'GET', path: '/roles', input: NoInput, output: z.array(RoleSchema), summary: 'All roles' }),

  listNodes: op({ method: 'GET', path: '/nodes', input: NoInput, output: z.array(NodeWithAddressesSchema), summary: 'All nodes with their addresses' }),
  getNode: op({ method: 'GET', path: '/nodes/:id', input: ById, output: NodeWithAddressesSchema, summary: 'One node with its addresses' }),
  createNode: op({
    method: 'POST',
    path: '/nodes',
    input: z
      .object({
        name: Fqdn,
        description: Description.default(''),
        deployment_id: Id.optional(),
        admin: z.boolean().default(false),
        alive: z.boolean().default(false),
        available: z.boolean().default(true),
        bootenv: z.string().min(1).max(64).default('discovery'),
        hint: JsonObjectSchema.default({})
      })
      .strict(),
    output: NodeSchema,
    summary: 'Create a node'
  }),
  updateNode: op({
    method: 'PATCH',
    path: '/nodes/:id',
    input: z
      .object({
        id: Id,
        description: Description.optional(),
        alive: z.boolean().optional(),
        available: z.boolean().optional(),
        bootenv: z.string().min(1).max(64).optional()
      })
      .strict(),
    output: NodeSchema,
    summary: 'Change a node: alive (dead ripples through the graph), available, bootenv'
  }),
  forgetHostKey: op({
    method: 'POST',
    path: '/nodes/:id/forget-host-key',
    input: ById,
    output: z.object({ forgotten: z.number().int() }),
    summary: 'Forget the pinned SSH host key of a reinstalled node (the next contact pins the new one)'
  }),
  deleteNode: op({ method: 'DELETE', path: '/nodes/:id', input: ById, output: z.object({ deleted: Id }), summary: 'Delete a node and its noderoles' }),

  listNodeRoles: op({
    method: 'GET',
    path: '/noderoles',
    input: z.object({ deployment_id: Id.optional(), node_id: Id.optional() }).strict(),
    output: z.array(NodeRoleSchema),
    summary: 'Noderoles, optionally of one deployment or node'
  }),
  getNodeRole: op({ method: 'GET', path: '/noderoles/:id', input: ById, output: NodeRoleDetailSchema, summary: 'One noderole with its attribute layers' }),
  bindNodeRole: op({
    method: 'POST',
    path: '/noderoles',
    input: z.object({ deployment_id: Id, node_id: Id, role: RoleName }).strict(),
    output: NodeRoleSchema,
    summary: 'Bind a role to a node in a proposed deployment (creates the noderoles it requires too)'
  }),
  deleteNodeRole: op({ method: 'DELETE', path: '/noderoles/:id', input: ById, output: z.object({ deleted: z.array(Id) }), summary: 'Remove a noderole (and descendants that go with it)' }),
  setNodeRoleData: op({
    method: 'PUT',
    path: '/noderoles/:id/data',
    input: z.object({ id: Id, data: JsonObjectSchema }).strict(),
    output: NodeRoleDetailSchema,
    summary: 'Set the operator (user) data of a noderole in a proposed deployment'
  }),
  retryNodeRole: op({ method: 'POST', path: '/noderoles/:id/retry', input: ById, output: NodeRoleSchema, summary: 'Put an errored noderole back to todo' }),

  listNetworks: op({ method: 'GET', path: '/networks', input: NoInput, output: z.array(NetworkSchema), summary: 'Networks with ranges, routers and allocations' }),
  getNetwork: op({ method: 'GET', path: '/networks/:id', input: ById, output: NetworkSchema, summary: 'One network' }),
  createNetwork: op({ method: 'POST', path: '/networks', input: NetworkInputSchema, output: NetworkSchema, summary: 'Create a network (and its role)' }),
  updateNetwork: op({
    method: 'PUT',
    path: '/networks/:id',
    input: NetworkInputSchema.omit({ name: true }).extend({ id: Id }),
    output: NetworkSchema,
    summary: 'Replace a network’s settings, ranges and routers (existing allocations must still fit)'
  }),
  deleteNetwork: op({ method: 'DELETE', path: '/networks/:id', input: ById, output: z.object({ deleted: Id }), summary: 'Delete a network with no allocations' }),
  allocateAddress: op({
    method: 'POST',
    path: '/networks/:id/allocations',
    input: z.object({ id: Id, node_id: Id, range: z.string().max(31).default('host') }).strict(),
    output: z.array(NodeAddressSchema),
    summary: 'Give a node its addresses on a network (IPv4 from the range, IPv6 from its FQDN); idempotent'
  }),

  listJobs: op({
    method: 'GET',
    path: '/jobs',
    input: z
      .object({ state: JobStateSchema.optional(), noderole_id: Id.optional(), limit: z.number().int().min(1).max(1000).default(200) })
      .strict(),
    output: z.array(JobSchema),
    summary: 'Jig runs, newest first'
  }),
  getJob: op({ method: 'GET', path: '/jobs/:id', input: ById, output: JobDetailSchema, summary: 'One jig run with its captured output' }),
  getAnnealer: op({ method: 'GET', path: '/annealer', input: NoInput, output: AnnealerStatusSchema, summary: 'Queue state and the concurrency limit' }),
  setAnnealer: op({
    method: 'PUT',
    path: '/annealer',
    input: z.object({ max_jobs: z.number().int().min(1).max(1000) }).strict(),
    output: AnnealerStatusSchema,
    summary: 'Set how many jig runs may run at once'
  })
} as const

export type Contract = typeof contract
export type OperationName = keyof Contract
export type OperationInput<K extends OperationName> = z.input<Contract[K]['input']>
export type OperationParsedInput<K extends OperationName> = z.output<Contract[K]['input']>
export type OperationOutput<K extends OperationName> = z.output<Contract[K]['output']>

/** The typed API object the renderer uses, whatever carries it. */
export type CrowbarApi = {
  [K in OperationName]: (input: OperationInput<K>) => Promise<OperationOutput<K>>
}

export const OPERATION_NAMES = Object.keys(contract) as OperationName[]

/** The error body every transport returns: the kind maps to an HTTP status. */
export const ApiErrorSchema = z.object({
  error: z.object({ kind: z.enum(['invalid', 'not_found', 'conflict', 'internal']), message: z.string() })
})
export type ApiError = z.infer<typeof ApiErrorSchema>
