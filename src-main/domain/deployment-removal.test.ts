import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { STORE_KINDS } from '../store/test-stores'
import { startTestApp, type TestApp } from '../test-app'
import { deleteDeployment, discardProposal } from './deployment-removal'
import { getDeployment, listDeployments } from './deployments'
import { scenario } from './domain-scenario'
import { getNodeRoleDetail, setNodeRoleData } from './noderoles'

describe.each(STORE_KINDS)('discarding proposals and deleting deployments on %s', (kind) => {
  let app: TestApp
  let s: ReturnType<typeof scenario>
  beforeEach(async () => {
    app = await startTestApp(kind)
    s = scenario(app.ctx)
  })
  afterEach(() => app.dispose())

  it('discards a proposal: bindings made in it go, edited data reverts, committed work stays', async () => {
    const n1 = await s.node('n1.lab.test')
    const n2 = await s.node('n2.lab.test')
    const lab = await s.deployment('lab')
    await s.bind(lab, n1, 'test-server')
    await s.commit(lab)
    const lib = await s.id('test-library', n1)
    await s.run(lib)
    await s.propose(lab)
    await setNodeRoleData(app.ctx, lib, { edited: true })
    await s.bind(lab, n2, 'test-client')
    const d = await discardProposal(app.ctx, lab)
    expect(d).toMatchObject({ state: 'committed', snapshot_id: null })
    expect(await s.states(lab)).toEqual({ 'test-library@n1': 'active', 'test-server@n1': 'todo' })
    expect((await getNodeRoleDetail(app.ctx.db, lib)).proposed_data).toEqual({})
    await expect(discardProposal(app.ctx, lab)).rejects.toThrow('deployment lab has no open proposal to discard')
    // A proposal can be opened again afterwards.
    expect((await s.propose(lab)).state).toBe('proposed')
  })

  it('refuses to discard what another deployment’s binding depends on, changing nothing', async () => {
    const n1 = await s.node('n1.lab.test')
    const n2 = await s.node('n2.lab.test')
    const lab = await s.deployment('lab')
    const server = await s.bind(lab, n1, 'test-server')
    const child = await s.deployment('lab-child', lab)
    await s.bind(child, n2, 'test-client')
    const before = await s.counts()
    await expect(discardProposal(app.ctx, lab)).rejects.toThrow(/depends on a noderole of this proposal/)
    expect(await s.counts()).toEqual(before)
    expect(server).toBeGreaterThan(0)
  })

  it('deletes a deployment nothing has run in, and refuses system, parents and deployments with runs', async () => {
    const n1 = await s.node('n1.lab.test')
    const lab = await s.deployment('lab')
    const child = await s.deployment('lab-child', lab)
    await s.bind(child, n1, 'test-server')
    await expect(deleteDeployment(app.ctx, await s.system())).rejects.toThrow('the system deployment cannot be deleted')
    await expect(deleteDeployment(app.ctx, lab)).rejects.toThrow('has a child deployment (lab-child)')
    expect(await deleteDeployment(app.ctx, child)).toEqual({ deleted: child })
    expect((await listDeployments(app.ctx.db)).map((d) => d.name)).toEqual(['system', 'lab'])
    expect((await s.counts()).noderoles).toBe(0)
    await s.bind(lab, n1, 'test-library')
    await s.commit(lab)
    await s.run(await s.id('test-library', n1))
    await expect(deleteDeployment(app.ctx, lab)).rejects.toThrow('has run')
    expect((await getDeployment(app.ctx.db, lab)).state).toBe('active')
  })
})
