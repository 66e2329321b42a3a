// The TFTP server stays inside its root: traversal names, escaping symlinks, FIFOs and devices are
// refused without reading anything outside, and write requests are refused without creating files.
import { promises as fs } from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { encodeRequest } from './tftp-codec'
import { markUnread, opts, probe, run, useTftpFixture, wasRead } from '../../testing/tftp-test-fixture'

const fx = useTftpFixture()

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
    ['the secret by absolute path after //', () => `/${fx.secretPath}`, 2],
    ['the secret by absolute path after / (relative to the root, so not found)', () => fx.secretPath, 1],
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
    const s = await fx.startServer()
    await markUnread(fx.secretPath)
    await markUnread(fx.innerSecretPath)
    const name = typeof request === 'function' ? request() : request
    const raw = Buffer.isBuffer(name) ? name : encodeRequest('rrq', name, 'octet')
    const { replies, junk } = await probe(s.port, raw)

    expect(junk).toBe(0)
    expect(replies.length).toBe(1)
    expect(replies[0]?.packet).toMatchObject({ op: 'error', code })
    expect(replies.some((r) => r.packet.op === 'data' || r.packet.op === 'oack')).toBe(false)
    expect(replies.some((r) => r.raw.includes('SECRET'))).toBe(false)
    if (fx.fsRecordsReads) {
      expect(await wasRead(fx.secretPath)).toBe(false)
      expect(await wasRead(fx.innerSecretPath)).toBe(false)
    }
    if (code === 2) {
      expect(fx.logLines.some((l) => l.level === 40 && /refused/.test(l.msg) && typeof l.reason === 'string')).toBe(true)
    }
  })

  it.runIf(process.platform === 'linux')('the temp filesystem records reads in atime, so the not-read checks above are meaningful', () => {
    expect(fx.fsRecordsReads).toBe(true)
  })

  it('refuses a character device inside the root instead of streaming it', async (ctx) => {
    if (!fx.deviceCreated) ctx.skip()
    const s = await fx.startServer()
    const { replies } = await probe(s.port, encodeRequest('rrq', 'zero-device', 'octet'))
    expect(replies.map((r) => r.packet)).toEqual([{ op: 'error', code: 2, message: 'Access violation' }])
  })

  it('refuses a write request with error 2 and creates no file', async () => {
    const s = await fx.startServer()
    for (const request of [
      encodeRequest('wrq', 'upload.bin', 'octet'),
      encodeRequest('wrq', 'upload-opts.bin', 'octet', opts(['blksize', '1468'], ['tsize', '100']))
    ]) {
      const { replies } = await probe(s.port, request)
      expect(replies.map((r) => r.packet)).toEqual([{ op: 'error', code: 2, message: 'Access violation' }])
    }
    const local = path.join(fx.base, 'to-upload.txt')
    await fs.writeFile(local, 'upload attempt')
    const { stdout, stderr } = await run('tftp', ['-m', 'binary', '127.0.0.1', String(s.port), '-c', 'put', local, 'hpa-upload.txt'], {
      timeout: 10_000
    })
    expect(`${stdout}${stderr}`).toMatch(/Error code 2/)
    expect((await fs.readdir(fx.root)).filter((f) => /upload/.test(f))).toEqual([])
    expect(fx.logLines.some((l) => l.msg === 'TFTP request refused' && /read-only/.test(l.reason ?? ''))).toBe(true)
  })
})
