// The BMC barclamp (DESIGN.md §9): nodes with a BMC are powered through it. While the app runs it
// powers on, at each commit, the nodes that are not alive (Crowbar 2.0's node_role.rb), and keeps
// every BMC's power state current at a modest rate. The power itself is the PowerManager's (the
// operator API and the provisioner's install reboot use the same one). Its role `bmc-configure`
// gives a node's BMC its address on the bmc network and a generated password, in band.
import { DisposableStore, toDisposable } from '../../base/lifecycle'
import { isJsonObject, parseJsonObject } from '../../domain/attributes'
import type { BindHook } from '../../domain/context'
import { conflict } from '../../model/errors'
import { parseCidr } from '../../base/ip-address'
import { allocateNodeAddresses } from '../network/allocations'
import type { BarclampDefinitionInput, BarclampModule } from '../barclamp-module'
import { BMC_CONFIGURE_SCRIPT } from './bmc-configure-script'
import { adoptConfigured, pendingCredentials } from './node-bmcs'

export const BMC_CONFIGURE_ROLE = 'bmc-configure'

const definition: BarclampDefinitionInput = {
  name: 'bmc',
  description: 'Powers nodes through their BMCs (IPMI 2.0, Redfish) and configures the BMCs',
  version: '2.0',
  roles: [
    {
      name: BMC_CONFIGURE_ROLE,
      description: 'Gives the node’s BMC its address on the bmc network and a generated password, in band (ipmitool on the node)',
      jig: 'script',
      requires: ['crowbar-managed-node'],
      // On the discovery image, before the install reboots the node (through the BMC it configured).
      precedes: ['provisioner-os-install'],
      // Channel 1 (the LAN channel of most BMCs); user 3, so the factory user (2) stays as it was.
      attributes: { bmc: { bmc_channel: 1, bmc_user_id: 3 } },
      scripts: [BMC_CONFIGURE_SCRIPT]
    }
  ]
}

/** IPv4 netmask of a prefix length: 24 -> 255.255.255.0. */
function netmaskOf(prefixLength: number): string {
  const bits = prefixLength === 0 ? 0 : (0xffffffff << (32 - prefixLength)) >>> 0
  return [24, 16, 8, 0].map((shift) => (bits >>> shift) & 0xff).join('.')
}

/** bmc-configure's system data: the node's address on the (first) network of category bmc, late bound. */
const bmcBindHook: BindHook = async (t, bound) => {
  if (bound.role !== BMC_CONFIGURE_ROLE) return undefined
  const network = await t.tx.selectFrom('networks').selectAll().where('category', '=', 'bmc').orderBy('id').executeTakeFirst()
  if (!network?.v4_subnet) throw conflict(`${BMC_CONFIGURE_ROLE} gives the BMC its address on the bmc network: create a network of category bmc with an IPv4 subnet and a host range first`)
  const v4 = (await allocateNodeAddresses(t, network.id, bound.node, 'host')).find((a) => a.family === 4)
  const cidr = parseCidr(network.v4_subnet)
  if (!v4 || !cidr || typeof cidr !== 'object') throw conflict(`network ${network.name} gave node ${bound.node.name} no IPv4 address for its BMC`)
  const router = await t.tx.selectFrom('network_routers').select('address').where('network_id', '=', network.id).where('family', '=', 4).orderBy('pref').executeTakeFirst()
  return { bmc: { bmc_address: v4.address, bmc_netmask: netmaskOf(cidr.prefixLength), bmc_prefix_length: cidr.prefixLength, ...(router ? { bmc_router: router.address } : {}) } }
}

export const bmcBarclamp: BarclampModule = {
  name: 'bmc',
  definition,
  bindHook: bmcBindHook,
  start(app) {
    const store = new DisposableStore()
    const log = app.logger.child({ subsystem: 'bmc' })
    const power = app.power
    if (app.secrets && app.credentialBox) {
      const box = app.credentialBox
      store.add(
        app.secrets.register(BMC_CONFIGURE_ROLE, async (run) => {
          const nr = await app.domain.db.selectFrom('noderoles').select('sysdata').where('id', '=', run.noderoleId).executeTakeFirstOrThrow()
          const system = parseJsonObject(nr.sysdata).bmc
          const address = isJsonObject(system) && typeof system.bmc_address === 'string' ? system.bmc_address : ''
          const creds = await pendingCredentials(app.domain, box, run.nodeId, address)
          return { bmc_username: creds.username, bmc_password: creds.password }
        })
      )
    }
    store.add(
      app.hooks.register(BMC_CONFIGURE_ROLE, {
        on_active: async (event, ctx) => {
          const nr = await ctx.db.selectFrom('noderoles').select('wall').where('id', '=', event.noderoleId).executeTakeFirst()
          const bmc = nr ? parseJsonObject(nr.wall).bmc : undefined
          if (!isJsonObject(bmc) || bmc.configured !== true || typeof bmc.address !== 'string') return
          const mac = typeof bmc.mac === 'string' && /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/.test(bmc.mac) ? bmc.mac : undefined
          if (await adoptConfigured(ctx, event.nodeId, { address: bmc.address, mac })) {
            log.info({ node: event.nodeId, address: bmc.address }, 'BMC configured: powering through it with the generated credentials')
            if (power) void power.act(event.nodeId, 'status')
          }
        }
      })
    )
    const commits = app.domain.commits
    if (power && commits) {
      store.add(
        commits.register((e) => {
          void power.powerOnForWork(e.nodeIds).catch((err: unknown) => log.error({ err, deployment: e.deploymentId }, 'powering on after a commit failed'))
        })
      )
    }
    if (power) {
      power.start()
      store.add(toDisposable(() => power.stop()))
    }
    return store
  }
}
