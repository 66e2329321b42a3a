// The one API contract: every operation the renderer (or a script) may call, with zod schemas for
// its input and output. Both transports (IPC and HTTP) and the renderer's client are derived from
// this table; adding an operation is one entry here plus one handler. The entities are the model's.
import { z } from 'zod'
import {
  AnnealerStatusSchema,
  BarclampDefinitionSchema,
  BarclampSchema,
  BootDiagnosisSchema,
  BootEventQuerySchema,
  BootEventSchema,
  BootMachineQuerySchema,
  BootPcapSchema,
  BootProgressSchema,
  DeploymentRoleSchema,
  DeploymentSchema,
  Description,
  Fqdn,
  HealthSchema,
  Id,
  JobDetailSchema,
  JobSchema,
  JobStateSchema,
  JsonObjectSchema,
  Name,
  NetworkInputSchema,
  NetworkSchema,
  NodeAddressSchema,
  NodeBmcSchema,
  NodePowerSchema,
  PowerActionSchema,
  PowerResultSchema,
  SetNodeBmcSchema,
  NodeRoleDetailSchema,
  NodeRoleSchema,
  NodeSchema,
  NodeWithAddressesSchema,
  RoleName,
  RoleSchema,
  PreflightInputSchema,
  PreflightReportSchema,
  SetupInputSchema,
  SetupPlanSchema,
  SetupResultSchema,
  SetupStateSchema
} from '../model'

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
  preflight: op({
    method: 'POST',
    path: '/setup/preflight',
    input: PreflightInputSchema,
    output: PreflightReportSchema,
    summary: 'What is on an interface’s link (carrier, MTU, addresses, default route, other DHCP servers, IPv6 routers, LLDP switch port) and whether to serve full DHCP or proxyDHCP there'
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
  commitDeployment: op({
    method: 'POST',
    path: '/deployments/:id/commit',
    input: ById,
    output: DeploymentSchema,
    summary: 'Commit the open proposal: proposed noderoles go to todo or blocked; noderoles whose data the proposal changed run again'
  }),
  listDeploymentRoles: op({
    method: 'GET',
    path: '/deployments/:id/roles',
    input: ById,
    output: z.array(DeploymentRoleSchema),
    summary: 'The deployment-role data of every role bound in a deployment (proposed and committed)'
  }),
  setDeploymentRoleData: op({
    method: 'PUT',
    path: '/deployments/:id/roles/:role/data',
    input: z.object({ id: Id, role: RoleName, data: JsonObjectSchema }).strict(),
    output: DeploymentRoleSchema,
    summary: 'Replace a role’s data in a deployment’s open proposal (every noderole of the role there reads it)'
  }),
  patchDeploymentRoleData: op({
    method: 'PATCH',
    path: '/deployments/:id/roles/:role/data',
    input: z.object({ id: Id, role: RoleName, data: JsonObjectSchema }).strict(),
    output: DeploymentRoleSchema,
    summary: 'Change a role’s data in a deployment’s open proposal by a JSON merge patch (RFC 7396: null removes a key)'
  }),

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
  resetNodeSecret: op({
    method: 'POST',
    path: '/nodes/:id/reset-secret',
    input: ById,
    output: z.object({ id: Id, reset: z.boolean() }),
    summary: "Forget a node's node-facing API secret: the machine's next registration (booted afresh into discovery) claims the node and gets a new one"
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
  bindNodeRoles: op({
    method: 'POST',
    path: '/noderoles/bulk',
    input: z.object({ deployment_id: Id, role: RoleName, node_ids: z.array(Id).min(1).max(20000) }).strict(),
    output: z.object({ deployment_id: Id, role: z.string(), noderoles: z.array(z.object({ node_id: Id, id: Id })), created: z.number().int() }),
    summary: 'Bind a role to many nodes at once, as binding it to each in turn would: all of them, or none with the first refusal'
  }),
  deleteNodeRole: op({ method: 'DELETE', path: '/noderoles/:id', input: ById, output: z.object({ deleted: z.array(Id) }), summary: 'Remove a noderole (and descendants that go with it)' }),
  setNodeRoleData: op({
    method: 'PUT',
    path: '/noderoles/:id/data',
    input: z.object({ id: Id, data: JsonObjectSchema }).strict(),
    output: NodeRoleDetailSchema,
    summary: 'Set the operator (user) data of a noderole in a proposed deployment'
  }),
  patchNodeRoleData: op({
    method: 'PATCH',
    path: '/noderoles/:id/data',
    input: z.object({ id: Id, data: JsonObjectSchema }).strict(),
    output: NodeRoleDetailSchema,
    summary: 'Change the operator data of a noderole in a proposed deployment by a JSON merge patch (RFC 7396: null removes a key)'
  }),
  updateNodeRole: op({
    method: 'PATCH',
    path: '/noderoles/:id',
    input: z.object({ id: Id, available: z.boolean() }).strict(),
    output: NodeRoleSchema,
    summary: 'Set a noderole’s available switch: the annealer leaves an unavailable noderole alone'
  }),
  retryNodeRole: op({ method: 'POST', path: '/noderoles/:id/retry', input: ById, output: NodeRoleSchema, summary: 'Put an errored noderole back to todo' }),
  rerunNodeRole: op({
    method: 'POST',
    path: '/noderoles/:id/rerun',
    input: ById,
    output: NodeRoleSchema,
    summary: 'Run an active noderole again with its current data; its descendants wait and run again after it'
  }),

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
      .object({
        state: JobStateSchema.optional(),
        noderole_id: Id.optional(),
        node_id: Id.optional(),
        /** Jobs of the noderoles in this deployment. */
        deployment_id: Id.optional(),
        /** Paging: jobs with a smaller id (older), the next page after the last one read. */
        before_id: Id.optional(),
        limit: z.number().int().min(1).max(1000).default(200)
      })
      .strict(),
    output: z.array(JobSchema),
    summary: 'Jig runs, newest first; the filters combine (AND), an unknown node or deployment matches none'
  }),
  listBootEvents: op({
    method: 'GET',
    path: '/boot-events',
    input: BootEventQuerySchema,
    output: z.array(BootEventSchema),
    summary: 'One machine’s boot timeline (DHCP, TFTP, HTTP boot, node API, install), newest first: by node_id or mac, or by address for a client no DHCP reply of ours named (one is required)'
  }),
  listBootProgress: op({
    method: 'GET',
    path: '/boot-progress',
    input: NoInput,
    output: z.array(BootProgressSchema),
    summary: 'Every node’s boot progress (PXE → discovery → install → local disk → alive) from its timeline'
  }),
  diagnoseBoot: op({
    method: 'GET',
    path: '/boot-diagnosis',
    input: BootMachineQuerySchema,
    output: BootDiagnosisSchema,
    summary: 'Why a machine stopped booting: the likely causes, in words, each with the timeline events behind it (node_id or mac)'
  }),
  exportBootPcap: op({
    method: 'GET',
    path: '/boot-pcap',
    input: BootMachineQuerySchema,
    output: BootPcapSchema,
    summary: 'One machine’s DHCP, TFTP and HTTP-boot packets as a pcap file (base64; GET /api/v2/boot-pcap.pcap gives the file itself)'
  }),
  getNodeBmc: op({
    method: 'GET',
    path: '/nodes/:id/bmc',
    input: ById,
    output: NodeBmcSchema.nullable(),
    summary: 'A node’s BMC: protocol, address, user, where it came from, its power state (never its password); null if it has none'
  }),
  setNodeBmc: op({
    method: 'PUT',
    path: '/nodes/:id/bmc',
    input: SetNodeBmcSchema,
    output: NodeBmcSchema,
    summary: 'Enroll or change a node’s BMC (IPMI 2.0 lanplus or Redfish); the password is stored encrypted and never returned'
  }),
  deleteNodeBmc: op({ method: 'DELETE', path: '/nodes/:id/bmc', input: ById, output: z.object({ deleted: z.boolean() }), summary: 'Forget a node’s BMC' }),
  forgetBmcCertificate: op({
    method: 'POST',
    path: '/nodes/:id/bmc/forget-certificate',
    input: ById,
    output: z.object({ forgotten: z.boolean() }),
    summary: 'Forget the Redfish certificate pinned for a node’s BMC (after a BMC reflash): the next contact pins the new one'
  }),
  listPower: op({
    method: 'GET',
    path: '/power',
    input: NoInput,
    output: z.array(NodePowerSchema),
    summary: 'The power state of every node with a BMC, as last read (polled at a modest rate)'
  }),
  powerNode: op({
    method: 'POST',
    path: '/nodes/:id/power',
    input: z.object({ id: Id, action: PowerActionSchema }).strict(),
    output: PowerResultSchema,
    summary: 'Power a node through its BMC: status, on, off (hard), cycle, reset, pxe_once (boot from the network once)'
  }),
  powerNodes: op({
    method: 'POST',
    path: '/power',
    input: z.object({ node_ids: z.array(Id).min(1).max(1000), action: PowerActionSchema }).strict(),
    output: z.array(PowerResultSchema),
    summary: 'Power several nodes at once (bounded concurrency): one result per node, failures in words'
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
