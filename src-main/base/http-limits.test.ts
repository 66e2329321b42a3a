// The bounds on their own: JSON depth counted without recursion, limits merged, and a bounded
// server over real sockets answering what its parser refuses (431, 400, 408) so that curl and a
// raw client read the answer instead of a reset.
import { execFile } from 'node:child_process'
import type { Server } from 'node:http'
import net, { type AddressInfo } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { createBoundedServer, jsonNestingDepth, limitsWith, parseBoundedJson, untrustedNetworkLimits } from './http-limits'
import { listenTcp } from './socket-ready'

describe('JSON nesting depth', () => {
  it('counts arrays and objects, not brackets inside strings or escaped quotes', () => {
    expect(jsonNestingDepth('1')).toBe(0)
    expect(jsonNestingDepth('{"a":[1,{"b":[]}]}')).toBe(4)
    expect(jsonNestingDepth('{"a":"[[[[{{{{"}')).toBe(1)
    expect(jsonNestingDepth('["\\"[[[", "\\\\", [[]]]')).toBe(3)
  })

  it('refuses a body nested 100,000 deep before parsing it, without overflowing the stack', () => {
    const deep = '['.repeat(100_000) + ']'.repeat(100_000)
    expect(parseBoundedJson(deep, 64)).toEqual({ ok: false, problem: 'too-deep', message: 'the JSON body is nested deeper than 64 levels' })
    const edge = '['.repeat(64) + ']'.repeat(64)
    expect(parseBoundedJson(edge, 64).ok).toBe(true)
  })

  it('reports text that is not JSON as such', () => {
    const parsed = parseBoundedJson('{"a":', 64)
    expect(parsed.ok ? 'parsed' : parsed.problem).toBe('not-json')
  })
})

describe('limits', () => {
  it('takes the overrides that are set and keeps the rest', () => {
    const base = untrustedNetworkLimits()
    const merged = limitsWith(base, { maxConnections: 3, headersTimeoutMs: undefined })
    expect(merged).toEqual({ ...base, maxConnections: 3 })
  })

  it('leaves most of the descriptor budget to other services', () => {
    const limits = untrustedNetworkLimits()
    expect(limits.maxConnections).toBeGreaterThanOrEqual(16)
    expect(limits.maxConnections).toBeLessThanOrEqual(512)
    expect(limits.maxConnectionsPerAddress).toBeLessThan(limits.maxConnections)
  })
})

describe('a bounded server', () => {
  let server: Server | undefined
  afterEach(async () => {
    server?.closeAllConnections()
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()))
    server = undefined
  })

  async function start(overrides: Parameters<typeof limitsWith>[1] = {}): Promise<number> {
    const s = createBoundedServer(limitsWith(untrustedNetworkLimits(), overrides), (status, message) => JSON.stringify({ status, message }), (_req, res) => res.end('ok'))
    server = s
    await listenTcp(s, { port: 0, host: '127.0.0.1' })
    return (s.address() as AddressInfo).port
  }

  function curl(args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    return new Promise((resolve) => {
      execFile('curl', ['-sS', '--max-time', '10', ...args], { encoding: 'utf8' }, (err, stdout, stderr) =>
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr })
      )
    })
  }

  /** Sends `bytes` on a raw connection and returns everything the server sends before it closes. */
  function raw(port: number, bytes: string): Promise<string> {
    return new Promise((resolve) => {
      const socket = net.connect({ port, host: '127.0.0.1' })
      let got = ''
      socket.setEncoding('utf8').on('data', (d: string) => (got += d))
      socket.on('error', (err) => resolve(`${got}<${err.message}>`))
      socket.on('close', () => resolve(got))
      socket.write(bytes)
    })
  }

  it('answers a 100 KB header with 431 and the error body, which curl receives without a reset', async () => {
    const port = await start()
    const r = await curl(['-w', '\n%{http_code}', '-H', `X-Big: ${'b'.repeat(100 * 1024)}`, `http://127.0.0.1:${port}/`])
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' })
    expect(r.stdout).toBe(`${JSON.stringify({ status: 431, message: 'the request head is larger than 16384 bytes' })}\n431`)
  })

  it('answers a request line that is not HTTP with 400 and closes', async () => {
    const port = await start()
    expect(await raw(port, 'NOT HTTP AT ALL\r\n\r\n')).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n[\s\S]*Connection: close\r\n\r\n\{"status":400/)
  })

  it('answers 408 to a connection that does not finish its request head in time', async () => {
    const port = await start({ headersTimeoutMs: 200 })
    const started = Date.now()
    expect(await raw(port, 'GET / HTTP/1.1\r\n')).toMatch(/^HTTP\/1\.1 408 /)
    expect(Date.now() - started).toBeLessThan(2_000)
  })

  it('closes connections over the per-address limit at once, and counts a closed one out', async () => {
    const port = await start({ maxConnectionsPerAddress: 2 })
    const sockets = Array.from({ length: 5 }, () => net.connect({ port, host: '127.0.0.1' }).on('error', () => undefined))
    const closed = await Promise.all(
      sockets.map((s) => new Promise<boolean>((resolve) => {
        s.once('close', () => resolve(true))
        setTimeout(() => resolve(false), 500)
      }))
    )
    expect(closed.filter((c) => !c)).toHaveLength(2)
    for (const s of sockets) s.destroy()
    await new Promise((r) => setTimeout(r, 100))
    expect((await curl([`http://127.0.0.1:${port}/`])).stdout).toBe('ok')
  })
})
