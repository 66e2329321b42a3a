// HTTP boot faces the whole rack network: over real sockets, with curl and Node's client, its files
// stay inside their root under a racing local writer.
import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { promises as fs } from 'node:fs'
import http from 'node:http'
import os from 'node:os'
import path from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
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

let base: string
let root: string
let server: BootHttpServer | undefined
let children: ChildProcess[] = []

async function startServer(router = new BootRouter()): Promise<BootHttpServer> {
  server = new BootHttpServer({ address: '127.0.0.1', port: 0, assetsDir: root, router, logger: createRootLogger('silent') })
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
