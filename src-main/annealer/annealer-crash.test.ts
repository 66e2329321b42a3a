// Kills the headless server (SIGKILL) in the middle of annealing 200 noderoles, starts it again on
// the same store, and checks that every noderole still reaches active with no run lost.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { startHeadlessServer, type HeadlessServer } from '../cli/serve-process'

interface NodeRoleView {
  id: number
  state: string
}
interface JobView {
  id: number
  noderole_id: number
  state: string
}

async function api(base: Pick<HeadlessServer, 'url' | 'token'>, method: string, path: string, body?: unknown): Promise<unknown> {
  const auth = { Authorization: `Bearer ${base.token}` }
  const res = await fetch(`${base.url}/api/v2${path}`, {
    method,
    headers: method === 'GET' ? auth : { ...auth, 'Content-Type': 'application/json' },
    body: method === 'GET' ? undefined : JSON.stringify(body ?? {})
  })
  const text = await res.text()
  if (!res.ok) throw new Error(`${method} ${path}: HTTP ${res.status} ${text}`)
  return JSON.parse(text) as unknown
}

async function waitFor<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (let i = 0; Date.now() < deadline && i < 10_000; i++) {
    const value = await probe()
    if (value !== undefined) return value
    await new Promise((r) => setTimeout(r, 15))
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
}

describe('annealer crash recovery', () => {
  let server: HeadlessServer | undefined
  let dataDir: string | undefined
  afterEach(async () => {
    await server?.stop()
    if (dataDir) await rm(dataDir, { recursive: true, force: true })
  })

  it('finishes every one of 200 noderoles after a SIGKILL mid-run, losing no job', async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'crowbar-crash-'))
    server = await startHeadlessServer({ dataDir, fromSource: true, env: { ...process.env, CROWBAR_LOG_LEVEL: 'warn' } })
    const base = server
    await api(base, 'POST', '/barclamps', {
      name: 'chain',
      roles: Array.from({ length: 10 }, (_, i) => ({
        name: `chain-${i + 1}`,
        jig: 'test',
        requires: i === 0 ? [] : [`chain-${i}`],
        flags: { implicit: true },
        attributes: { test_jig: { delay_ms: 40 } }
      }))
    })
    const lab = (await api(base, 'POST', '/deployments', { name: 'lab' })) as { id: number }
    for (let i = 1; i <= 20; i++) {
      const node = (await api(base, 'POST', '/nodes', { name: `n${i}.crash.test`, alive: true })) as { id: number }
      await api(base, 'POST', '/noderoles', { deployment_id: lab.id, node_id: node.id, role: 'chain-10' })
    }
    const all = (await api(base, 'GET', `/noderoles?deployment_id=${lab.id}`)) as NodeRoleView[]
    expect(all).toHaveLength(200)
    await api(base, 'POST', `/deployments/${lab.id}/commit`)

    const activeAtKill = await waitFor('a third of the noderoles active', 30_000, async () => {
      const nrs = (await api(base, 'GET', `/noderoles?deployment_id=${lab.id}`)) as NodeRoleView[]
      const active = nrs.filter((n) => n.state === 'active').length
      return active >= 60 ? active : undefined
    })
    await server.kill()
    expect(activeAtKill).toBeLessThan(200)

    server = await startHeadlessServer({ dataDir, fromSource: true, env: { ...process.env, CROWBAR_LOG_LEVEL: 'warn' } })
    // The same data directory, so the same token.
    const again = server
    await waitFor('all 200 noderoles active after restart', 60_000, async () => {
      const nrs = (await api(again, 'GET', `/noderoles?deployment_id=${lab.id}`)) as NodeRoleView[]
      return nrs.every((n) => n.state === 'active') ? true : undefined
    })

    const jobs = (await api(again, 'GET', '/jobs?limit=1000')) as JobView[]
    const done = new Map<number, number>()
    for (const j of jobs) if (j.state === 'done') done.set(j.noderole_id, (done.get(j.noderole_id) ?? 0) + 1)
    // Every noderole ran to completion at least once; runs cut by the kill were re-queued and re-run.
    expect(all.every((nr) => (done.get(nr.id) ?? 0) >= 1)).toBe(true)
    const abandoned = jobs.filter((j) => j.state === 'failed')
    expect(abandoned.length).toBeGreaterThan(0)
    expect(abandoned.length).toBeLessThanOrEqual(10)
    for (const j of abandoned) {
      const detail = (await api(again, 'GET', `/jobs/${j.id}`)) as { output: string }
      expect(detail.output).toMatch('abandoned: the worker stopped before the run finished; re-queued')
      expect(jobs.some((k) => k.noderole_id === j.noderole_id && k.state === 'done' && k.id > j.id)).toBe(true)
    }
    expect(jobs.some((j) => j.state === 'running' || j.state === 'queued')).toBe(false)
  }, 120_000)
})
