// HTTP boot faces the whole rack network: over real sockets, with curl, fetch and raw TCP clients,
// its files stay inside their root under a racing local writer, its connections stay bounded under
// a flood, and a malformed request gets an answer the client can read (not a reset, not a 500).
import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { promises as fs, readdirSync } from 'node:fs'
import http from 'node:http'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { HttpLimits } from '../../base/http-limits'
import { createRootLogger } from '../../base/log'
import { BootHttpServer } from './boot-http-server'
import { BootRouter } from './boot-router'

interface CurlResult {
  readonly code: number
  readonly status: number
  readonly headers: string
  readonly body: string
  readonly stderr: string
}

/** curl, asynchronously (the server answers from this process's event loop). */
function curl(args: readonly string[]): Promise<CurlResult> {
  return new Promise((resolve) => {
    execFile(
      'curl',
      ['-sS', '--max-time', '10', '-D', '-', '-w', '\n%{http_code}', ...args],
      { maxBuffer: 8 * 1024 * 1024, encoding: 'utf8' },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0
        const lines = stdout.split('\n')
        const status = Number(lines.pop())
        const text = lines.join('\n')
        const split = text.indexOf('\r\n\r\n')
        resolve({ code, status, headers: split >= 0 ? text.slice(0, split) : text, body: split >= 0 ? text.slice(split + 4) : '', stderr })
      }
    )
  })
}

/** One GET with Node's client (keep-alive through `agent`); status 0 when the response is cut. */
function get(url: string, agent: http.Agent): Promise<{ status: number; body: string }> {
  return new Promise((resolve) => {
    http
      .get(url, { agent }, (res) => {
        let body = ''
        res.setEncoding('utf8')
        res.on('data', (d: string) => (body += d))
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }))
        res.on('error', () => resolve({ status: 0, body: '' }))
      })
      .on('error', () => resolve({ status: 0, body: '' }))
  })
}

const errorMessage = (body: string): string => (JSON.parse(body) as { error: { kind: string; message: string } }).error.message

let base: string
let root: string
let server: BootHttpServer | undefined
let children: ChildProcess[] = []

async function startServer(router = new BootRouter(), limits?: Partial<HttpLimits>): Promise<BootHttpServer> {
  server = new BootHttpServer({ address: '127.0.0.1', port: 0, assetsDir: root, router, logger: createRootLogger('silent'), limits })
  await server.start()
  return server
}

beforeEach(async () => {
  base = await fs.mkdtemp(path.join(os.tmpdir(), 'crowbar-boot-http-'))
  root = path.join(base, 'root')
  await fs.mkdir(root)
  await fs.writeFile(path.join(root, 'vmlinuz'), 'kernel bytes')
})

afterEach(async () => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  children = []
  await server?.stop()
  server = undefined
  await fs.rm(base, { recursive: true, force: true })
})

describe('boot files', () => {
  it('sends a boot file with a Content-Length taken from the opened file', async () => {
    const s = await startServer()
    const r = await curl([`${s.baseUrl}/files/vmlinuz`])
    expect({ code: r.code, status: r.status, body: r.body }).toEqual({ code: 0, status: 200, body: 'kernel bytes' })
    expect(r.headers).toMatch(/^content-length: 12$/im)
    expect(r.headers).not.toMatch(/transfer-encoding/i)
  })

  it('answers 404 for a symlink out of the root', async () => {
    await fs.writeFile(path.join(base, 'secret'), 'SECRET')
    await fs.symlink(path.join(base, 'secret'), path.join(root, 'escape'))
    const s = await startServer()
    const r = await curl([`${s.baseUrl}/files/escape`])
    expect(r.status).toBe(404)
    expect(r.body).not.toContain('SECRET')
  })

  it('serves no file from outside the root while a local writer swaps a directory for a symlink out of it', async () => {
    // root/d is a directory holding f, or (for a moment) a symlink to a directory outside that
    // holds a different f. The writer is another process, so it races the server for real.
    await fs.mkdir(path.join(root, 'd'))
    await fs.writeFile(path.join(root, 'd', 'f'), 'INSIDE')
    await fs.mkdir(path.join(base, 'outside'))
    await fs.writeFile(path.join(base, 'outside', 'f'), 'OUTSIDE')
    await fs.symlink(path.join(base, 'outside'), path.join(root, 'd.link'))
    const swapper = `
      const fs = require('node:fs'); const [root] = process.argv.slice(1)
      const d = root + '/d', dir = root + '/d.dir', link = root + '/d.link'
      const end = Date.now() + 20000
      for (let n = 1; n <= 5000000 && Date.now() < end; n++) {
        fs.renameSync(d, dir); fs.renameSync(link, d); fs.renameSync(d, link); fs.renameSync(dir, d)
        if (n % 500 === 0) fs.writeSync(1, n + '\\n')
      }`
    const writer = spawn(process.execPath, ['-e', swapper, root], { stdio: ['ignore', 'pipe', 'inherit'] })
    children.push(writer)
    let swaps = 0
    writer.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      const last = chunk.trim().split('\n').pop()
      if (last) swaps = Number(last)
    })
    const s = await startServer()
    const url = `${s.baseUrl}/files/d/f`
    const agent = new http.Agent({ keepAlive: true, maxSockets: 8 })
    const READS = 6000
    const counts = { inside: 0, outside: 0, refused: 0 }
    let started = 0
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (started < READS) {
          started++
          const r = await get(url, agent)
          const body = r.body
          if (r.status !== 200) counts.refused++ // 404, or (before) a response cut
          else if (body === 'OUTSIDE') counts.outside++
          else if (body === 'INSIDE') counts.inside++
          else throw new Error(`unexpected body ${body.slice(0, 40)}`)
        }
      })
    )
    writer.kill('SIGKILL')
    agent.destroy()
    console.log(`symlink swap: ${counts.outside} of ${READS} reads outside the root (${counts.inside} inside, ${counts.refused} refused, ${swaps}+ swaps)`)
    expect(swaps).toBeGreaterThan(100)
    expect(counts.inside).toBeGreaterThan(0)
    expect(counts.outside).toBe(0)
  })
})

describe('malformed requests', () => {
  it('answers a path that is not valid percent-encoding, or a target that is not a path, with 400 and the JSON error body', async () => {
    const s = await startServer()
    for (const target of ['/files/%E0%A4%A', '/api/node/%ZZ/alive', 'http://[::1/files/vmlinuz', '*']) {
      const r = await curl(['--request-target', target, `${s.baseUrl}/`])
      expect({ target, code: r.code, status: r.status }).toEqual({ target, code: 0, status: 400 })
      expect(r.headers).toMatch(/^content-type: application\/json/im)
      expect(errorMessage(r.body)).toMatch(/percent-encoding|not a path/)
    }
  })

  it('reads the request target as a path: a leading // names no host', async () => {
    const s = await startServer()
    const r = await curl(['--request-target', '//elsewhere/files/vmlinuz', `${s.baseUrl}/`])
    expect(r.status).toBe(404)
  })

  it('answers a JSON body nested 10,000 deep with 400 before any route sees it', async () => {
    const router = new BootRouter()
    let routed = 0
    router.add({
      method: 'POST',
      pattern: /\/echo/,
      async handle(req) {
        routed++
        return { status: 200, json: await req.json() }
      }
    })
    const s = await startServer(router)
    const depth = 10_000
    for (const body of ['['.repeat(depth) + ']'.repeat(depth), '{"a":'.repeat(depth) + '1' + '}'.repeat(depth)]) {
      const r = await curl(['-H', 'Content-Type: application/json', '--data-binary', body, `${s.baseUrl}/echo`])
      expect({ code: r.code, status: r.status }).toEqual({ code: 0, status: 400 })
      expect(errorMessage(r.body)).toMatch(/nested deeper than 64/)
    }
    expect(routed).toBe(0)
    const shallow = await curl(['-H', 'Content-Type: application/json', '--data-binary', '{"a":[[1]]}', `${s.baseUrl}/echo`])
    expect({ status: shallow.status, body: shallow.body }).toEqual({ status: 200, body: '{"a":[[1]]}' })
  })

  it('answers a body over the size limit with 413', async () => {
    const router = new BootRouter()
    router.add({ method: 'POST', pattern: /\/echo/, handle: async (req) => ({ status: 200, json: await req.json() }) })
    const s = await startServer(router)
    const big = path.join(base, 'big.json')
    await fs.writeFile(big, JSON.stringify({ pad: 'x'.repeat(300 * 1024) }))
    const r = await curl(['-H', 'Content-Type: application/json', '--data-binary', `@${big}`, `${s.baseUrl}/echo`])
    expect({ code: r.code, status: r.status }).toEqual({ code: 0, status: 413 })
    expect(errorMessage(r.body)).toMatch(/larger than/)
  })

  it('answers a 100 KB header with 431 that curl receives whole, every time', async () => {
    const s = await startServer()
    const header = `X-Big: ${'a'.repeat(100 * 1024)}`
    for (let i = 0; i < 20; i++) {
      const r = await curl(['-H', header, `${s.baseUrl}/files/vmlinuz`])
      expect({ code: r.code, status: r.status, stderr: r.stderr }).toEqual({ code: 0, status: 431, stderr: '' })
      expect(errorMessage(r.body)).toMatch(/head/)
    }
    // And the server still serves.
    expect((await curl([`${s.baseUrl}/files/vmlinuz`])).status).toBe(200)
  })
})

interface Held {
  readonly sockets: net.Socket[]
  /** Sockets the server has not closed. */
  open(): number
  destroy(): void
}

/** Opens `count` raw TCP connections from `localAddress`, and waits for the server to settle. */
async function hold(port: number, localAddress: string, count: number): Promise<Held> {
  const sockets: net.Socket[] = []
  const closed = new Set<net.Socket>()
  await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<void>((resolve) => {
          const socket = net.connect({ port, host: '127.0.0.1', localAddress })
          sockets.push(socket)
          socket.on('error', () => undefined)
          socket.on('close', () => {
            closed.add(socket)
            resolve()
          })
          socket.on('connect', () => resolve())
        })
    )
  )
  await new Promise((r) => setTimeout(r, 300))
  return { sockets, open: () => sockets.filter((s) => !closed.has(s)).length, destroy: () => sockets.forEach((s) => s.destroy()) }
}

function descriptorsOfThisProcess(): number {
  return readdirSync('/proc/self/fd').length
}

describe('connection bounds', () => {
  it('holds at most the per-address limit of connections from one address, and still serves another', async () => {
    const s = await startServer(new BootRouter(), { maxConnectionsPerAddress: 8 })
    const flood = await hold(s.port, '127.0.0.1', 100)
    try {
      console.log(`one address: ${flood.open()} of 100 connections held`)
      expect(flood.open()).toBeLessThanOrEqual(8)
      expect((await curl(['--interface', '127.0.0.2', `${s.baseUrl}/files/vmlinuz`])).status).toBe(200)
    } finally {
      flood.destroy()
    }
    await new Promise((r) => setTimeout(r, 100))
    expect((await curl([`${s.baseUrl}/files/vmlinuz`])).status).toBe(200)
  })

  it('holds at most the total limit of connections, and their descriptors, under a flood from many addresses', async () => {
    const s = await startServer(new BootRouter(), { maxConnections: 64, maxConnectionsPerAddress: 8 })
    // The flood comes from another process, so this process's descriptors are the server's alone.
    const flooder = `
      const net = require('node:net'); const port = Number(process.argv[1]); let settled = 0, open = 0
      const total = 40 * 20
      for (let a = 10; a < 50; a++) for (let i = 0; i < 20; i++) {
        const s = net.connect({ port, host: '127.0.0.1', localAddress: '127.0.0.' + a })
        let done = false
        const settle = () => { if (!done) { done = true; if (++settled === total) setTimeout(() => process.stdout.write('ready ' + open + '\\n'), 300) } }
        s.on('connect', () => { open++; settle() }); s.on('error', settle); s.on('close', () => { open--; settle() })
      }`
    const before = descriptorsOfThisProcess()
    const child = spawn(process.execPath, ['-e', flooder, String(s.port)], { stdio: ['ignore', 'pipe', 'inherit'] })
    children.push(child)
    const stillOpen = await new Promise<number>((resolve) =>
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
        const m = /ready (-?\d+)/.exec(chunk)
        if (m) resolve(Number(m[1]))
      })
    )
    const held = descriptorsOfThisProcess() - before
    console.log(`flood from 40 addresses: ${held} descriptors held for 800 connections (${stillOpen} open at the client)`)
    expect(held).toBeLessThanOrEqual(64 + 8)
    child.kill('SIGKILL')
    await new Promise((r) => setTimeout(r, 300))
    expect((await curl([`${s.baseUrl}/files/vmlinuz`])).status).toBe(200)
  })

  it('answers 408 and closes a connection that sends no complete request head within the headers timeout', async () => {
    const s = await startServer(new BootRouter(), { headersTimeoutMs: 300 })
    const silent = await hold(s.port, '127.0.0.1', 1)
    const partial = await hold(s.port, '127.0.0.1', 1)
    partial.sockets[0]?.write('GET /files/vmlinuz HTTP/1.1\r\nHost: boot\r\n')
    const answers = await Promise.all(
      [silent, partial].map(
        (h) =>
          new Promise<string>((resolve) => {
            const socket = h.sockets[0] as net.Socket
            let got = ''
            socket.setEncoding('utf8').on('data', (d: string) => (got += d))
            socket.on('close', () => resolve(got))
            setTimeout(() => resolve(`still open after 3 s: ${got}`), 3000)
          })
      )
    )
    for (const answer of answers) expect(answer).toMatch(/^HTTP\/1\.1 408 /)
  })
})
