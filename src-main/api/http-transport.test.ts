import { mkdtemp, mkdir, rm, symlink, writeFile } from 'node:fs/promises'
import { request } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { startTestApp, type TestApp } from '../testing/test-app'
import { HttpTransport } from './http-transport'

interface Reply {
  status: number
  headers: Record<string, string | string[] | undefined>
  text: string
  json: unknown
}

/** The test app's API token: every call carries it (http-transport-auth.test.ts tries without). */
let token = ''

function call(port: number, method: string, path: string, body?: string, headers: Record<string, string> = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, headers: { Authorization: `Bearer ${token}`, ...headers }, timeout: 5000 }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8')
        let json: unknown
        try {
          json = JSON.parse(text)
        } catch {
          json = null
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json })
      })
    })
    req.on('error', reject)
    req.on('timeout', () => req.destroy(new Error('request timed out')))
    if (body !== undefined) req.write(body)
    req.end()
  })
}

const JSON_HEADERS = { 'Content-Type': 'application/json' }
const message = (r: Reply) => (r.json as { error: { message: string } }).error.message

describe('HTTP transport (headless mode)', () => {
  let app: TestApp
  let http: HttpTransport
  let rendererDir: string
  let port: number
  const internalErrors: unknown[] = []

  beforeEach(async () => {
    app = await startTestApp('sqlite')
    token = app.apiToken
    rendererDir = await mkdtemp(join(tmpdir(), 'crowbar-renderer-'))
    await mkdir(join(rendererDir, 'assets'))
    await writeFile(join(rendererDir, 'index.html'), '<!doctype html><title>Crowbar Desktop</title>')
    await writeFile(join(rendererDir, 'assets', 'app.js'), 'console.log(1)')
    http = new HttpTransport({
      handlers: app.handlers,
      feed: app.feed,
      rendererDir,
      port: 0,
      apiToken: app.apiToken,
      onInternalError: (err) => internalErrors.push(err)
    })
    await http.start()
    port = http.port
  })
  afterEach(async () => {
    await http.stop()
    await app.dispose()
    await rm(rendererDir, { recursive: true, force: true })
    expect(internalErrors).toEqual([])
  })

  it('lists the system deployment at /api/v2/deployments', async () => {
    const r = await call(port, 'GET', '/api/v2/deployments')
    expect(r.status).toBe(200)
    expect(r.json).toEqual([expect.objectContaining({ name: 'system', system: true, state: 'active' })])
  })

  it('answers a malformed body with 400 naming the bad field, and writes nothing', async () => {
    const bad = await call(port, 'POST', '/api/v2/deployments', JSON.stringify({ name: 5 }), JSON_HEADERS)
    expect(bad.status).toBe(400)
    expect(message(bad)).toMatch(/^invalid input for createDeployment: name: /)
    const unknown = await call(port, 'POST', '/api/v2/deployments', JSON.stringify({ name: 'ok', colour: 'red' }), JSON_HEADERS)
    expect(unknown.status).toBe(400)
    expect(message(unknown)).toMatch('unknown field(s) colour')
    const fqdn = await call(port, 'POST', '/api/v2/nodes', JSON.stringify({ name: 'Not A Name' }), JSON_HEADERS)
    expect(fqdn.status).toBe(400)
    expect(message(fqdn)).toMatch('name: must be a fully qualified domain name')
    const notJson = await call(port, 'POST', '/api/v2/deployments', '{"name":', JSON_HEADERS)
    expect(notJson.status).toBe(400)
    expect(message(notJson)).toMatch('the body is not valid JSON')
    const list = await call(port, 'GET', '/api/v2/deployments')
    expect(list.json).toHaveLength(1)
    const nodes = await call(port, 'GET', '/api/v2/nodes')
    expect(nodes.json).toEqual([])
  })

  it('validates path and query parameters too', async () => {
    const r = await call(port, 'GET', '/api/v2/noderoles?deployment_id=abc')
    expect(r.status).toBe(400)
    expect(message(r)).toMatch('deployment_id:')
    const id = await call(port, 'GET', '/api/v2/deployments/-1')
    expect(id.status).toBe(400)
    expect(message(id)).toMatch('id:')
  })

  it('maps domain errors to 404 and 409 with their messages', async () => {
    const missing = await call(port, 'GET', '/api/v2/deployments/42')
    expect(missing.status).toBe(404)
    expect(message(missing)).toBe('no deployment with id 42')
    const system = await call(port, 'POST', '/api/v2/deployments/1/propose', '{}', JSON_HEADERS)
    expect(system.status).toBe(409)
    expect(message(system)).toMatch('the system deployment can never be proposed')
    await call(port, 'POST', '/api/v2/deployments', JSON.stringify({ name: 'lab' }), JSON_HEADERS)
    const dup = await call(port, 'POST', '/api/v2/deployments', JSON.stringify({ name: 'lab' }), JSON_HEADERS)
    expect(dup.status).toBe(409)
  })

  it('runs a whole bind-and-commit over HTTP', async () => {
    const d = (await call(port, 'POST', '/api/v2/deployments', JSON.stringify({ name: 'lab' }), JSON_HEADERS)).json as { id: number }
    const n = (await call(port, 'POST', '/api/v2/nodes', JSON.stringify({ name: 'n1.lab.test', alive: true }), JSON_HEADERS)).json as { id: number }
    const bound = await call(port, 'POST', '/api/v2/noderoles', JSON.stringify({ deployment_id: d.id, node_id: n.id, role: 'test-server' }), JSON_HEADERS)
    expect(bound.status).toBe(200)
    expect(bound.json).toMatchObject({ role: 'test-server', state: 'proposed', node: 'n1.lab.test' })
    const committed = await call(port, 'POST', `/api/v2/deployments/${d.id}/commit`, '', JSON_HEADERS)
    expect(committed.json).toMatchObject({ state: 'committed' })
    const nrs = (await call(port, 'GET', `/api/v2/noderoles?deployment_id=${d.id}`)).json as Array<{ role: string; state: string }>
    expect(nrs.map((x) => [x.role, x.state])).toEqual([
      ['test-library', 'todo'],
      ['test-server', 'blocked']
    ])
  })

  it('refuses non-JSON bodies, wrong methods and foreign Host headers', async () => {
    const form = await call(port, 'POST', '/api/v2/deployments', 'name=lab', { 'Content-Type': 'application/x-www-form-urlencoded' })
    expect(form.status).toBe(415)
    const method = await call(port, 'PUT', '/api/v2/deployments')
    expect(method.status).toBe(405)
    expect(method.headers.allow).toBe('GET, POST')
    const rebinding = await call(port, 'GET', '/api/v2/deployments', undefined, { Host: 'evil.example:80' })
    expect(rebinding.status).toBe(421)
    expect((await call(port, 'GET', '/api/v2/deployments')).json).toHaveLength(1)
  })

  it('streams change events to subscribers', async () => {
    const received = new Promise<string>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path: '/api/v2/events', headers: { Authorization: `Bearer ${token}` } }, (res) => {
        let buf = ''
        res.on('data', (c: Buffer) => {
          buf += c.toString('utf8')
          const frame = /event: change\ndata: (.*)\n\n/.exec(buf)
          if (frame?.[1]) {
            resolve(frame[1])
            req.destroy()
          }
        })
      })
      req.on('error', (err) => (err.message.includes('socket hang up') ? undefined : reject(err)))
      req.end()
      setTimeout(() => reject(new Error('no event within 5 s')), 5000).unref()
    })
    // Wait for the stream to be registered before causing a change.
    for (let i = 0; i < 50 && app.feed.size === 0; i++) await new Promise((r) => setTimeout(r, 20))
    await call(port, 'POST', '/api/v2/deployments', JSON.stringify({ name: 'lab' }), JSON_HEADERS)
    expect(JSON.parse(await received)).toEqual({ kind: 'deployment', id: 2, action: 'created' })
  })

  it('serves the renderer, falls back to index.html for page paths, and never leaves its directory', async () => {
    const index = await call(port, 'GET', '/')
    expect(index.status).toBe(200)
    expect(index.headers['content-security-policy']).toMatch("default-src 'self'")
    expect(index.text).toMatch('<title>Crowbar Desktop</title>')
    expect((await call(port, 'GET', '/deployments/3')).text).toMatch('<title>Crowbar Desktop</title>')
    expect((await call(port, 'GET', '/assets/app.js')).headers['content-type']).toMatch('text/javascript')
    const outside = join(tmpdir(), `crowbar-secret-${process.pid}.txt`)
    await writeFile(outside, 'secret')
    await symlink(outside, join(rendererDir, 'assets', 'link.txt'))
    for (const path of ['/assets/link.txt', '/..%2f..%2fetc%2fpasswd.txt', '/%2e%2e/%2e%2e/etc/passwd.js', '/assets/missing.js']) {
      const r = await call(port, 'GET', path)
      expect(r.status, path).toBe(404)
      expect(r.text).not.toMatch('secret')
    }
    await rm(outside)
  })
})
