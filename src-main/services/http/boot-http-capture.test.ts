// HTTP boot's packet sink over real sockets: each exchange's bytes as they crossed the connection
// (the request head as received, the response head and first body bytes as written), one per
// request on a kept-alive connection, and nothing told for a sink-less server.
import http from 'node:http'
import { afterEach, describe, expect, it } from 'vitest'
import { createRootLogger } from '../../base/log'
import type { CapturedHttpExchange } from '../pcap/captured-packet'
import { BootHttpServer } from './boot-http-server'
import { BootRouter } from './boot-router'

function request(port: number, method: string, path: string, agent: http.Agent, body?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path, agent, headers: body ? { 'Content-Type': 'application/json', 'X-Probe': 'Mixed-Case' } : { 'X-Probe': 'Mixed-Case' } }, (res) => {
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (d: string) => (text += d))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }))
    })
    req.on('error', reject)
    req.end(body)
  })
}

describe('HTTP boot packet sink', () => {
  let server: BootHttpServer | undefined
  afterEach(async () => {
    await server?.stop()
    server = undefined
  })

  it('hands over each exchange’s request head, response head and body bytes, one per request on a kept-alive connection', async () => {
    const router = new BootRouter()
    const big = 'x'.repeat(5000)
    router.add(
      { method: 'POST', pattern: /^\/api\/echo$/, handle: async (req) => ({ status: 200, json: { got: await req.json() } }) },
      { method: 'GET', pattern: /^\/big$/, handle: () => Promise.resolve({ status: 200, text: big }) }
    )
    const seen: CapturedHttpExchange[] = []
    server = new BootHttpServer({ address: '127.0.0.1', port: 0, router, logger: createRootLogger('silent'), onCapture: (x) => seen.push(x) })
    await server.start()
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 })
    try {
      const posted = await request(server.port, 'POST', '/api/echo', agent, '{"a":1}')
      expect(posted).toEqual({ status: 200, body: '{"got":{"a":1}}' })
      expect((await request(server.port, 'GET', '/big?x=1', agent)).body).toBe(big)
      for (let i = 0; i < 20 && seen.length < 2; i++) await new Promise((r) => setTimeout(r, 25))
    } finally {
      agent.destroy()
    }
    expect(seen.length).toBe(2)
    const [post, get] = seen as [CapturedHttpExchange, CapturedHttpExchange]
    const postHead = post.requestHead.toString('latin1')
    expect(postHead).toMatch(/^POST \/api\/echo HTTP\/1\.1\r\n/)
    expect(postHead).toContain('X-Probe: Mixed-Case\r\n')
    expect(postHead.endsWith('\r\n\r\n')).toBe(true)
    expect(post.requestBodyLen).toBe(7)
    expect(post.responseHead.toString('latin1')).toMatch(/^HTTP\/1\.1 200 OK\r\n[\s\S]*\r\n\r\n$/)
    expect(post.responseBody.toString('latin1')).toContain('{"got":{"a":1}}')
    expect(post.client.address).toBe('127.0.0.1')
    expect(post.server).toEqual({ address: '127.0.0.1', port: server.port })
    expect(get.requestHead.toString('latin1')).toMatch(/^GET \/big\?x=1 HTTP\/1\.1\r\n/)
    // The same connection: the same client port.
    expect(get.client.port).toBe(post.client.port)
    expect(get.responseBody.length).toBe(1460)
    expect(get.responseBodyLen).toBeGreaterThanOrEqual(5000)
    expect(get.answeredAt).toBeGreaterThanOrEqual(get.requestAt)
    expect(get.requestAt).toBeGreaterThanOrEqual(post.answeredAt - 1000)
  })
})
