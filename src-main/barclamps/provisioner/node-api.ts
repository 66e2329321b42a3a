// The node-facing API booting machines use over HTTP boot: fetch the admin key, register (the
// discovery image), report alive or dead, and leave an installer for `local` (the installers' last
// step). Reachable from the whole rack network, so it lets a node do no more than that, and only
// to its own record: every call after registration carries the node's secret (node-credentials.ts).
import { z } from 'zod'
import { isJsonObject } from '../../domain/attributes'
import type { DomainContext } from '../../domain/context'
import { updateNode } from '../../domain/nodes'
import { conflict, describeIssues, invalid } from '../../model/errors'
import type { BootRoute } from '../../services/http/boot-router'
import { clusterDomain } from '../network/admin-bootstrap'
import type { BootRecorder } from './boot-recorder'
import type { NodePowerControl } from '../bmc/power-manager'
import { bearerOf, installTokenMatches, requireNodeSecret } from './node-credentials'
import { registerNode, RegistrationSchema } from './node-registration'
import { RegistrationRate } from './registration-limits'

const AliveSchema = z.object({ alive: z.boolean() }).strict()
/** What the installer reports as it goes (os-install-script.ts `progress`): on the machine's boot timeline. */
export const INSTALL_STEPS = ['partition', 'image', 'configure', 'bootloader', 'done', 'failed'] as const
const InstallProgressSchema = z
  .object({
    step: z.enum(INSTALL_STEPS),
    /** The image streamed so far (step `image`). */
    percent: z.number().int().min(0).max(100).optional(),
    /** Why it failed (step `failed`), as the installer logged it. */
    message: z.string().max(300).optional()
  })
  .strict()
/**
 * The node-facing API only ever lets a node leave an installer for `local`. Any other bootenv, an
 * installer above all (it wipes the disk on the next boot), is the operator API's to set.
 */
const BootenvSchema = z.object({ bootenv: z.literal('local') }).strict()
function bootenvRefused(body: unknown): string {
  const asked = isJsonObject(body) && typeof body.bootenv === 'string' ? `bootenv ${JSON.stringify(body.bootenv.slice(0, 64))} refused: ` : ''
  return `${asked}the node-facing API sets bootenv "local" only (body {"bootenv":"local"}); any other bootenv is set through the operator API: PATCH /api/v2/nodes/ID`
}

export function nodeApiRoutes(ctx: DomainContext, adminPublicKey: string, rate = new RegistrationRate(() => Date.now()), recorder?: BootRecorder, power?: NodePowerControl): BootRoute[] {
  const key = adminPublicKey.trim()
  return [
    {
      method: 'GET',
      pattern: /\/api\/node\/admin-key/,
      handle: () => Promise.resolve({ status: 200, text: `${key}\n` })
    },
    {
      method: 'POST',
      pattern: /\/api\/node\/register/,
      async handle(req) {
        const input = RegistrationSchema.safeParse(await req.json())
        if (!input.success) throw invalid(`invalid registration: ${describeIssues(input.error)}`)
        const registered = await registerNode(ctx, input.data, await clusterDomain(ctx), {
          authorization: req.authorization,
          source: req.clientAddress,
          takeNew: (source) => rate.take(source)
        })
        await recorder?.registered(input.data.macs, registered.node_id, { created: registered.created, client: req.clientAddress })
        return { status: 200, json: { ...registered, admin_public_key: key } }
      }
    },
    {
      method: 'POST',
      pattern: /\/api\/node\/(\d{1,9})\/alive/,
      async handle(req) {
        const id = Number(req.params[0])
        await requireNodeSecret(ctx.db, id, req.authorization)
        const input = AliveSchema.safeParse(await req.json())
        if (!input.success) throw invalid(describeIssues(input.error))
        // A report from before a power-off (delayed, or replayed) must not make an off node alive.
        if (input.data.alive && power && (await power.saysOff(id))) throw conflict(`node ${id}'s BMC says it is powered off: an "alive" report for it is not believed`)
        const node = await updateNode(ctx, id, { alive: input.data.alive })
        await recorder?.forNode(id, 'api', 'alive', { alive: node.alive, client: req.clientAddress })
        return { status: 200, json: { id: node.id, alive: node.alive } }
      }
    },
    {
      method: 'POST',
      pattern: /\/api\/node\/(\d{1,9})\/install-progress/,
      async handle(req) {
        const id = Number(req.params[0])
        await requireNodeSecret(ctx.db, id, req.authorization)
        const input = InstallProgressSchema.safeParse(await req.json())
        if (!input.success) throw invalid(`invalid install progress: ${describeIssues(input.error)}`)
        await recorder?.forNode(id, 'install', 'install_step', { ...input.data, client: req.clientAddress })
        return { status: 200, json: { id, step: input.data.step } }
      }
    },
    {
      method: 'POST',
      pattern: /\/api\/node\/(\d{1,9})\/bootenv/,
      async handle(req) {
        const id = Number(req.params[0])
        // The node's secret, or the install token its answer file carried (an installer that
        // booted from the network never saw the secret); that token is good for this call only.
        const current = await ctx.db.selectFrom('nodes').select('bootenv').where('id', '=', id).executeTakeFirst()
        if (!current || !(await installTokenMatches(ctx.db, id, current.bootenv, bearerOf(req.authorization)))) await requireNodeSecret(ctx.db, id, req.authorization)
        const body = await req.json()
        const input = BootenvSchema.safeParse(body)
        if (!input.success) throw invalid(bootenvRefused(body))
        const node = await updateNode(ctx, id, { bootenv: input.data.bootenv })
        await recorder?.forNode(id, 'api', 'bootenv', { bootenv: node.bootenv, client: req.clientAddress })
        return { status: 200, json: { id: node.id, bootenv: node.bootenv } }
      }
    }
  ]
}
