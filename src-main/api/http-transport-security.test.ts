// The operator API against who else is on this machine: another local user (run as `nobody`), a
// stalled event-stream reader, and requests no parser should take (bad percent-encoding, a body
// nested 10,000 deep, a 100 KB header). Real sockets, real curl; root for runuser.
import { execFile, spawn } from 'node:child_process'
import { mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { startApp, type CrowbarApp } from '../app'
import { createRootLogger } from '../base/log'
import { SQLITE_FILE_NAME } from '../store/store'
import { API_TOKEN_FILE } from './api-token'
import { HttpTransport, MAX_STREAM_BACKLOG_BYTES, MAX_STREAMS } from './http-transport'

const run = promisify(execFile)

/** curl as a given Unix user; status code and body. */
async function curlAs(user: string | null, args: readonly string[]): Promise<{ status: number; body: string }> {
  const curl = ['curl', '-sS', '--max-time', '10', '-o', '-', '-w', '\n%{http_code}', ...args]
  const [file, argv] = user ? ['runuser', ['-u', user, '--', ...curl]] : [curl[0] as string, curl.slice(1)]
  const { stdout } = await run(file, argv, { maxBuffer: 4 * 1024 * 1024 }).catch((err: { stdout?: string }) => ({ stdout: err.stdout ?? '' }))
  const m = /\n(\d{3})$/.exec(stdout)
  return { status: Number(m?.[1] ?? 0), body: stdout.replace(/\n\d{3}$/, '') }
}

describe('operator API: authentication and the data directory', () => {
  let dataDir: string
  let app: CrowbarApp
  let http: HttpTransport
  let base: string

  beforeEach(async () => {
    // An existing data directory left world-readable by an older version: it gets tightened.
    const parent = await mkdtemp(join(tmpdir(), 'crowbar-auth-'))
    dataDir = join(parent, 'data')
    await mkdir(dataDir, { mode: 0o755 })
    await run('chmod', ['0755', dataDir])
    await writeFile(join(dataDir, 'notes.txt'), 'left by an older version', { mode: 0o644 })
    app = await startApp({ dataDir, logger: createRootLogger('silent'), anneal: false, bootstrap: false })
    http = new HttpTransport({ handlers: app.handlers, feed: app.feed, port: 0, apiToken: app.apiToken, onInternalError: () => undefined })
    await http.start()
    base = `http://127.0.0.1:${http.port}`
  })
  afterEach(async () => {
    await http.stop()
    await app.stop()
    await rm(dataDir, { recursive: true, force: true })
  })

  it('keeps the data directory 0700 and the token, the store and every other file in it 0600', async () => {
    const mode = async (p: string): Promise<string> => ((await stat(p)).mode & 0o777).toString(8)
    expect(await mode(dataDir)).toBe('700')
    expect(await mode(join(dataDir, API_TOKEN_FILE))).toBe('600')
    expect(await mode(join(dataDir, SQLITE_FILE_NAME))).toBe('600')
    expect(await mode(join(dataDir, 'notes.txt'))).toBe('600')
    // Whatever SQLite made next to it (write-ahead log, shared memory) too.
    await app.handlers.createDeployment({ name: 'wal', description: '' })
    await app.store.db.selectFrom('deployments').select('id').execute()
    await app.store.close()
    const { stdout } = await run('find', [dataDir, '-type', 'f', '-perm', '/077'])
    expect(stdout.trim()).toBe('')
    expect(app.apiToken).toMatch(/^[0-9a-f]{64}$/)
  })

  it('refuses another local user: no token, no API (401), and the token file is unreadable to them', async () => {
    const barclamp = JSON.stringify({ name: 'evil', roles: [{ name: 'evil-root', jig: 'script', flags: {} }] })
    const posted = await curlAs('nobody', ['-X', 'POST', '-H', 'Content-Type: application/json', '--data', barclamp, `${base}/api/v2/barclamps`])
    expect(posted.status).toBe(401)
    expect(JSON.parse(posted.body)).toEqual({ error: { kind: 'unauthorized', message: expect.stringContaining('Authorization: Bearer') } })
    const annealer = await curlAs('nobody', ['-X', 'PUT', '-H', 'Content-Type: application/json', '--data', '{"max_jobs":1}', `${base}/api/v2/annealer`])
    expect(annealer.status).toBe(401)
    const read = await run('runuser', ['-u', 'nobody', '--', 'cat', join(dataDir, API_TOKEN_FILE)]).then(
      () => 'read',
      (err: { stderr?: string }) => err.stderr ?? ''
    )
    expect(read).toMatch(/Permission denied/)
    // Nothing was created.
    expect((await app.handlers.listBarclamps({})).map((b) => b.name)).not.toContain('evil')
  })

  it('takes the token as a bearer header only, a wrong one is refused, and the health check stays open', async () => {
    expect((await curlAs(null, [`${base}/api/v2/deployments`])).status).toBe(401)
    expect((await curlAs(null, ['-H', `Authorization: Bearer ${'0'.repeat(64)}`, `${base}/api/v2/deployments`])).status).toBe(401)
    expect((await curlAs(null, ['-H', `Authorization: Basic ${app.apiToken}`, `${base}/api/v2/deployments`])).status).toBe(401)
    expect((await curlAs(null, [`${base}/api/v2/events`])).status).toBe(401)
    const ok = await curlAs(null, ['-H', `Authorization: Bearer ${app.apiToken}`, `${base}/api/v2/deployments`])
    expect(ok.status).toBe(200)
    expect((await curlAs(null, [`${base}/api/v2/health`])).status).toBe(200)
  })

  it('answers 400 for a malformed percent-encoding and a body nested 10,000 deep, 431 for a 100 KB header', async () => {
    const auth = ['-H', `Authorization: Bearer ${app.apiToken}`]
    const path = await curlAs(null, [...auth, `${base}/api/v2/nodes/%E0%A4%A`])
    expect(path.status).toBe(400)
    expect(JSON.parse(path.body)).toMatchObject({ error: { kind: 'invalid', message: expect.stringMatching(/percent-encoding/) } })
    const deep = `{"name":${'['.repeat(10_000)}${']'.repeat(10_000)}}`
    const nested = await curlAs(null, [...auth, '-X', 'POST', '-H', 'Content-Type: application/json', '--data', deep, `${base}/api/v2/deployments`])
    expect(nested.status).toBe(400)
    expect(nested.body).toMatch(/nested deeper than/)
    const header = await curlAs(null, [...auth, '-H', `X-Big: ${'a'.repeat(100 * 1024)}`, `${base}/api/v2/deployments`])
    expect(header.status).toBe(431)
    expect((await curlAs(null, [...auth, `${base}/api/v2/deployments`])).status).toBe(200)
  })

  it('drops an event-stream client that stops reading once its backlog passes the bound, and keeps the others', async () => {
    expect(MAX_STREAM_BACKLOG_BYTES).toBe(1024 * 1024)
    const request = `GET /api/v2/events HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${app.apiToken}\r\n\r\n`
    const stalled: net.Socket[] = []
    for (let i = 0; i < 20; i++) {
      const socket = net.connect(http.port, '127.0.0.1')
      await new Promise<void>((resolve) => socket.once('connect', () => resolve()))
      socket.write(request)
      socket.pause()
      stalled.push(socket)
    }
    // The reader is curl, in a process of its own: it reads as a live window does.
    const reader = spawn('curl', ['-sS', '-N', '--max-time', '60', '-o', '/dev/null', '-H', `Authorization: Bearer ${app.apiToken}`, `${base}/api/v2/events`], { stdio: 'ignore' })
    try {
      for (let i = 0; i < 200 && http.streamCount < 21; i++) await new Promise((r) => setTimeout(r, 20))
      expect(http.streamCount).toBe(21)
      // Up to 16 MB of events for each client, 50,000 a second (far more than an anneal makes); a
      // stalled one is dropped at 1 MB past what the kernel holds for it.
      for (let batch = 0; batch < 200 && http.streamCount > 1; batch++) {
        for (let i = 0; i < 1000; i++) app.feed.publish({ kind: 'noderole', id: batch * 1000 + i + 1, action: 'updated', state: 'active' })
        await new Promise((r) => setTimeout(r, 20))
      }
      expect(http.streamCount).toBe(1)
      expect(reader.exitCode).toBeNull()
    } finally {
      if (reader.pid && reader.exitCode === null) process.kill(reader.pid, 'SIGKILL')
      for (const s of stalled) s.destroy()
    }
  }, 60_000)

  it('refuses an event stream past the cap with 429 and words', async () => {
    const auth = { Authorization: `Bearer ${app.apiToken}` }
    const open: AbortController[] = []
    for (let i = 0; i < MAX_STREAMS; i++) {
      const aborter = new AbortController()
      open.push(aborter)
      await fetch(`${base}/api/v2/events`, { headers: auth, signal: aborter.signal })
    }
    const refused = await fetch(`${base}/api/v2/events`, { headers: auth })
    expect(refused.status).toBe(429)
    expect(await refused.json()).toMatchObject({ error: { kind: 'rate_limited', message: expect.stringMatching(/event streams are open already/) } })
    for (const a of open) a.abort()
  })
})
