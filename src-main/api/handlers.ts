// One handler per contract operation, each a thin call into the domain.
import { importBarclamp, listBarclamps, listRoles } from '../domain/barclamps'
import type { DomainContext } from '../domain/context'
import { deleteDeployment, discardProposal } from '../domain/deployment-removal'
import {
  commitDeployment,
  createDeployment,
  getDeployment,
  listDeployments,
  proposeDeployment
} from '../domain/deployments'
import { bindNodeRole, bindNodeRoles, deleteNodeRole } from '../domain/noderole-binding'
import { getNodeRole, getNodeRoleDetail, listNodeRoles, rerunNodeRole, retryNodeRole, setNodeRoleAvailable, setNodeRoleData } from '../domain/noderoles'
import { listDeploymentRoles, setDeploymentRoleData } from '../domain/deployment-roles'
import { createNode, deleteNode, getNode, listNodes, updateNode } from '../domain/nodes'
import { getJob, listJobs } from '../annealer/jobs'
import type { Annealer } from '../annealer/annealer'
import { conflict, invalid } from '../model/errors'
import { listBootEvents } from '../store/boot-events'
import { allocateNodeAddresses, nodeAddresses } from '../barclamps/network/allocations'
import { createNetwork, deleteNetwork, getNetwork, listNetworks, updateNetwork } from '../barclamps/network/networks'
import { transact } from '../domain/context'
import { activeJigsOf } from '../domain/jigs-known'
import { resetNodeSecret } from '../barclamps/provisioner/node-credentials'
import { exportBootPcap } from '../barclamps/provisioner/boot-pcap'
import { allBootProgress, diagnoseMachine, type BootDiagnosisOptions } from '../barclamps/provisioner/boot-machine-diagnosis'
import { nodeRow } from '../domain/nodes'
import type { Node } from '../model'
import type { HostKeyPins } from '../jigs/ssh/host-key-pins'
import type { SetupWizard } from '../setup/setup-wizard'
import type { Handlers } from './operations'
import type { SecretBox } from '../base/secret-box'
import type { PowerManager } from '../barclamps/bmc/power-manager'
import { deleteNodeBmc, forgetBmcCertificate, getNodeBmc, listPower, setNodeBmc } from '../barclamps/bmc/node-bmcs'

export interface HandlerInfo {
  readonly version: string
  readonly location: string
  /** Absent when this process does not anneal (some tests). */
  readonly annealer?: Annealer | undefined
  readonly hostKeys?: HostKeyPins | undefined
  readonly setup: SetupWizard
  /** The boot diagnosis's recorder (an SSH probe's failure goes on the timeline), SSH port and probe. */
  readonly bootDiagnosis?: BootDiagnosisOptions | undefined
  /** BMC power and the box BMC passwords are sealed with; absent in a process without them. */
  readonly power?: { readonly manager: PowerManager; readonly box: SecretBox } | undefined
}

export function createHandlers(ctx: DomainContext, info: HandlerInfo): Handlers {
  const db = ctx.db
  const annealer = (): Annealer => {
    if (!info.annealer) throw conflict('the annealer is not running in this process')
    return info.annealer
  }
  const power = (): { readonly manager: PowerManager; readonly box: SecretBox } => {
    if (!info.power) throw conflict('BMC power is not available in this process')
    return info.power
  }
  const withAddresses = async <N extends Node>(nodes: N[]) => {
    const addresses = await nodeAddresses(db, nodes.map((n) => n.id))
    return nodes.map((n) => ({ ...n, addresses: addresses.get(n.id) ?? [] }))
  }
  return {
    getNodeBmc: ({ id }) => getNodeBmc(ctx, id),
    setNodeBmc: (input) => setNodeBmc(ctx, power().box, input),
    deleteNodeBmc: async ({ id }) => ({ deleted: await deleteNodeBmc(ctx, id) }),
    forgetBmcCertificate: async ({ id }) => ({ forgotten: await forgetBmcCertificate(ctx, id) }),
    listPower: () => listPower(db),
    powerNode: async ({ id, action }) => {
      await getNode(db, id)
      return power().manager.act(id, action)
    },
    powerNodes: async ({ node_ids, action }) => {
      for (const id of node_ids) await getNode(db, id)
      return power().manager.actMany(node_ids, action)
    },
    health: async () => ({ version: info.version, store: ctx.kind, location: info.location }),
    getSetup: () => info.setup.state(),
    checkSetup: (input) => info.setup.check(input),
    completeSetup: (input) => info.setup.complete(input),
    preflight: ({ interface: iface }) => info.setup.preflight(iface),
    listDeployments: () => listDeployments(db),
    getDeployment: ({ id }) => getDeployment(db, id),
    createDeployment: (input) => createDeployment(ctx, input),
    proposeDeployment: ({ id }) => proposeDeployment(ctx, id),
    commitDeployment: ({ id }) => commitDeployment(ctx, id),
    discardProposal: ({ id }) => discardProposal(ctx, id),
    listDeploymentRoles: ({ id }) => listDeploymentRoles(db, id),
    setDeploymentRoleData: ({ id, role, data }) => setDeploymentRoleData(ctx, { deployment_id: id, role, data }),
    patchDeploymentRoleData: ({ id, role, data }) => setDeploymentRoleData(ctx, { deployment_id: id, role, data }, 'merge_patch'),
    deleteDeployment: ({ id }) => deleteDeployment(ctx, id),
    listBarclamps: () => listBarclamps(db),
    importBarclamp: (def) => importBarclamp(ctx, def),
    listRoles: () => listRoles(db),
    listNodes: async () => withAddresses(await listNodes(db)),
    getNode: async ({ id }) => (await withAddresses([await getNode(db, id)]))[0] as Awaited<ReturnType<Handlers['getNode']>>,
    createNode: (input) => createNode(ctx, input),
    updateNode: ({ id, ...change }) => updateNode(ctx, id, change),
    deleteNode: ({ id }) => deleteNode(ctx, id),
    forgetHostKey: async ({ id }) => {
      await nodeRow(db, id)
      if (!info.hostKeys) throw conflict('SSH host keys are not managed by this process')
      return { forgotten: await info.hostKeys.forget(id) }
    },
    resetNodeSecret: async ({ id }) => {
      const node = await nodeRow(db, id)
      if (node.admin === 1) throw conflict(`node ${node.name} is the admin node: it has no node-facing API secret`)
      await resetNodeSecret(db, id)
      return { id, reset: true }
    },
    listNodeRoles: (filter) => listNodeRoles(db, filter, activeJigsOf(ctx)),
    getNodeRole: ({ id }) => getNodeRoleDetail(db, id, activeJigsOf(ctx)),
    bindNodeRole: async (input) => getNodeRole(db, await bindNodeRole(ctx, input)),
    bindNodeRoles: (input) => bindNodeRoles(ctx, input),
    deleteNodeRole: ({ id }) => deleteNodeRole(ctx, id),
    setNodeRoleData: ({ id, data }) => setNodeRoleData(ctx, id, data),
    patchNodeRoleData: ({ id, data }) => setNodeRoleData(ctx, id, data, 'merge_patch'),
    updateNodeRole: ({ id, available }) => setNodeRoleAvailable(ctx, id, available),
    retryNodeRole: ({ id }) => retryNodeRole(ctx, id),
    rerunNodeRole: ({ id }) => rerunNodeRole(ctx, id),
    listNetworks: () => listNetworks(db),
    getNetwork: ({ id }) => getNetwork(db, id),
    createNetwork: (input) => createNetwork(ctx, input),
    updateNetwork: ({ id, ...input }) => updateNetwork(ctx, id, input),
    deleteNetwork: ({ id }) => deleteNetwork(ctx, id),
    allocateAddress: ({ id, node_id, range }) =>
      transact(ctx, async (t) => {
        const node = await nodeRow(t.tx, node_id)
        return allocateNodeAddresses(t, id, { id: node.id, name: node.name }, range)
      }),
    listJobs: (filter) => listJobs(db, filter),
    getJob: ({ id }) => getJob(db, id),
    listBootEvents: async (query) => {
      if (query.node_id === undefined && query.mac === undefined && query.address === undefined) {
        throw invalid('name the machine: node_id, mac (e.g. ?mac=52:54:00:12:34:56), or address for a client known only by its address')
      }
      return listBootEvents(db, query)
    },
    listBootProgress: () => allBootProgress(ctx),
    diagnoseBoot: (query) => diagnoseMachine(ctx, query, info.bootDiagnosis),
    exportBootPcap: async (query) => {
      if (query.node_id === undefined && query.mac === undefined) throw invalid('name the machine: node_id or mac (e.g. ?mac=52:54:00:12:34:56)')
      return exportBootPcap(db, query)
    },
    getAnnealer: () => annealer().status(),
    setAnnealer: async ({ max_jobs }) => {
      await annealer().setMaxJobs(max_jobs)
      return annealer().status()
    }
  }
}
