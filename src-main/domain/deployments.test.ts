import { describe, expect, it } from 'vitest'
import { STORE_KINDS } from '../testing/test-stores'
import { useTestApp } from '../testing/test-app'
import { getDeployment, listDeployments } from './deployments'
import { CrowbarError } from '../model/errors'

describe.each(STORE_KINDS)('deployments and commit on %s', (kind) => {
  const env = useTestApp(kind)

  it('starts with the system deployment committed, at the root', async () => {
    const all = await listDeployments(env.app.ctx.db)
    expect(all).toHaveLength(1)
    expect(all[0]).toMatchObject({ name: 'system', system: true, parent_id: null, state: 'active', snapshot_id: null })
    expect(all[0]?.created_at).toBe('2026-01-02T03:04:05.000Z')
  })

  it('refuses to put the system deployment into proposed and changes nothing', async () => {
    const system = await env.s.system()
    const before = await env.s.counts()
    await expect(env.s.propose(system)).rejects.toThrow('the system deployment can never be proposed')
    expect((await getDeployment(env.app.ctx.db, system)).state).toBe('active')
    expect(await env.s.counts()).toEqual(before)
  })

  it('opens a proposal with a new deployment and refuses a second open proposal', async () => {
    const lab = await env.s.deployment('lab')
    const d = await getDeployment(env.app.ctx.db, lab)
    expect(d).toMatchObject({ state: 'proposed', parent_id: await env.s.system() })
    expect(d.snapshot_id).not.toBeNull()
    const before = await env.s.counts()
    const err = await env.s.propose(lab).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(CrowbarError)
    expect((err as CrowbarError).kind).toBe('conflict')
    expect((err as CrowbarError).message).toMatch('lab already has an open proposal')
    expect(await env.s.counts()).toEqual(before)
  })

  it('refuses a duplicate deployment name and an unknown parent', async () => {
    await env.s.deployment('lab')
    await expect(env.s.deployment('lab')).rejects.toThrow('a deployment named lab already exists')
    await expect(env.s.deployment('other', 999)).rejects.toThrow('no deployment with id 999')
    expect((await env.s.counts()).deployments).toBe(2)
  })

  it('commit moves proposed noderoles with active parents to todo and the rest to blocked', async () => {
    const n1 = await env.s.node('n1.lab.test')
    const lab = await env.s.deployment('lab')
    await env.s.bind(lab, n1, 'test-client')
    expect(await env.s.states(lab)).toEqual({
      'test-library@n1': 'proposed',
      'test-server@n1': 'proposed',
      'test-client@n1': 'proposed'
    })
    const committed = await env.s.commit(lab)
    expect(committed.state).toBe('committed')
    expect(committed.snapshot_id).toBeNull()
    expect(await env.s.states(lab)).toEqual({
      'test-library@n1': 'todo',
      'test-server@n1': 'blocked',
      'test-client@n1': 'blocked'
    })
  })

  it('commit of a later proposal sends new noderoles straight to todo when their parents are already active', async () => {
    const n1 = await env.s.node('n1.lab.test')
    const n2 = await env.s.node('n2.lab.test')
    const lab = await env.s.deployment('lab')
    await env.s.bind(lab, n1, 'test-server')
    await env.s.commit(lab)
    await env.s.run(await env.s.id('test-library', n1))
    await env.s.run(await env.s.id('test-server', n1))
    await env.s.propose(lab)
    await env.s.bind(lab, n2, 'test-client')
    await env.s.commit(lab)
    expect(await env.s.states(lab)).toEqual({
      'test-library@n1': 'active',
      'test-server@n1': 'active',
      'test-library@n2': 'todo',
      'test-client@n2': 'blocked'
    })
    // The library on n2 runs; the client's parents (n2's library, n1's server) are then all active.
    await env.s.run(await env.s.id('test-library', n2))
    expect((await env.s.states(lab))['test-client@n2']).toBe('todo')
    expect((await getDeployment(env.app.ctx.db, lab)).state).toBe('committed')
    await env.s.run(await env.s.id('test-client', n2))
    expect((await getDeployment(env.app.ctx.db, lab)).state).toBe('active')
  })

  it('refuses to commit when no proposal is open, changing nothing', async () => {
    const lab = await env.s.deployment('lab')
    await env.s.commit(lab)
    const before = await env.s.counts()
    await expect(env.s.commit(lab)).rejects.toThrow('deployment lab has no open proposal: nothing to commit')
    expect(await env.s.counts()).toEqual(before)
  })

  it('shows a deployment with a failed noderole as error', async () => {
    const n1 = await env.s.node('n1.lab.test')
    const lab = await env.s.deployment('lab')
    await env.s.bind(lab, n1, 'test-library')
    await env.s.commit(lab)
    await env.s.run(await env.s.id('test-library', n1), false)
    const d = await getDeployment(env.app.ctx.db, lab)
    expect(d.state).toBe('error')
    expect(d.noderole_states).toMatchObject({ error: 1, active: 0 })
  })
})
