// What HTTP boot answers a booting machine with, per MAC: its iPXE script (from its node's bootenv)
// and its installer answer files (Debian preseed, Ubuntu autoinstall), all read from the store at
// each request so a change is seen by the very next boot.
import { parseCidr } from '../../base/ip-address'
import { isJsonObject, mergeLayers, parseJsonObject } from '../../domain/attributes'
import type { DomainContext } from '../../domain/context'
import { runInputs } from '../../domain/noderoles'
import type { BootRequest, BootRoute } from '../../services/http/boot-router'
import { clusterDomain } from '../network/admin-bootstrap'
import { AnswerFileError, defaultInstallDisk, renderAutoinstall, renderPreseed, type AnswerInputs } from './answer-files'
import { ipxeScript } from './bootenvs'
import { installToken } from './node-credentials'
import { OS_INSTALL_ROLE } from './os-install-role'
import { readSetting, SETTING } from '../../store/settings'

const MAC = '([0-9a-fA-F:-]{17})'
const macOf = (param: string | undefined): string => (param ?? '').toLowerCase().replaceAll('-', ':')

export function bootScriptRoutes(ctx: DomainContext, adminPublicKey: string): BootRoute[] {
  const nodeByMac = (mac: string) =>
    ctx.db
      .selectFrom('node_macs')
      .innerJoin('nodes', 'nodes.id', 'node_macs.node_id')
      .select(['nodes.id', 'nodes.name', 'nodes.bootenv', 'nodes.discovery'])
      .where('node_macs.mac', '=', mac)
      .executeTakeFirst()

  /** A node named by its FQDN splits there; a bare name is in the cluster domain. */
  const hostAndDomain = async (name: string): Promise<{ hostname: string; domain: string }> => {
    const dot = name.indexOf('.')
    if (dot > 0) return { hostname: name.slice(0, dot), domain: name.slice(dot + 1) }
    return { hostname: name, domain: await clusterDomain(ctx) }
  }

  /** `provisioner.mirror` and `provisioner.install_disk` as the node's provisioner-os-install noderole merges them. */
  const installAttributes = async (nodeId: number): Promise<{ mirror?: string; disk?: string }> => {
    const nr = await ctx.db
      .selectFrom('noderoles')
      .innerJoin('roles', 'roles.id', 'noderoles.role_id')
      .select('noderoles.id')
      .where('noderoles.node_id', '=', nodeId)
      .where('roles.name', '=', OS_INSTALL_ROLE)
      .orderBy('noderoles.id', 'desc')
      .executeTakeFirst()
    const input = nr ? (await runInputs(ctx.db, [nr.id])).get(nr.id) : undefined
    const provisioner = input ? mergeLayers(input.layers).provisioner : undefined
    if (!isJsonObject(provisioner)) return {}
    const { mirror, install_disk: disk } = provisioner
    return { ...(typeof mirror === 'string' && mirror ? { mirror } : {}), ...(typeof disk === 'string' && disk ? { disk } : {}) }
  }

  /** What a node's answer files are rendered from: the store, read at each request. */
  const answerInputs = async (mac: string, req: BootRequest): Promise<AnswerInputs | { status: number; message: string }> => {
    const { db } = ctx
    const node = await nodeByMac(mac)
    if (!node) return { status: 404, message: `no node has MAC ${mac}: a machine gets answer files once it has registered (booted discovery)` }
    const allocations = await db
      .selectFrom('network_allocations')
      .innerJoin('networks', 'networks.id', 'network_allocations.network_id')
      .select(['networks.id as network_id', 'networks.v4_subnet', 'networks.v6prefix', 'network_allocations.family', 'network_allocations.address'])
      .where('network_allocations.node_id', '=', node.id)
      .where('networks.category', '=', 'admin')
      .orderBy('networks.id')
      .execute()
    const v4 = allocations.find((a) => a.family === 4)
    const v4net = v4?.v4_subnet ? parseCidr(v4.v4_subnet) : undefined
    if (!v4 || !v4net || typeof v4net === 'string') {
      return { status: 409, message: `node ${node.name} has no IPv4 address on an admin network: bind it to the admin network's role, then boot the installer` }
    }
    const v6 = allocations.find((a) => a.family === 6 && a.network_id === v4.network_id)
    const v6net = v6?.v6prefix ? parseCidr(v6.v6prefix) : undefined
    const router = await db
      .selectFrom('network_routers')
      .select('address')
      .where('network_id', '=', v4.network_id)
      .where('family', '=', 4)
      .orderBy('pref')
      .executeTakeFirst()
    const siteMirror = await readSetting(db, SETTING.provisionerMirror)
    const attributes = await installAttributes(node.id)
    return {
      ...(await hostAndDomain(node.name)),
      mac,
      // The boot services' DNS server listens where HTTP boot does.
      ipv4: { address: v4.address, prefixLength: v4net.prefixLength, router: router?.address ?? null, nameservers: [req.serverAddress] },
      ipv6: v6 && v6net && typeof v6net !== 'string' ? { address: v6.address, prefixLength: v6net.prefixLength } : null,
      adminPublicKey,
      mirror: attributes.mirror ?? siteMirror ?? null,
      disk: attributes.disk ?? defaultInstallDisk(parseJsonObject(node.discovery).disks),
      bootenvUrl: `${req.baseUrl}/api/node/${node.id}/bootenv`,
      // Good only to leave this installer for local: spent once the bootenv changes.
      bootenvToken: await installToken(db, node.id, node.bootenv)
    }
  }

  return [
    {
      method: 'GET',
      // Dashes, not colons, in what the DHCP server hands out: iPXE percent-escapes colons.
      pattern: new RegExp(`/boot/${MAC}\\.ipxe`),
      async handle(req) {
        const mac = macOf(req.params[0])
        const known = await nodeByMac(mac)
        const names = known ? await hostAndDomain(known.name) : undefined
        return { status: 200, text: ipxeScript(known?.bootenv ?? 'discovery', { baseUrl: req.baseUrl, mac, ...names }) }
      }
    },
    {
      method: 'GET',
      pattern: new RegExp(`/answers/${MAC}/(preseed\\.cfg|user-data|meta-data)`),
      async handle(req) {
        const mac = macOf(req.params[0])
        const file = req.params[1]
        const inputs = await answerInputs(mac, req)
        if ('status' in inputs) return { status: inputs.status, text: `${inputs.message}\n` }
        try {
          if (file === 'preseed.cfg') return { status: 200, text: renderPreseed(inputs) }
          const rendered = renderAutoinstall(inputs)
          return { status: 200, text: file === 'user-data' ? rendered.userData : rendered.metaData }
        } catch (err) {
          if (err instanceof AnswerFileError) return { status: 409, text: `cannot render ${file} for the node with MAC ${mac}: ${err.message}\n` }
          throw err
        }
      }
    }
  ]
}
