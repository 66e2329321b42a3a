// Test support for the TFTP server tests: a temp root with a random 5 MB file, secrets outside it,
// escaping symlinks and special files, a server with captured logs, and helpers for real clients.
import { execFile, execFileSync } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { promises as fs } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import pino from 'pino'
import { createClient } from 'tftp'
import { afterAll, afterEach, beforeAll } from 'vitest'
import type { TftpOption } from '../services/tftp/tftp-codec'
import { UdpTestClient, type Received } from './tftp-test-client'
import { TftpServer, type TftpServerOptions } from '../services/tftp/tftp-server'

export const run = promisify(execFile)
export const BIG = 5 * 1024 * 1024
export const sha256 = (data: Buffer): string => createHash('sha256').update(data).digest('hex')
export const opts = (...pairs: [string, string][]): TftpOption[] => pairs.map(([name, value]) => ({ name, value }))

export interface LogLine {
  readonly level: number
  readonly msg: string
  readonly file?: string
  readonly reason?: string
}

/** What a test file sees of its own fixture; the values are set once its beforeAll has run. */
export interface TftpFixture {
  /** The temp directory holding the root, the secrets outside it and test outputs. */
  readonly base: string
  readonly root: string
  readonly secretPath: string
  readonly innerSecretPath: string
  /** sha256 of root/big.bin, the random 5 MB file. */
  readonly bigSha: string
  /** Whether this filesystem moves atime on a read (relatime does when atime <= mtime). */
  readonly fsRecordsReads: boolean
  /** Whether root/zero-device (a character device, needs root or CAP_MKNOD) could be made. */
  readonly deviceCreated: boolean
  /** Log lines of the server last started with startServer(). */
  readonly logLines: readonly LogLine[]
  /** Starts a server on 127.0.0.1 with an ephemeral port over the root; stopped after each test. */
  startServer(extra?: Partial<TftpServerOptions>): Promise<TftpServer>
}

/**
 * Registers beforeAll/afterAll/afterEach in the calling test file, so each file gets its own temp
 * root and servers. Call it at the top level of the file.
 */
export function useTftpFixture(): TftpFixture {
  let base = ''
  let root = ''
  let secretPath = ''
  let innerSecretPath = ''
  let bigSha = ''
  let fsRecordsReads = false
  let deviceCreated = false

  let server: TftpServer | null = null
  let logLines: LogLine[] = []

  async function startServer(extra: Partial<TftpServerOptions> = {}): Promise<TftpServer> {
    logLines = []
    const logger = pino({ level: 'debug' }, { write: (line: string) => void logLines.push(JSON.parse(line) as LogLine) })
    server = new TftpServer({ root, address: '127.0.0.1', port: 0, logger, ...extra })
    await server.start()
    return server
  }

  afterEach(async () => {
    await server?.stop()
    server = null
  })

  beforeAll(async () => {
    base = await fs.mkdtemp(path.join(os.tmpdir(), 'crowbar-tftp-'))
    root = path.join(base, 'root')
    await fs.mkdir(path.join(root, 'sub'), { recursive: true })
    await fs.mkdir(path.join(base, 'outside'))
    secretPath = path.join(base, 'secret.txt')
    innerSecretPath = path.join(base, 'outside', 'inner-secret.txt')
    await fs.writeFile(secretPath, 'SECRET-OUTSIDE-THE-ROOT')
    await fs.writeFile(innerSecretPath, 'SECRET-IN-AN-OUTSIDE-DIR')

    const big = randomBytes(BIG)
    bigSha = sha256(big)
    await fs.writeFile(path.join(root, 'big.bin'), big)
    await fs.writeFile(path.join(root, 'empty.bin'), Buffer.alloc(0))
    await fs.writeFile(path.join(root, 'exact-512.bin'), randomBytes(512 * 100))
    await fs.writeFile(path.join(root, 'exact-1468.bin'), randomBytes(1468 * 40))
    await fs.writeFile(path.join(root, 'small.txt'), 'small file\n'.repeat(200))
    await fs.writeFile(path.join(root, 'rollover.bin'), randomBytes(600_000))
    await fs.writeFile(path.join(root, 'sub', 'boot.cfg'), 'config')

    await fs.symlink(secretPath, path.join(root, 'abs-escape'))
    await fs.symlink('../secret.txt', path.join(root, 'rel-escape'))
    await fs.symlink('abs-escape', path.join(root, 'chained-escape'))
    await fs.symlink(path.join(base, 'outside'), path.join(root, 'dir-escape'))
    await fs.symlink('../..', path.join(root, 'sub', 'up-two'))
    await fs.symlink('loop-b', path.join(root, 'loop-a'))
    await fs.symlink('loop-a', path.join(root, 'loop-b'))
    execFileSync('mkfifo', [path.join(root, 'fifo')])
    try {
      // A character device inside the root (needs root or CAP_MKNOD): /dev/zero would never end.
      execFileSync('mknod', [path.join(root, 'zero-device'), 'c', '1', '5'], { stdio: 'ignore' })
      deviceCreated = true
    } catch {
      deviceCreated = false
    }

    const atimeProbe = path.join(base, 'atime-probe')
    await fs.writeFile(atimeProbe, 'x')
    await markUnread(atimeProbe)
    await fs.readFile(atimeProbe)
    fsRecordsReads = await wasRead(atimeProbe)
  })

  afterAll(async () => {
    if (base) await fs.rm(base, { recursive: true, force: true })
  })

  return {
    get base() {
      return base
    },
    get root() {
      return root
    },
    get secretPath() {
      return secretPath
    },
    get innerSecretPath() {
      return innerSecretPath
    },
    get bigSha() {
      return bigSha
    },
    get fsRecordsReads() {
      return fsRecordsReads
    },
    get deviceCreated() {
      return deviceCreated
    },
    get logLines() {
      return logLines
    },
    startServer
  }
}

/** Sets atime well before mtime, so any later read of the file moves atime. */
export async function markUnread(file: string): Promise<void> {
  await fs.utimes(file, new Date('2000-01-01T00:00:00Z'), new Date())
}
export async function wasRead(file: string): Promise<boolean> {
  return (await fs.stat(file)).atimeMs > Date.parse('2000-01-02T00:00:00Z')
}

/** Fetches with tftp-hpa (RFC 1350 only: it sends no options, so 512-byte lock-step). */
export async function tftpHpaGet(port: number, name: string, out: string): Promise<{ stdout: string; stderr: string }> {
  return run('tftp', ['-m', 'binary', '127.0.0.1', String(port), '-v', '-c', 'get', name, out], { timeout: 30_000 })
}

export async function curlGet(port: number, name: string, out: string, blksize?: number): Promise<void> {
  const args = ['-sS', '--max-time', '30', `tftp://127.0.0.1:${port}/${name}`, '-o', out]
  if (blksize) args.push('--tftp-blksize', String(blksize))
  await run('curl', args, { timeout: 35_000 })
}

/** Reads with the tftp package's client, which negotiates windowsize itself. */
export function packageGet(port: number, name: string, windowSize: number, blockSize: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    const timer = setTimeout(() => reject(new Error('tftp package client took over 30 s')), 30_000)
    createClient({ host: '127.0.0.1', port, windowSize, blockSize, retries: 3, timeout: 1000 })
      .createGetStream(name)
      .on('data', (chunk: Buffer) => chunks.push(chunk))
      .on('error', (err: Error) => {
        clearTimeout(timer)
        reject(err)
      })
      .on('end', () => {
        clearTimeout(timer)
        resolve(Buffer.concat(chunks))
      })
  })
}

/** Sends one request and gathers every reply until 150 ms pass quietly. */
export async function probe(port: number, request: Buffer): Promise<{ replies: Received[]; junk: number }> {
  const client = await UdpTestClient.open()
  try {
    await client.send(request, port)
    const replies = await client.drain(150)
    return { replies, junk: client.undecodable.length }
  } finally {
    await client.close()
  }
}

export async function waitFor<T>(what: string, get: () => T | undefined, ms = 3000): Promise<T> {
  const deadline = Date.now() + ms
  for (;;) {
    const value = get()
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}
