import { describe, expect, it } from 'vitest'
import { STORE_KINDS } from '../testing/test-stores'
import { useTestApp } from '../testing/test-app'
import { deleteDeployment, discardProposal } from './deployment-removal'
import { getDeployment, listDeployments } from './deployments'
import { getNodeRoleDetail, setNodeRoleData } from './noderoles'

describe.each(STORE_KINDS)('discarding proposals and deleting deployments on %s', (kind) => {
  const env = useTestApp(kind)

  it('discards a proposal: bindings made in it go, edited data reverts, committed work stays', async () => {
    const n1 = await env.s.node('n1.lab.test')
    const n2 = await env.s.node('n2.lab.test')
    const lab = await env.s.deployment('lab')
    await env.s.bind(lab, n1, 'test-server')
    await env.s.commit(lab)
    const lib = await env.s.id('test-library', n1)
    await env.s.run(lib)
    await env.s.propose(lab)
    await setNodeRoleData(env.app.ctx, lib, { edited: true })
    await env.s.bind(lab, n2, 'test-client')
    const d = await discardProposal(env.app.ctx, lab)
    expect(d).toMatchObject({ state: 'committed', snapshot_id: null })
    expect(await env.s.states(lab)).toEqual({ 'test-library@n1': 'active', 'test-server@n1': 'todo' })
    expect((await getNodeRoleDetail(env.app.ctx.db, lib)).proposed_data).toEqual({})
    await expect(discardProposal(env.app.ctx, lab)).rejects.toThrow('deployment lab has no open proposal to discard')
    // A proposal can be opened again afterwards.
    expect((await env.s.propose(lab)).state).toBe('proposed')
  })

  it('refuses to discard what another deployment’s binding depends on, changing nothing', async () => {
    const n1 = await env.s.node('n1.lab.test')
    const n2 = await env.s.node('n2.lab.test')
    const lab = await env.s.deployment('lab')
    const server = await env.s.bind(lab, n1, 'test-server')
    const child = await env.s.deployment('lab-child', lab)
    await env.s.bind(child, n2, 'test-client')
    const before = await env.s.counts()
    await expect(discardProposal(env.app.ctx, lab)).rejects.toThrow(/depends on a noderole of this proposal/)
    expect(await env.s.counts()).toEqual(before)
    expect(server).toBeGreaterThan(0)
  })

  it('deletes a deployment nothing has run in, and refuses system, parents and deployments with runs', async () => {
    const n1 = await env.s.node('n1.lab.test')
    const lab = await env.s.deployment('lab')
    const child = await env.s.deployment('lab-child', lab)
    await env.s.bind(child, n1, 'test-server')
    await expect(deleteDeployment(env.app.ctx, await env.s.system())).rejects.toThrow('the system deployment cannot be deleted')
    await expect(deleteDeployment(env.app.ctx, lab)).rejects.toThrow('has a child deployment (lab-child)')
    expect(await deleteDeployment(env.app.ctx, child)).toEqual({ deleted: child })
    expect((await listDeployments(env.app.ctx.db)).map((d) => d.name)).toEqual(['system', 'lab'])
    expect((await env.s.counts()).noderoles).toBe(0)
    await env.s.bind(lab, n1, 'test-library')
    await env.s.commit(lab)
    await env.s.run(await env.s.id('test-library', n1))
    await expect(deleteDeployment(env.app.ctx, lab)).rejects.toThrow('has run')
    expect((await getDeployment(env.app.ctx.db, lab)).state).toBe('active')
  })
})
