import { describe, expect, it } from 'vitest'
import { STORE_KINDS } from '../testing/test-stores'
import { useTestApp } from '../testing/test-app'
import { deleteNodeRole } from './noderole-binding'
import { getNodeRole, getNodeRoleDetail, setNodeRoleData } from './noderoles'

describe.each(STORE_KINDS)('binding roles to nodes on %s', (kind) => {
  const env = useTestApp(kind)

  it('creates the proposed noderole and the noderoles it requires, with edges and cohorts', async () => {
    const n1 = await env.s.node('n1.lab.test')
    const lab = await env.s.deployment('lab')
    const client = await getNodeRole(env.app.ctx.db, await env.s.bind(lab, n1, 'test-client'))
    const lib = await env.s.id('test-library', n1)
    const server = await env.s.id('test-server', n1)
    expect(client).toMatchObject({ state: 'proposed', cohort: 2, role: 'test-client', node: 'n1.lab.test' })
    expect([...client.parents].sort()).toEqual([lib, server].sort())
    expect(await getNodeRole(env.app.ctx.db, server)).toMatchObject({ cohort: 1, parents: [lib], children: [client.id] })
  })

  it('binding the same role to the same node again returns the existing noderole', async () => {
    const n1 = await env.s.node('n1.lab.test')
    const lab = await env.s.deployment('lab')
    const first = await env.s.bind(lab, n1, 'test-server')
    const before = await env.s.counts()
    expect(await env.s.bind(lab, n1, 'test-server')).toBe(first)
    expect(await env.s.counts()).toEqual(before)
  })

  it('resolves a requirement from this deployment before creating one on the node', async () => {
    const n1 = await env.s.node('n1.lab.test')
    const n2 = await env.s.node('n2.lab.test')
    const lab = await env.s.deployment('lab')
    const server = await env.s.bind(lab, n2, 'test-server')
    const client = await getNodeRole(env.app.ctx.db, await env.s.bind(lab, n1, 'test-client'))
    expect(client.parents).toContain(server)
    // test-library is implicit: always satisfied on the client's own node, never borrowed from n2.
    expect(client.parents).toContain(await env.s.id('test-library', n1))
    expect(await env.s.states(lab)).not.toHaveProperty('test-server@n1')
  })

  it('resolves a requirement from a parent deployment up the tree', async () => {
    const n1 = await env.s.node('n1.lab.test')
    const n2 = await env.s.node('n2.lab.test')
    const system = await env.s.system()
    const server = await env.s.bind(system, n2, 'test-server', true)
    const lab = await env.s.deployment('lab')
    const child = await env.s.deployment('lab-child', lab)
    const client = await getNodeRole(env.app.ctx.db, await env.s.bind(child, n1, 'test-client'))
    expect(client.parents).toContain(server)
    expect(client.deployment_id).toBe(child)
  })

  it('framework binds into a committed deployment are committed at once', async () => {
    const n2 = await env.s.node('n2.lab.test')
    await env.s.bind(await env.s.system(), n2, 'test-server', true)
    expect(await env.s.states(await env.s.system())).toEqual({ 'test-library@n2': 'todo', 'test-server@n2': 'blocked' })
  })

  it('makes every peer of a cluster role a parent', async () => {
    const n1 = await env.s.node('n1.lab.test')
    const n2 = await env.s.node('n2.lab.test')
    const n3 = await env.s.node('n3.lab.test')
    const lab = await env.s.deployment('lab')
    const c1 = await env.s.bind(lab, n1, 'test-cluster')
    const c2 = await env.s.bind(lab, n2, 'test-cluster')
    const user = await getNodeRole(env.app.ctx.db, await env.s.bind(lab, n3, 'test-cluster-client'))
    expect([...user.parents].sort()).toEqual([c1, c2].sort())
  })

  it('refuses to bind a missing role, an abstract role, a role with an inactive jig, or into a committed deployment; nothing is written', async () => {
    const n1 = await env.s.node('n1.lab.test')
    const lab = await env.s.deployment('lab')
    await env.s.barclamp({
      name: 'odd',
      roles: [
        { name: 'odd-abstract', jig: 'noop', flags: { abstract: true } },
        { name: 'odd-ansible', jig: 'ansible' },
        { name: 'odd-needs-abstract', jig: 'noop', requires: ['odd-abstract'] }
      ]
    })
    const before = await env.s.counts()
    await expect(env.s.bind(lab, n1, 'no-such-role')).rejects.toThrow('no role named no-such-role')
    await expect(env.s.bind(lab, n1, 'odd-abstract')).rejects.toThrow('role odd-abstract is abstract')
    await expect(env.s.bind(lab, n1, 'odd-ansible')).rejects.toThrow('ansible jig, which is not active')
    await expect(env.s.bind(lab, n1, 'odd-needs-abstract')).rejects.toThrow('abstract')
    await expect(env.s.bind(lab, 999, 'test-server')).rejects.toThrow('no node with id 999')
    await env.s.commit(lab)
    const afterCommit = await env.s.counts()
    await expect(env.s.bind(lab, n1, 'test-server')).rejects.toThrow('deployment lab is committed: propose it before binding roles')
    expect(afterCommit).toEqual({ ...before, snapshots: before.snapshots })
    expect(await env.s.counts()).toEqual(afterCommit)
  })

  it('refuses a role that conflicts with, or duplicates what, a bound role provides', async () => {
    const n1 = await env.s.node('n1.lab.test')
    const lab = await env.s.deployment('lab')
    await env.s.barclamp({
      name: 'db',
      roles: [
        { name: 'db-postgres', jig: 'noop', provides: ['database'] },
        { name: 'db-mysql', jig: 'noop', provides: ['database'] },
        { name: 'db-sqlite', jig: 'noop', conflicts: ['db-postgres'] }
      ]
    })
    await env.s.bind(lab, n1, 'db-postgres')
    const before = await env.s.counts()
    await expect(env.s.bind(lab, n1, 'db-mysql')).rejects.toThrow('already has db-postgres, which provides database')
    await expect(env.s.bind(lab, n1, 'db-sqlite')).rejects.toThrow('db-sqlite conflicts with role db-postgres')
    expect(await env.s.counts()).toEqual(before)
  })

  it('refuses a barclamp whose role requirements form a cycle, writing nothing', async () => {
    const before = await env.s.counts()
    await expect(
      env.s.barclamp({ name: 'loop', roles: [{ name: 'loop-a', jig: 'noop', requires: ['loop-b'] }, { name: 'loop-b', jig: 'noop', requires: ['loop-a'] }] })
    ).rejects.toThrow('role requirements form a cycle: loop-a -> loop-b -> loop-a')
    await expect(env.s.barclamp({ name: 'dangling', roles: [{ name: 'dangling-a', jig: 'noop', requires: ['nowhere'] }] })).rejects.toThrow(
      'requires "nowhere"'
    )
    await expect(env.s.barclamp({ name: 'badjig', roles: [{ name: 'badjig-a', jig: 'chef' }] })).rejects.toThrow('names jig "chef"')
    expect(await env.s.counts()).toEqual(before)
  })

  it('deletes a leaf, or a noderole whose descendants are all proposed, and refuses when run descendants sit on other nodes', async () => {
    const n1 = await env.s.node('n1.lab.test')
    const n2 = await env.s.node('n2.lab.test')
    const lab = await env.s.deployment('lab')
    const server = await env.s.bind(lab, n1, 'test-server')
    const client = await env.s.bind(lab, n2, 'test-client')
    // All proposed, never run: the server may go, and the client on n2 goes with it.
    const proposedOnly = await env.s.counts()
    expect((await deleteNodeRole(env.app.ctx, server)).deleted.sort()).toEqual([server, client].sort())
    expect((await env.s.counts()).noderoles).toBe(proposedOnly.noderoles - 2)

    const server2 = await env.s.bind(lab, n1, 'test-server')
    await env.s.bind(lab, n2, 'test-client')
    await env.s.commit(lab)
    await env.s.run(await env.s.id('test-library', n1))
    await env.s.run(server2)
    await env.s.run(await env.s.id('test-library', n2))
    await env.s.run(await env.s.id('test-client', n2))
    const before = await env.s.counts()
    await expect(deleteNodeRole(env.app.ctx, server2)).rejects.toThrow('has descendants on other nodes')
    expect(await env.s.counts()).toEqual(before)
    // The client is a leaf: it may go.
    expect((await deleteNodeRole(env.app.ctx, await env.s.id('test-client', n2))).deleted).toHaveLength(1)
  })

  it('merges attribute layers into the run input: defaults, deployment, parents’ wall, system, user', async () => {
    await env.s.barclamp({
      name: 'attrs',
      roles: [
        { name: 'attrs-base', jig: 'noop', attributes: { port: 1, base: true } },
        { name: 'attrs-app', jig: 'noop', requires: ['attrs-base'], attributes: { port: 10, app: { mode: 'default' } } }
      ]
    })
    const n1 = await env.s.node('n1.lab.test')
    const lab = await env.s.deployment('lab')
    const appNr = await env.s.bind(lab, n1, 'attrs-app')
    await setNodeRoleData(env.app.ctx, appNr, { app: { mode: 'fast' } })
    await env.s.commit(lab)
    await env.s.run(await env.s.id('attrs-base', n1), true, { upstream: '192.0.2.1' })
    const detail = await getNodeRoleDetail(env.app.ctx.db, appNr)
    expect(detail.attributes.layers.parents_wall).toEqual({ upstream: '192.0.2.1' })
    expect(detail.attributes.layers.user).toEqual({ app: { mode: 'fast' } })
    expect(detail.attributes.merged).toEqual({ port: 10, app: { mode: 'fast' }, upstream: '192.0.2.1', hints: {} })
    await expect(setNodeRoleData(env.app.ctx, appNr, { x: 1 })).rejects.toThrow('propose it before editing')
  })
})
