import { describe, expect, it } from 'vitest'
import { STORE_KINDS } from '../testing/test-stores'
import { useTestApp } from '../testing/test-app'
import { retryNodeRole } from './noderoles'
import { deleteNode, getNode, updateNode } from './nodes'

describe.each(STORE_KINDS)('nodes alive and available on %s', (kind) => {
  const env = useTestApp(kind)

  /** n2 runs the server (in system); n1 runs a client of it in lab; everything active. */
  async function converged() {
    const n1 = await env.s.node('n1.lab.test')
    const n2 = await env.s.node('n2.lab.test')
    await env.s.bind(await env.s.system(), n2, 'test-server', true)
    const lab = await env.s.deployment('lab')
    await env.s.bind(lab, n1, 'test-client')
    await env.s.commit(lab)
    for (const [role, node] of [['test-library', n2], ['test-server', n2], ['test-library', n1], ['test-client', n1]] as const) {
      await env.s.run(await env.s.id(role, node))
    }
    expect(Object.values(await env.s.states()).every((st) => st === 'active')).toBe(true)
    return { n1, n2, lab }
  }

  it('marking a node dead sends its noderoles to todo or blocked and ripples to descendants on other nodes', async () => {
    const { n2 } = await converged()
    await env.s.kill(n2)
    expect(await env.s.states()).toEqual({
      'test-library@n2': 'todo',
      'test-server@n2': 'blocked',
      'test-library@n1': 'active',
      'test-client@n1': 'blocked'
    })
    expect((await getNode(env.app.ctx.db, n2)).alive).toBe(false)
  })

  it('records when a node was last seen alive', async () => {
    const n1 = await env.s.node('n1.lab.test', false)
    expect((await getNode(env.app.ctx.db, n1)).last_seen_at).toBeNull()
    await updateNode(env.app.ctx, n1, { alive: true })
    expect((await getNode(env.app.ctx.db, n1)).last_seen_at).toBe('2026-01-02T03:04:05.000Z')
  })

  it('marking a node unavailable changes no noderole state', async () => {
    const { n2 } = await converged()
    const before = await env.s.states()
    const node = await updateNode(env.app.ctx, n2, { available: false })
    expect(node).toMatchObject({ available: false, alive: true })
    expect(await env.s.states()).toEqual(before)
  })

  it('retry puts an errored noderole back to todo, and only an errored one', async () => {
    const n1 = await env.s.node('n1.lab.test')
    const lab = await env.s.deployment('lab')
    await env.s.bind(lab, n1, 'test-server')
    await env.s.commit(lab)
    const lib = await env.s.id('test-library', n1)
    await env.s.run(lib, false)
    expect(await env.s.states()).toEqual({ 'test-library@n1': 'error', 'test-server@n1': 'blocked' })
    expect((await retryNodeRole(env.app.ctx, lib)).state).toBe('todo')
    await expect(retryNodeRole(env.app.ctx, lib)).rejects.toThrow('only a noderole in error can be retried')
  })

  it('refuses a duplicate node name; deleting a node removes its noderoles', async () => {
    const n1 = await env.s.node('n1.lab.test')
    await expect(env.s.node('n1.lab.test')).rejects.toThrow('a node named n1.lab.test already exists')
    const lab = await env.s.deployment('lab')
    await env.s.bind(lab, n1, 'test-server')
    await deleteNode(env.app.ctx, n1)
    expect(await env.s.counts()).toMatchObject({ nodes: 0, noderoles: 0, edges: 0 })
  })
})
