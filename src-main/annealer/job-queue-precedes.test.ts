// Soft ordering through the real claim: a role's `precedes` puts its runnable noderole first on
// its node, and never holds the other back when it is not runnable itself.
import { describe, expect, it } from 'vitest'
import { useApiTestApp } from '../testing/api-test-app'
import { STORE_KINDS } from '../testing/test-stores'
import { JobQueue, type ClaimedJob } from './job-queue'

const role = (name: string, extra: { requires?: string[]; precedes?: string[] } = {}) => ({ name, jig: 'test', ...extra })

describe.each(STORE_KINDS)('role precedes in the claim on %s', (kind) => {
  const env = useApiTestApp(kind)
  const queue = () => new JobQueue(env.app.ctx, 'w', ['test'])
  const finish = (q: JobQueue, jobs: readonly ClaimedJob[]) => q.complete(jobs.map((job) => ({ job, result: { ok: true, wall: {}, log: '' } })))

  it('runs the noderole of a preceding role first on its node, though the other comes first by cohort and id', async () => {
    await env.s.barclamp({ name: 'order', roles: [role('order-b'), role('order-a', { precedes: ['order-b'] })] })
    const n1 = await env.s.node('n1.lab.test')
    const lab = await env.s.deployment('lab')
    const b = await env.s.bind(lab, n1, 'order-b')
    const a = await env.s.bind(lab, n1, 'order-a')
    expect(b).toBeLessThan(a)
    await env.s.commit(lab)
    const q = queue()
    const first = await q.claim(10, 10)
    expect(first.map((j) => j.noderoleId)).toEqual([a])
    await finish(q, first)
    expect((await q.claim(10, 10)).map((j) => j.noderoleId)).toEqual([b])
  })

  it('finds a preceding noderole on the node that the limited candidate read did not reach', async () => {
    // claim(1) reads 8 candidates: order-0..order-7, never order-a.
    const others = Array.from({ length: 10 }, (_, i) => role(`order-${i}`))
    await env.s.barclamp({ name: 'order', roles: [...others, role('order-a', { precedes: others.map((r) => r.name) })] })
    const n1 = await env.s.node('n1.lab.test')
    const lab = await env.s.deployment('lab')
    for (const r of others) await env.s.bind(lab, n1, r.name)
    const a = await env.s.bind(lab, n1, 'order-a')
    await env.s.commit(lab)
    expect((await queue().claim(1, 10)).map((j) => j.noderoleId)).toEqual([a])
  })

  it('runs the preceded noderole anyway when the preceding one is blocked by an errored parent', async () => {
    await env.s.barclamp({
      name: 'order',
      roles: [role('order-p'), role('order-b'), role('order-a', { requires: ['order-p'], precedes: ['order-b'] })]
    })
    const n1 = await env.s.node('n1.lab.test')
    const n2 = await env.s.node('n2.lab.test')
    const lab = await env.s.deployment('lab')
    const p = await env.s.bind(lab, n2, 'order-p')
    const b = await env.s.bind(lab, n1, 'order-b')
    await env.s.bind(lab, n1, 'order-a')
    await env.s.commit(lab)
    await env.s.run(p, false)
    expect(await env.s.states(lab)).toEqual({ 'order-p@n2': 'error', 'order-b@n1': 'todo', 'order-a@n1': 'blocked' })
    expect((await queue().claim(10, 10)).map((j) => j.noderoleId)).toEqual([b])
  })

  it('orders only noderoles on the same node: a preceding role elsewhere holds nothing back', async () => {
    await env.s.barclamp({ name: 'order', roles: [role('order-b'), role('order-a', { precedes: ['order-b'] })] })
    const n1 = await env.s.node('n1.lab.test')
    const n2 = await env.s.node('n2.lab.test')
    const lab = await env.s.deployment('lab')
    const b = await env.s.bind(lab, n1, 'order-b')
    const a = await env.s.bind(lab, n2, 'order-a')
    await env.s.commit(lab)
    expect((await queue().claim(10, 10)).map((j) => j.noderoleId).sort((x, y) => x - y)).toEqual([b, a])
  })

  it('falls back to cohort and id order when roles precede each other in a cycle', async () => {
    await env.s.barclamp({
      name: 'order',
      roles: [role('order-b', { precedes: ['order-a'] }), role('order-a', { precedes: ['order-b'] }), role('order-c')]
    })
    const n1 = await env.s.node('n1.lab.test')
    const lab = await env.s.deployment('lab')
    const b = await env.s.bind(lab, n1, 'order-b')
    await env.s.bind(lab, n1, 'order-a')
    await env.s.bind(lab, n1, 'order-c')
    await env.s.commit(lab)
    expect((await queue().claim(10, 10)).map((j) => j.noderoleId)).toEqual([b])
  })
})
