// The TFTP server on 127.0.0.1 with a temp root, exercised by real clients: tftp-hpa, curl, the
// tftp package's client and a raw UDP client for option negotiation, traversal and protocol edges.
import { execFile, execFileSync, spawn } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { promises as fs, readFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import pino from 'pino'
import { createClient } from 'tftp'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { encodeAck, encodeError, encodeRequest, type TftpOption } from './tftp-codec'
import { TftpReadError, tftpRead, UdpTestClient, type Received } from './tftp-test-client'
import { bindFailure, TftpServer, TftpServerError, type TftpServerOptions, type TftpTransferEvent } from './tftp-server'

const run = promisify(execFile)
const BIG = 5 * 1024 * 1024
const sha256 = (data: Buffer): string => createHash('sha256').update(data).digest('hex')
const opts = (...pairs: [string, string][]): TftpOption[] => pairs.map(([name, value]) => ({ name, value }))

interface LogLine {
  readonly level: number
  readonly msg: string
  readonly file?: string
  readonly reason?: string
}

let base: string
let root: string
let secretPath: string
let innerSecretPath: string
let bigSha: string
/** Whether this filesystem moves atime on a read (relatime does when atime <= mtime). */
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

/** Sets atime well before mtime, so any later read of the file moves atime. */
async function markUnread(file: string): Promise<void> {
  await fs.utimes(file, new Date('2000-01-01T00:00:00Z'), new Date())
}
async function wasRead(file: string): Promise<boolean> {
  return (await fs.stat(file)).atimeMs > Date.parse('2000-01-02T00:00:00Z')
}

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

  const probe = path.join(base, 'atime-probe')
  await fs.writeFile(probe, 'x')
  await markUnread(probe)
  await fs.readFile(probe)
  fsRecordsReads = await wasRead(probe)
})

afterAll(async () => {
  await fs.rm(base, { recursive: true, force: true })
})

/** Fetches with tftp-hpa (RFC 1350 only: it sends no options, so 512-byte lock-step). */
async function tftpHpaGet(port: number, name: string, out: string): Promise<{ stdout: string; stderr: string }> {
  return run('tftp', ['-m', 'binary', '127.0.0.1', String(port), '-v', '-c', 'get', name, out], { timeout: 30_000 })
}

async function curlGet(port: number, name: string, out: string, blksize?: number): Promise<void> {
  const args = ['-sS', '--max-time', '30', `tftp://127.0.0.1:${port}/${name}`, '-o', out]
  if (blksize) args.push('--tftp-blksize', String(blksize))
  await run('curl', args, { timeout: 35_000 })
}

/** Reads with the tftp package's client, which negotiates windowsize itself. */
function packageGet(port: number, name: string, windowSize: number, blockSize: number): Promise<Buffer> {
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
async function probe(port: number, request: Buffer): Promise<{ replies: Received[]; junk: number }> {
  const client = await UdpTestClient.open()
  try {
    await client.send(request, port)
    const replies = await client.drain(150)
    return { replies, junk: client.undecodable.length }
  } finally {
    await client.close()
  }
}

async function waitFor<T>(what: string, get: () => T | undefined, ms = 3000): Promise<T> {
  const deadline = Date.now() + ms
  for (;;) {
    const value = get()
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

describe('tftp server with real clients', () => {
  it('tftp-hpa fetches a 5 MB random file byte-identical', async () => {
    const s = await startServer()
    const out = path.join(base, 'hpa-big.out')
    const { stdout } = await tftpHpaGet(s.port, 'big.bin', out)
    expect(stdout).toMatch(/Received 5242880 bytes/)
    expect(sha256(await fs.readFile(out))).toBe(bigSha)
  })

  it('curl with blksize 1468 fetches a 5 MB random file byte-identical', async () => {
    const s = await startServer()
    const out = path.join(base, 'curl-big.out')
    const started = performance.now()
    await curlGet(s.port, 'big.bin', out, 1468)
    const ms = performance.now() - started
    console.log(`curl blksize 1468 (lock-step): 5 MB in ${ms.toFixed(0)} ms`)
    expect(sha256(await fs.readFile(out))).toBe(bigSha)
  })

  it('tftp-hpa and curl fetch a 0-byte file as an empty file', async () => {
    const s = await startServer()
    const hpaOut = path.join(base, 'hpa-empty.out')
    const curlOut = path.join(base, 'curl-empty.out')
    await tftpHpaGet(s.port, 'empty.bin', hpaOut)
    await curlGet(s.port, 'empty.bin', curlOut, 1468)
    expect((await fs.stat(hpaOut)).size).toBe(0)
    expect((await fs.stat(curlOut)).size).toBe(0)
  })

  it('a file of exactly 512*N bytes arrives whole through tftp-hpa and curl, ending with an empty block', async () => {
    const s = await startServer()
    const expected = sha256(await fs.readFile(path.join(root, 'exact-512.bin')))
    const hpaOut = path.join(base, 'hpa-exact.out')
    const curlOut = path.join(base, 'curl-exact.out')
    await tftpHpaGet(s.port, 'exact-512.bin', hpaOut)
    await curlGet(s.port, 'exact-512.bin', curlOut)
    expect(sha256(await fs.readFile(hpaOut))).toBe(expected)
    expect(sha256(await fs.readFile(curlOut))).toBe(expected)
    const own = await tftpRead(s.port, 'exact-512.bin')
    expect(own.lastBlockLength).toBe(0)
    expect(own.dataPackets).toBe(101)
    expect(sha256(own.data)).toBe(expected)
  })

  it('a file of exactly 1468*N bytes arrives whole with blksize 1468 and windowsize 8, ending with an empty block', async () => {
    const s = await startServer()
    const expected = sha256(await fs.readFile(path.join(root, 'exact-1468.bin')))
    const own = await tftpRead(s.port, 'exact-1468.bin', opts(['blksize', '1468'], ['windowsize', '8']))
    expect(own.lastBlockLength).toBe(0)
    expect(sha256(own.data)).toBe(expected)
    const curlOut = path.join(base, 'curl-exact-1468.out')
    await curlGet(s.port, 'exact-1468.bin', curlOut, 1468)
    expect(sha256(await fs.readFile(curlOut))).toBe(expected)
  })

  it('the tftp package client with windowsize 8 and blksize 1468 fetches 5 MB byte-identical', async () => {
    const s = await startServer()
    const started = performance.now()
    const data = await packageGet(s.port, 'big.bin', 8, 1468)
    const ms = performance.now() - started
    console.log(`tftp package client, blksize 1468 windowsize 8: 5 MB in ${ms.toFixed(0)} ms`)
    expect(sha256(data)).toBe(bigSha)
  })

  it('a raw client with windowsize 8 and blksize 1468 fetches 5 MB byte-identical', async () => {
    const events: TftpTransferEvent[] = []
    const s = await startServer({ onTransfer: (e) => events.push(e) })
    const started = performance.now()
    const result = await tftpRead(s.port, 'big.bin', opts(['blksize', '1468'], ['windowsize', '8'], ['tsize', '0']))
    const ms = performance.now() - started
    console.log(`raw client, blksize 1468 windowsize 8: 5 MB in ${ms.toFixed(0)} ms (${result.dataPackets} DATA packets)`)
    expect(sha256(result.data)).toBe(bigSha)
    const event = await waitFor('the transfer event', () => events[0])
    console.log(`server-side duration: ${event.ms.toFixed(0)} ms`)
  })
})

describe('tftp option negotiation on the wire', () => {
  it('answers blksize, tsize=0, timeout and windowsize 8 with an OACK carrying the granted values and the real size', async () => {
    const s = await startServer()
    const request = encodeRequest('rrq', 'big.bin', 'octet', opts(['blksize', '1468'], ['tsize', '0'], ['timeout', '2'], ['windowsize', '8']))
    const client = await UdpTestClient.open()
    try {
      await client.send(request, s.port)
      const first = await client.next(2000)
      expect(first?.packet).toEqual({
        op: 'oack',
        options: opts(['blksize', '1468'], ['tsize', String(BIG)], ['timeout', '2'], ['windowsize', '8'])
      })
      expect(first?.from.port).not.toBe(s.port)
      // After ACK 0 a whole window of 8 full blocks comes without waiting for another ACK.
      await client.send(encodeAck(0), first?.from.port ?? 0)
      const window = await client.drain(200, 1500)
      const data = window.filter((r) => r.packet.op === 'data')
      expect(data.map((r) => (r.packet.op === 'data' ? r.packet.block : -1))).toEqual([1, 2, 3, 4, 5, 6, 7, 8])
      expect(data.every((r) => r.packet.op === 'data' && r.packet.data.length === 1468)).toBe(true)
    } finally {
      await client.close()
    }
  })

  it('lowers blksize and windowsize beyond its limits and leaves out unknown options', async () => {
    const s = await startServer()
    const { replies } = await probe(
      s.port,
      encodeRequest('rrq', 'small.txt', 'octet', opts(['BLKSIZE', '65464'], ['rollover', '0'], ['WindowSize', '1000'], ['timeout', '3000']))
    )
    expect(replies[0]?.packet).toEqual({ op: 'oack', options: opts(['blksize', '1468'], ['windowsize', '64']) })
  })

  it('starts a request without options at DATA 1 with 512-byte blocks', async () => {
    const s = await startServer()
    const client = await UdpTestClient.open()
    try {
      await client.send(encodeRequest('rrq', 'small.txt', 'octet'), s.port)
      const first = await client.next(2000)
      expect(first?.packet.op).toBe('data')
      if (first?.packet.op === 'data') {
        expect(first.packet.block).toBe(1)
        expect(first.packet.data.length).toBe(512)
      }
    } finally {
      await client.close()
    }
  })

  it('retransmits an unacknowledged block after the negotiated timeout', async () => {
    const s = await startServer()
    const client = await UdpTestClient.open()
    try {
      await client.send(encodeRequest('rrq', 'small.txt', 'octet', opts(['timeout', '1'])), s.port)
      const oack = await client.next(2000)
      expect(oack?.packet).toEqual({ op: 'oack', options: opts(['timeout', '1']) })
      await client.send(encodeAck(0), oack?.from.port ?? 0)
      const first = await client.next(2000)
      const sentAt = performance.now()
      const again = await client.next(3000)
      const gap = performance.now() - sentAt
      expect(first?.packet.op === 'data' && first.packet.block).toBe(1)
      expect(again?.packet.op === 'data' && again.packet.block).toBe(1)
      expect(gap).toBeGreaterThan(700)
      expect(gap).toBeLessThan(2500)
    } finally {
      await client.close()
    }
  })

  it('after an ACK inside the window, sends the next window from the block after it', async () => {
    const s = await startServer()
    const client = await UdpTestClient.open()
    try {
      await client.send(encodeRequest('rrq', 'big.bin', 'octet', opts(['windowsize', '8'])), s.port)
      const oack = await client.next(2000)
      const tid = oack?.from.port ?? 0
      await client.send(encodeAck(0), tid)
      expect((await client.drain(150)).length).toBe(8)
      // As if blocks 5..8 were lost: the receiver acknowledges the last block it has in order.
      await client.send(encodeAck(4), tid)
      const next = await client.drain(150)
      expect(next.map((r) => (r.packet.op === 'data' ? r.packet.block : -1))).toEqual([5, 6, 7, 8, 9, 10, 11, 12])
    } finally {
      await client.close()
    }
  })

  it('wraps block numbers from 65535 to 0 on a file longer than 65535 blocks', async () => {
    const s = await startServer()
    const expected = sha256(await fs.readFile(path.join(root, 'rollover.bin')))
    const result = await tftpRead(s.port, 'rollover.bin', opts(['blksize', '8'], ['windowsize', '64']))
    expect(result.dataPackets).toBeGreaterThanOrEqual(75_001)
    expect(sha256(result.data)).toBe(expected)
  })
})

describe('tftp server confinement', () => {
  // [what, request, expected TFTP error code]. Error 1 where the name is a legitimate relative
  // name that simply does not exist under the root.
  const variants: [string, string | (() => string) | Buffer, number][] = [
    ['../secret.txt', '../secret.txt', 2],
    ['/../secret.txt', '/../secret.txt', 2],
    ['..\\secret.txt', '..\\secret.txt', 2],
    ['a/../../secret.txt', 'a/../../secret.txt', 2],
    ['sub/../../secret.txt', 'sub/../../secret.txt', 2],
    ['sub/./../../secret.txt', 'sub/./../../secret.txt', 2],
    ['./../secret.txt', './../secret.txt', 2],
    ['....//secret.txt', '....//secret.txt', 2],
    ['%2e%2e/secret.txt', '%2e%2e/secret.txt', 2],
    ['%2e%2e%2fsecret.txt', '%2e%2e%2fsecret.txt', 2],
    ['%2E%2E%2Fsecret.txt', '%2E%2E%2Fsecret.txt', 2],
    ['..%2fsecret.txt', '..%2fsecret.txt', 2],
    ['double-encoded %252e%252e%252f', '%252e%252e%252fsecret.txt', 2],
    ['overlong UTF-8 %c0%ae%c0%ae/', '%c0%ae%c0%ae/secret.txt', 2],
    ['..%5csecret.txt', '..%5csecret.txt', 2],
    ['//etc/passwd', '//etc/passwd', 2],
    ['the secret by absolute path after //', () => `/${secretPath}`, 2],
    ['the secret by absolute path after / (relative to the root, so not found)', () => secretPath, 1],
    ['/etc/passwd (relative to the root, so not found)', '/etc/passwd', 1],
    ['C:\\secret.txt', 'C:\\secret.txt', 2],
    ['%00 in the name', 'small.txt%00../secret.txt', 2],
    ['a raw NUL in the name', Buffer.from('\x00\x01small.txt\x00../secret.txt\x00octet\x00', 'latin1'), 4],
    ['.', '.', 2],
    ['..', '..', 2],
    ['/', '/', 2],
    ['a directory', 'sub', 2],
    ['a directory with a trailing slash', 'sub/', 2],
    ['a symlink to a file outside (absolute target)', 'abs-escape', 2],
    ['a symlink to a file outside (relative target)', 'rel-escape', 2],
    ['a chain of symlinks leading outside', 'chained-escape', 2],
    ['a file inside a symlinked directory outside', 'dir-escape/inner-secret.txt', 2],
    ['a symlink up to the root’s parent, then the secret', 'sub/up-two/secret.txt', 2],
    ['a symlink loop', 'loop-a', 2],
    ['a FIFO', 'fifo', 2]
  ]

  it.each(variants)('refuses %s with a TFTP error, sends no data and reads nothing outside the root', async (_what, request, code) => {
    const s = await startServer()
    await markUnread(secretPath)
    await markUnread(innerSecretPath)
    const name = typeof request === 'function' ? request() : request
    const raw = Buffer.isBuffer(name) ? name : encodeRequest('rrq', name, 'octet')
    const { replies, junk } = await probe(s.port, raw)

    expect(junk).toBe(0)
    expect(replies.length).toBe(1)
    expect(replies[0]?.packet).toMatchObject({ op: 'error', code })
    expect(replies.some((r) => r.packet.op === 'data' || r.packet.op === 'oack')).toBe(false)
    expect(replies.some((r) => r.raw.includes('SECRET'))).toBe(false)
    if (fsRecordsReads) {
      expect(await wasRead(secretPath)).toBe(false)
      expect(await wasRead(innerSecretPath)).toBe(false)
    }
    if (code === 2) {
      expect(logLines.some((l) => l.level === 40 && /refused/.test(l.msg) && typeof l.reason === 'string')).toBe(true)
    }
  })

  it.runIf(process.platform === 'linux')('the temp filesystem records reads in atime, so the not-read checks above are meaningful', () => {
    expect(fsRecordsReads).toBe(true)
  })

  it('refuses a character device inside the root instead of streaming it', async (ctx) => {
    if (!deviceCreated) ctx.skip()
    const s = await startServer()
    const { replies } = await probe(s.port, encodeRequest('rrq', 'zero-device', 'octet'))
    expect(replies.map((r) => r.packet)).toEqual([{ op: 'error', code: 2, message: 'Access violation' }])
  })

  it('refuses a write request with error 2 and creates no file', async () => {
    const s = await startServer()
    for (const request of [
      encodeRequest('wrq', 'upload.bin', 'octet'),
      encodeRequest('wrq', 'upload-opts.bin', 'octet', opts(['blksize', '1468'], ['tsize', '100']))
    ]) {
      const { replies } = await probe(s.port, request)
      expect(replies.map((r) => r.packet)).toEqual([{ op: 'error', code: 2, message: 'Access violation' }])
    }
    const local = path.join(base, 'to-upload.txt')
    await fs.writeFile(local, 'upload attempt')
    const { stdout, stderr } = await run('tftp', ['-m', 'binary', '127.0.0.1', String(s.port), '-c', 'put', local, 'hpa-upload.txt'], {
      timeout: 10_000
    })
    expect(`${stdout}${stderr}`).toMatch(/Error code 2/)
    expect((await fs.readdir(root)).filter((f) => /upload/.test(f))).toEqual([])
    expect(logLines.some((l) => l.msg === 'TFTP request refused' && /read-only/.test(l.reason ?? ''))).toBe(true)
  })
})

describe('tftp server robustness', () => {
  it('answers a missing file with error 1 and keeps serving the next request', async () => {
    const s = await startServer()
    await expect(tftpRead(s.port, 'missing.bin')).rejects.toMatchObject({ code: 1 })
    await expect(tftpRead(s.port, 'pxelinux.cfg/01-52-54-00-00-00-01')).rejects.toBeInstanceOf(TftpReadError)
    const next = await tftpRead(s.port, 'small.txt')
    expect(next.data.toString()).toBe('small file\n'.repeat(200))
  })

  it('answers garbage with error 4 and a netascii request with error 0, then keeps serving', async () => {
    const s = await startServer()
    expect((await probe(s.port, Buffer.from([0, 9, 1, 2, 3]))).replies[0]?.packet).toMatchObject({ op: 'error', code: 4 })
    expect((await probe(s.port, Buffer.from([0]))).replies[0]?.packet).toMatchObject({ op: 'error', code: 4 })
    expect((await probe(s.port, encodeRequest('rrq', 'small.txt', 'netascii'))).replies[0]?.packet).toMatchObject({
      op: 'error',
      code: 0
    })
    // An ERROR sent to the listening port is never answered (no error ping-pong).
    expect((await probe(s.port, encodeError(0, 'hello'))).replies).toEqual([])
    expect((await tftpRead(s.port, 'small.txt')).data.length).toBe(2200)
  })

  // The transfer socket is connected to the client (as tftpd-hpa's is), so the kernel drops a
  // foreign TID's packet: RFC 1350's error 5 reply ("should") is given up for that.
  it('ignores a 1-byte datagram on a transfer port and a foreign port, finishing the transfer', async () => {
    const s = await startServer()
    const client = await UdpTestClient.open()
    const stranger = await UdpTestClient.open()
    try {
      await client.send(encodeRequest('rrq', 'small.txt', 'octet'), s.port)
      const first = await client.next(2000)
      const tid = first?.from.port ?? 0
      expect(first?.packet).toMatchObject({ op: 'data', block: 1 })
      await client.send(Buffer.from([4]), tid)
      await stranger.send(encodeAck(1), tid)
      expect(await stranger.drain(300)).toEqual([])
      const received = [first]
      for (let block = 1; block <= 5; block++) {
        await client.send(encodeAck(block), tid)
        const r = await client.next(2000)
        received.push(r)
        if (r?.packet.op === 'data' && r.packet.data.length < 512) break
      }
      const blocks = received.map((r) => (r?.packet.op === 'data' ? r.packet.block : -1))
      expect(blocks).toEqual([1, 2, 3, 4, 5])
      await client.send(encodeAck(5), tid)
      await waitFor('the completion log', () => logLines.find((l) => l.msg === 'TFTP transfer complete'))
    } finally {
      await client.close()
      await stranger.close()
    }
  })

  it('ends a transfer quietly when the client answers the OACK with error 8, as UEFI does after a tsize probe', async () => {
    const s = await startServer()
    const client = await UdpTestClient.open()
    try {
      await client.send(encodeRequest('rrq', 'big.bin', 'octet', opts(['tsize', '0'], ['blksize', '1468'])), s.port)
      const oack = await client.next(2000)
      expect(oack?.packet).toEqual({ op: 'oack', options: opts(['tsize', String(BIG)], ['blksize', '1468']) })
      await client.send(encodeError(8, 'User aborted the transfer'), oack?.from.port ?? 0)
      await waitFor('the client-abort log', () => logLines.find((l) => l.msg === 'TFTP transfer ended by the client'))
      expect(await client.drain(200)).toEqual([])
    } finally {
      await client.close()
    }
    expect(sha256((await tftpRead(s.port, 'big.bin', opts(['blksize', '1468'], ['windowsize', '16']))).data)).toBe(bigSha)
  })

  it('ends a transfer at once when the client port closes, without waiting out the retries', async () => {
    const s = await startServer({ timeoutMs: 200, retries: 50 })
    const client = await UdpTestClient.open()
    try {
      await client.send(encodeRequest('rrq', 'big.bin', 'octet', opts(['blksize', '1468'])), s.port)
      expect((await client.next(2000))?.packet).toMatchObject({ op: 'oack' })
    } finally {
      await client.close()
    }
    // The next OACK retransmission meets a closed port; 50 retries would take 10 s.
    await waitFor('the client-gone log', () => logLines.find((l) => l.msg === 'TFTP transfer ended: the client port is closed'))
    expect(logLines.some((l) => l.msg === 'TFTP transfer timed out' || l.msg === 'TFTP transfer failed')).toBe(false)
  })

  it('reports each completed transfer with file, bytes, duration and client', async () => {
    const events: TftpTransferEvent[] = []
    const s = await startServer({
      onTransfer: (e) => {
        events.push(e)
        throw new Error('a throwing listener must not break the server')
      }
    })
    await tftpRead(s.port, '/sub/boot.cfg')
    const event = await waitFor('the transfer event', () => events[0])
    expect(event).toMatchObject({ file: '/sub/boot.cfg', bytes: 6 })
    expect(event.client).toMatch(/^127\.0\.0\.1:\d+$/)
    expect(event.ms).toBeGreaterThanOrEqual(0)
    expect((await tftpRead(s.port, 'sub/boot.cfg')).data.toString()).toBe('config')
  })
})

describe('tftp server lifecycle', () => {
  it('stops twice without error and serves again after stop() then start()', async () => {
    const s = await startServer()
    await Promise.all([s.start(), s.start()])
    expect((await tftpRead(s.port, 'small.txt')).data.length).toBe(2200)
    await s.stop()
    await s.stop()
    await s.start()
    expect(s.port).toBeGreaterThan(0)
    expect((await tftpRead(s.port, 'small.txt')).data.length).toBe(2200)
  })

  it('stop() ends a transfer in progress and tells its client', async () => {
    const s = await startServer()
    const client = await UdpTestClient.open()
    try {
      await client.send(encodeRequest('rrq', 'big.bin', 'octet'), s.port)
      expect((await client.next(2000))?.packet).toMatchObject({ op: 'data', block: 1 })
      await s.stop()
      expect((await client.next(2000))?.packet).toEqual({ op: 'error', code: 0, message: 'server is stopping' })
    } finally {
      await client.close()
    }
  })

  it('fails to start on a port already in use with a typed error saying what to do', async () => {
    const s = await startServer()
    const second = new TftpServer({ root, address: '127.0.0.1', port: s.port })
    const err = await second.start().catch((e: unknown) => e)
    expect(err).toBeInstanceOf(TftpServerError)
    expect(err).toMatchObject({ kind: 'address-in-use' })
    await second.stop()
  })

  it('fails to start with a missing root or a non-IP address', async () => {
    const noRoot = new TftpServer({ root: path.join(base, 'no-such-dir'), address: '127.0.0.1', port: 0 })
    await expect(noRoot.start()).rejects.toMatchObject({ kind: 'invalid-root' })
    const badAddress = new TftpServer({ root, address: 'localhost', port: 0 })
    await expect(badAddress.start()).rejects.toMatchObject({ kind: 'invalid-address' })
  })

  it('maps EACCES on a privileged port to an error that names the setcap command', () => {
    const eacces = Object.assign(new Error('bind EACCES 0.0.0.0:69'), { code: 'EACCES' })
    const err = bindFailure(eacces, '0.0.0.0', 69, '/opt/crowbar/crowbar')
    expect(err.kind).toBe('privileged-port')
    expect(err.message).toContain('Run as root, or grant CAP_NET_BIND_SERVICE: sudo setcap cap_net_bind_service=+ep /opt/crowbar/crowbar')
  })

  const canDropToNobody =
    process.platform === 'linux' &&
    process.getuid?.() === 0 &&
    Number(readFileSync('/proc/sys/net/ipv4/ip_unprivileged_port_start', 'utf8')) > 69

  it.runIf(canDropToNobody)('binding port 69 as an unprivileged user fails with the privileged-port error', async () => {
    const serverModule = path.join(import.meta.dirname, 'tftp-server.ts')
    const code = `
      const { TftpServer } = await import(${JSON.stringify(serverModule)})
      const s = new TftpServer({ root: '/', address: '127.0.0.1', port: 69 })
      try { await s.start(); await s.stop(); console.log(JSON.stringify({ started: true })) }
      catch (e) { console.log(JSON.stringify({ name: e.name, kind: e.kind, message: e.message })) }`
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {
      uid: 65534,
      gid: 65534,
      cwd: path.resolve(import.meta.dirname, '../../..'),
      timeout: 20_000
    })
    let stdout = ''
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()))
    await new Promise((resolve) => child.on('close', resolve))
    const result = JSON.parse(stdout.trim()) as { name: string; kind: string; message: string }
    expect(result).toMatchObject({ name: 'TftpServerError', kind: 'privileged-port' })
    expect(result.message).toContain(`sudo setcap cap_net_bind_service=+ep ${process.execPath}`)
  })
})
