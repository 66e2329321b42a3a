// The annealer driving the script jig against a real sshd in a network namespace (needs root):
// attribute injection across SSH runs, a failing script's log, and a dead node's ripple.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { scenario } from '../testing/domain-scenario'
import { getNodeRoleDetail, retryNodeRole } from '../domain/noderoles'
import { getNode, updateNode } from '../domain/nodes'
import { startSshdTestHost, type SshdTestHost } from '../testing/sshd-test-host'
import { startTestApp, type TestApp } from '../testing/test-app'

describe('annealer with the script jig over SSH', () => {
  let app: TestApp
  let host: SshdTestHost
  let workDir: string

  beforeAll(async () => {
    workDir = await mkdtemp(join(tmpdir(), 'crowbar-anneal-ssh-'))
    // The default jigs, script jig included, with the app's own admin key and host key pins.
    app = await startTestApp('sqlite', {
      anneal: true,
      realClock: true,
      scriptJig: { remoteDir: join(workDir, 'jig'), connectTimeoutMs: 3000, scriptTimeoutMs: 20_000 }
    })
    host = await startSshdTestHost({ authorizedKey: app.adminKeys.publicKey })
  })
  afterAll(async () => {
    await app?.dispose()
    await host?.stop()
    if (workDir) await rm(workDir, { recursive: true, force: true })
  })

  it('runs scripts on the node, hands a wall to the child as input, errs with stderr, and marks a node dead when sshd stops', async () => {
    const s = scenario(app.ctx)
    const annealer = app.annealer
    if (!annealer) throw new Error('no annealer')
    await s.barclamp({
      name: 'sshtest',
      roles: [
        { name: 'ssh-producer', jig: 'script', flags: { implicit: true }, scripts: ['#!/bin/sh\ncat >/dev/null\necho \'{"answer": 42}\''] },
        // Prints its whole input back: the producer's wall must be in it.
        { name: 'ssh-consumer', jig: 'script', requires: ['ssh-producer'], scripts: ['#!/bin/sh\ninput=$(cat)\necho "{\\"seen\\": $input}"'] },
        { name: 'ssh-broken', jig: 'script', scripts: ['#!/bin/sh\necho "disk /dev/vdb is missing" >&2\nexit 3'] }
      ]
    })
    const n1 = await s.node('n1.ssh.test', false)
    await app.ctx.db.updateTable('nodes').set({ hint: JSON.stringify({ admin_address: host.address }) }).where('id', '=', n1).execute()
    await updateNode(app.ctx, n1, { alive: true })
    const lab = await s.deployment('lab')
    const consumer = await s.bind(lab, n1, 'ssh-consumer')
    await s.commit(lab)
    await annealer.idle()
    expect(await s.states(lab)).toEqual({ 'ssh-producer@n1': 'active', 'ssh-consumer@n1': 'active' })
    // The consumer printed its input back: the producer's wall arrived in it.
    expect((await getNodeRoleDetail(app.ctx.db, consumer)).wall).toMatchObject({ seen: { answer: 42 } })

    await s.propose(lab)
    const broken = await s.bind(lab, n1, 'ssh-broken')
    await s.commit(lab)
    await annealer.idle()
    expect((await s.states(lab))['ssh-broken@n1']).toBe('error')
    const failed = await getNodeRoleDetail(app.ctx.db, broken)
    expect(failed.runlog).toMatch('disk /dev/vdb is missing')
    expect(failed.runlog).toMatch(/exit(ed)?( with)?( code| status)? 3/)

    // With sshd gone, the retried run finds the node unreachable: the node is marked dead and its
    // noderoles wait again (todo or blocked by their parents), the run not counted as an error.
    await host.stopSshd()
    await retryNodeRole(app.ctx, broken)
    await annealer.idle()
    expect((await getNode(app.ctx.db, n1)).alive).toBe(false)
    expect(await s.states(lab)).toEqual({
      'ssh-producer@n1': 'todo',
      'ssh-consumer@n1': 'blocked',
      'ssh-broken@n1': 'todo'
    })
  }, 120_000)
})
