// The script jig and the aliveness test against a real sshd in a network namespace (needs root).
import { randomBytes } from 'node:crypto'
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import type { JsonObject } from '../domain/attributes'
import { createNode } from '../domain/nodes'
import { startTestApp, type TestApp } from '../testing/test-app'
import { checkAlive } from './aliveness'
import type { JigRun, JigTarget } from './jig'
import { SecretInputs } from './secret-inputs'
import { parseWall, ScriptJig, type ScriptJigOptions } from './script-jig'
import { ensureAdminKeyPair, type AdminKeyPair } from './ssh/admin-keys'
import { HostKeyPins } from './ssh/host-key-pins'
import { startSshdTestHost, type SshdTestHost } from '../testing/sshd-test-host'

describe('script output as a wall', () => {
  it('reads empty stdout as {} and a JSON object as itself', () => {
    expect(parseWall('  \n')).toEqual({})
    expect(parseWall('{"a":{"b":1}}\n')).toEqual({ a: { b: 1 } })
  })

  it('refuses non-JSON and non-object stdout with a message saying what a script must print', () => {
    expect(parseWall('hello')).toMatch(/^stdout is not JSON .*must print one JSON object or nothing. stdout began: "hello"$/)
    expect(parseWall('[1,2]')).toMatch(/^stdout is JSON but an array, not an object/)
    expect(parseWall('42')).toMatch(/^stdout is JSON but a number, not an object/)
  })
})

describe('script jig over SSH to a node in a network namespace', () => {
  let app: TestApp
  let host: SshdTestHost
  let keyPair: AdminKeyPair
  let pins: HostKeyPins
  /** The namespace shares this filesystem: every path the scripts touch is under here. */
  let workDir: string
  let nodeCount = 0

  beforeAll(async () => {
    app = await startTestApp('sqlite')
    workDir = await mkdtemp(join(tmpdir(), 'crowbar-jig-'))
    keyPair = await ensureAdminKeyPair(app.dataDir)
    pins = new HostKeyPins(app.ctx.db, app.ctx.clock)
    // Fails loudly (NetnsUnavailableError) where network namespaces cannot be made: these tests need root.
    host = await startSshdTestHost({ authorizedKey: keyPair.publicKey })
  })
  afterAll(async () => {
    await host?.stop()
    await app?.dispose()
    if (workDir) await rm(workDir, { recursive: true, force: true })
  })
  // A test that stops sshd must not leave the next one without it.
  afterEach(() => host.startSshd())

  /** A fresh node per test, so no test meets a host key pinned by another. */
  async function node(addresses: readonly string[] = [host.address]): Promise<JigTarget> {
    nodeCount += 1
    const created = await createNode(app.ctx, {
      name: `n${nodeCount}.lab.test`,
      description: '',
      admin: false,
      alive: true,
      available: true,
      bootenv: 'local',
      hint: {}
    })
    return { nodeId: created.id, name: created.name, addresses }
  }

  function jig(options: ScriptJigOptions = {}): ScriptJig {
    return new ScriptJig(keyPair, pins, { remoteDir: join(workDir, 'remote'), connectTimeoutMs: 5_000, ...options })
  }

  function jigRun(target: JigTarget, scripts: string[], attributes: JsonObject = {}, signal = AbortSignal.timeout(60_000)): JigRun {
    return { noderoleId: 100 + target.nodeId, role: { name: "it's-a-role", scripts }, node: target, attributes, signal }
  }

  it("runs a role's scripts on the node with the attributes as JSON on stdin, and deep-merges their stdout into the wall", async () => {
    const target = await node()
    const inPath = join(workDir, `in-${target.nodeId}.json`)
    const first = [
      '#!/bin/sh',
      `cat > ${inPath}`,
      `printf '{"seen": %s, "env": {"noderole": "%s", "role": "%s"}}' "$(cat ${inPath})" "$CROWBAR_NODEROLE_ID" "$CROWBAR_ROLE"`
    ].join('\n')
    // No shebang: run with /bin/sh. Reads nothing from stdin and prints an object that merges.
    const second = `printf '{"env": {"second": true}, "client": "%s"}' "\${SSH_CONNECTION%% *}"`
    const attributes = { ntp: { servers: ['10.0.0.1'] }, quote: "it's \"quoted\"" }
    const outcome = await jig().run(jigRun(target, [first, second], attributes))

    expect(outcome.ok, outcome.log).toBe(true)
    if (!outcome.ok) return
    expect(JSON.parse(await readFile(inPath, 'utf8'))).toEqual(attributes)
    expect(outcome.wall).toEqual({
      seen: attributes,
      env: { noderole: String(100 + target.nodeId), role: "it's-a-role", second: true },
      client: host.nodeAddressOnHost
    })
    expect(outcome.log).toContain(`connected to root@${host.address} (${target.name})`)
    expect(outcome.log).toContain('all 2 script(s) succeeded')
  })

  it("hands a role's secrets to its script on stdin for that run only, never into the wall or the log; a provider's failure fails the run", async () => {
    const target = await node()
    const inPath = join(workDir, `secret-in-${target.nodeId}.json`)
    const secrets = new SecretInputs()
    const seen: number[] = []
    secrets.register("it's-a-role", (run) => {
      seen.push(run.nodeId)
      return Promise.resolve({ bmc_password: 'S3cretPassw0rd' })
    })
    const script = ['#!/bin/sh', `cat > ${inPath}`, 'echo "{}"'].join('\n')
    const outcome = await jig({ secrets }).run(jigRun(target, [script], { bmc: { bmc_channel: 1 } }))
    expect(outcome.ok, outcome.log).toBe(true)
    expect(seen).toEqual([target.nodeId])
    expect(JSON.parse(await readFile(inPath, 'utf8'))).toEqual({ bmc: { bmc_channel: 1 }, crowbar_secrets: { bmc_password: 'S3cretPassw0rd' } })
    expect(JSON.stringify(outcome)).not.toContain('S3cretPassw0rd')

    const failing = new SecretInputs()
    failing.register("it's-a-role", () => Promise.reject(new Error('the store is gone')))
    const failed = await jig({ secrets: failing }).run(jigRun(target, [script]))
    expect(failed).toMatchObject({ ok: false, log: expect.stringMatching(/secrets role it's-a-role needs could not be made: the store is gone/) })
    const quoted = new SecretInputs()
    quoted.register("it's-a-role", () => Promise.resolve({ bmc_password: 'a"b' }))
    expect(await jig({ secrets: quoted }).run(jigRun(target, [script]))).toMatchObject({ ok: false, log: expect.stringMatching(/not a flat name and value/) })
  })

  it('uploads scripts readable by root only and leaves no PID files behind', async () => {
    const target = await node()
    const outcome = await jig().run(jigRun(target, ['#!/bin/sh\nstat -c %a "$0" >&2']))
    expect(outcome).toMatchObject({ ok: true, wall: {} })
    expect(outcome.log).toContain('script 1 of 1 stderr:\n700')
    const left = await listDir(join(workDir, 'remote'))
    expect(left.filter((f) => f.startsWith(`${100 + target.nodeId}-`))).toEqual([`${100 + target.nodeId}-0.sh`])
  })

  it('a failing script gives ok:false with its stderr and exit code in the log, and later scripts do not run', async () => {
    const target = await node()
    const marker = join(workDir, `never-${target.nodeId}`)
    const outcome = await jig().run(
      jigRun(target, ['#!/bin/sh\necho "disk /dev/sdb is missing" >&2\nexit 3', `#!/bin/sh\ntouch ${marker}`])
    )
    expect(outcome.ok).toBe(false)
    expect(outcome).not.toHaveProperty('nodeUnreachable')
    expect(outcome.log).toContain('script 1 of 2 stderr:\ndisk /dev/sdb is missing')
    expect(outcome.log).toContain('script 1 of 2 failed with exit code 3')
    await expect(readFile(marker)).rejects.toThrow(/ENOENT/)
  })

  it('a script printing something other than a JSON object fails with a clear log line', async () => {
    const target = await node()
    const outcome = await jig().run(jigRun(target, ['#!/bin/sh\necho done']))
    expect(outcome.ok).toBe(false)
    expect(outcome.log).toContain('script 1 of 1: stdout is not JSON')
    expect(outcome.log).toContain('stdout began: "done"')
  })

  it('with sshd stopped the node is unreachable and not alive; with sshd running it is alive', async () => {
    const target = await node()
    await host.stopSshd()
    const outcome = await jig().run(jigRun(target, ['#!/bin/sh\necho {}']))
    expect(outcome).toMatchObject({ ok: false, nodeUnreachable: true })
    expect(outcome.log).toContain(`${host.address}: connection to root@${host.address} (${target.name}) refused: is sshd running on the node?`)

    const dead = await checkAlive(target, { keyPair, pins, sshTimeoutMs: 5_000 })
    expect(dead.alive).toBe(false)
    expect(dead.reason).toBe(`${host.address}: connection to root@${host.address} (${target.name}) refused: is sshd running on the node?`)

    await host.startSshd()
    expect(await checkAlive(target, { keyPair, pins, sshTimeoutMs: 5_000 })).toEqual({ alive: true, address: host.address })
  })

  it('a node that rejects the admin key is unreachable and not alive, and the message says how to fix it', async () => {
    const strangerDir = await mkdtemp(join(workDir, 'stranger-'))
    const stranger = await ensureAdminKeyPair(strangerDir)
    const target = await node()
    const outcome = await new ScriptJig(stranger, pins, { remoteDir: join(workDir, 'remote') }).run(jigRun(target, ['#!/bin/sh\necho {}']))
    const message = `root@${host.address} (${target.name}) rejected the admin SSH key: add the admin public key to /root/.ssh/authorized_keys on the node`
    expect(outcome).toEqual({ ok: false, nodeUnreachable: true, log: `no SSH login to ${target.name} at any admin address:\n${host.address}: ${message}` })
    expect(await checkAlive(target, { keyPair: stranger, pins })).toEqual({ alive: false, reason: `${host.address}: ${message}` })
  })

  it('checkAlive tries the addresses in order and says what failed at each', async () => {
    const other = await startSshdTestHost({ authorizedKey: keyPair.publicKey })
    try {
      await other.stopSshd()
      const target = await node([other.address, host.address])
      expect(await checkAlive(target, { keyPair, pins })).toEqual({ alive: true, address: host.address })

      // Now the pinned address refuses and the other answers with another host key.
      await host.stopSshd()
      await other.startSshd()
      const result = await checkAlive({ ...target, addresses: [host.address, other.address] }, { keyPair, pins })
      expect(result.alive).toBe(false)
      expect(result.reason).toMatch(
        new RegExp(`^${esc(host.address)}: connection to .* refused: is sshd running on the node\\?; ${esc(other.address)}: host key of ${esc(target.name)} changed`)
      )
    } finally {
      await other.stop()
    }
  })

  it('after the node is reinstalled (new host key) the run fails with the host-key message; after forget it works again', async () => {
    const target = await node()
    expect((await jig().run(jigRun(target, ['#!/bin/sh\necho "{}"']))).ok).toBe(true)
    const before = await host.hostKeyFingerprint()
    await host.regenerateHostKey()
    const after = await host.hostKeyFingerprint()

    const refused = await jig().run(jigRun(target, ['#!/bin/sh\necho "{}"']))
    expect(refused).toEqual({
      ok: false,
      log:
        `host key of ${target.name} changed (was SHA256:${before}, now SHA256:${after}): if the node was reinstalled, ` +
        `forget its key with POST /api/v2/nodes/${target.nodeId}/forget-host-key and retry; ` +
        'if it was not, another machine may be answering at its address'
    })
    const alive = await checkAlive(target, { keyPair, pins })
    expect(alive.alive).toBe(false)
    expect(alive.reason).toContain(`host key of ${target.name} changed`)

    await pins.forget(target.nodeId)
    const again = await jig().run(jigRun(target, ['#!/bin/sh\necho \'{"back": true}\'']))
    expect(again).toMatchObject({ ok: true, wall: { back: true } })
    expect((await pins.pinned(target.nodeId)).map((p) => p.fingerprint)).toEqual([after])
  })

  it('a connection lost mid-run marks the node unreachable only when it no longer accepts logins', async () => {
    // The script kills the sshd process serving its own session: the connection drops mid-run.
    const dropsConnection = '#!/bin/sh\nsleep 0.5\nkill -KILL $PPID'
    const stillUp = await jig().run(jigRun(await node(), [dropsConnection]))
    expect(stillUp.ok).toBe(false)
    expect(stillUp).not.toHaveProperty('nodeUnreachable')
    expect(stillUp.log).toContain('closed before the command finished')
    expect(stillUp.log).toMatch(/still accepts SSH logins: the run failed, the node is alive$/)

    const target = await node()
    const running = jig().run(jigRun(target, [dropsConnection]))
    await new Promise((r) => setTimeout(r, 200))
    await host.stopSshd()
    const gone = await running
    expect(gone).toMatchObject({ ok: false, nodeUnreachable: true })
    expect(gone.log).toContain(`reconnect to ${host.address}: connection to root@${host.address} (${target.name}) refused`)
  })

  it('a script that outlives its timeout fails with a timeout message and is killed on the node', async () => {
    const target = await node()
    const tag = randomBytes(4).readUInt32BE(0) % 1_000_000
    // A child process (sleep) under the script's shell: both must go.
    const script = `#!/bin/sh\necho working >&2\nsleep 30.${tag}\necho '{}'`
    const started = Date.now()
    const outcome = await jig({ scriptTimeoutMs: 1_000 }).run(jigRun(target, [script]))
    expect(Date.now() - started).toBeLessThan(10_000)
    expect(outcome.ok).toBe(false)
    expect(outcome).not.toHaveProperty('nodeUnreachable')
    expect(outcome.log).toContain('script 1 of 1 did not finish within 1 s: stopped it (killed its process group)')
    expect(outcome.log).toContain('script 1 of 1 stderr:\nworking')
    expect(await processesMatching(`sleep 30\\.${tag}`)).toEqual([])
    expect(await processesMatching(`${esc(join(workDir, 'remote'))}/${100 + target.nodeId}-0\\.sh`)).toEqual([])
  })

  it('a run whose signal aborts stops the script on the node', async () => {
    const target = await node()
    const tag = randomBytes(4).readUInt32BE(0) % 1_000_000
    const outcome = await jig().run(jigRun(target, [`#!/bin/sh\nsleep 31.${tag}`], {}, AbortSignal.timeout(1_000)))
    expect(outcome.ok).toBe(false)
    expect(outcome.log).toContain('script 1 of 1 was cancelled: stopped it')
    expect(await processesMatching(`sleep 31\\.${tag}`)).toEqual([])
  })
})

function esc(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}

async function listDir(dir: string): Promise<string[]> {
  return (await readdir(dir)).sort()
}

/** PIDs of processes whose command line matches, polled briefly since kills take effect asynchronously. */
async function processesMatching(pattern: string): Promise<number[]> {
  const re = new RegExp(pattern)
  let pids: number[] = []
  for (let i = 0; i < 50; i++) {
    pids = []
    for (const entry of await readdir('/proc')) {
      if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue
      const cmdline = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '')
      if (re.test(cmdline.replace(/\0/g, ' '))) pids.push(Number(entry))
    }
    if (pids.length === 0) return []
    await new Promise((r) => setTimeout(r, 100))
  }
  return pids
}
