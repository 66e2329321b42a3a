// Listing jobs over the HTTP API: filters by node, noderole, deployment and state (AND), and
// paging newest first with before_id and limit.
import { beforeEach, describe, expect, it } from 'vitest'
import { useApiTestApp } from '../testing/api-test-app'
import { STORE_KINDS } from '../testing/test-stores'

describe.each(STORE_KINDS)('listJobs on %s', (kind) => {
  const env = useApiTestApp(kind)
  // Jobs, oldest first: x@n1 (lab), x@n2 (lab), x@n1 again (lab), y@n1 (other, failed).
  let fx: { n1: number; n2: number; lab: number; other: number; xn1: number; jobs: number[] }

  beforeEach(async () => {
    const s = env.s
    await s.barclamp({ name: 'jobs', roles: [{ name: 'jobs-x', jig: 'test' }, { name: 'jobs-y', jig: 'test' }] })
    const n1 = await s.node('n1.lab.test')
    const n2 = await s.node('n2.lab.test')
    const lab = await s.deployment('lab')
    const other = await s.deployment('other')
    const xn1 = await s.bind(lab, n1, 'jobs-x')
    const xn2 = await s.bind(lab, n2, 'jobs-x')
    const yn1 = await s.bind(other, n1, 'jobs-y')
    await s.commit(lab)
    await s.commit(other)
    await s.run(xn1)
    await s.run(xn2)
    await s.run(xn1)
    await s.run(yn1, false)
    const all = await env.ok('listJobs', {})
    expect(all.map((j) => j.noderole_id)).toEqual([yn1, xn1, xn2, xn1])
    fx = { n1, n2, lab, other, xn1, jobs: all.map((j) => j.id).reverse() }
  })

  const ids = async (input: Parameters<typeof env.ok<'listJobs'>>[1]) => (await env.ok('listJobs', input)).map((j) => j.id)
  const job = (n: number) => fx.jobs[n - 1]

  it('lists the jobs of one node, newest first', async () => {
    expect(await ids({ node_id: fx.n1 })).toEqual([job(4), job(3), job(1)])
    expect(await ids({ node_id: fx.n2 })).toEqual([job(2)])
  })

  it('lists the jobs of the noderoles in one deployment', async () => {
    expect(await ids({ deployment_id: fx.lab })).toEqual([job(3), job(2), job(1)])
    expect(await ids({ deployment_id: fx.other })).toEqual([job(4)])
  })

  it('combines node, deployment, noderole and state filters with AND', async () => {
    expect(await ids({ node_id: fx.n1, deployment_id: fx.lab })).toEqual([job(3), job(1)])
    expect(await ids({ node_id: fx.n1, state: 'failed' })).toEqual([job(4)])
    expect(await ids({ node_id: fx.n2, deployment_id: fx.other })).toEqual([])
    expect(await ids({ noderole_id: fx.xn1, deployment_id: fx.other })).toEqual([])
    expect(await ids({ noderole_id: fx.xn1, node_id: fx.n1, state: 'done', deployment_id: fx.lab })).toEqual([job(3), job(1)])
  })

  it('pages newest first with before_id and limit', async () => {
    expect(await ids({ limit: 2 })).toEqual([job(4), job(3)])
    expect(await ids({ limit: 2, before_id: job(3) })).toEqual([job(2), job(1)])
    expect(await ids({ limit: 2, before_id: job(1) })).toEqual([])
    expect(await ids({ node_id: fx.n1, limit: 1, before_id: job(4) })).toEqual([job(3)])
  })

  it('answers an empty list for an unknown node or deployment', async () => {
    expect(await ids({ node_id: 999_999 })).toEqual([])
    expect(await ids({ deployment_id: 999_999 })).toEqual([])
    expect(env.internalErrors).toEqual([])
  })
})
