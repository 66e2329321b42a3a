// The TFTP server on 127.0.0.1 with a temp root, fetched by real clients (tftp-hpa, curl, the tftp
// package's client, a raw UDP client), and its lifecycle: start, stop, restart and bind failures.
import { spawn } from 'node:child_process'
import { promises as fs, readFileSync } from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { encodeRequest } from './tftp-codec'
import { tftpRead, UdpTestClient } from '../../testing/tftp-test-client'
import { curlGet, opts, packageGet, sha256, tftpHpaGet, useTftpFixture, waitFor } from '../../testing/tftp-test-fixture'
import { bindError, ServiceStartError } from '../net/service-error'
import { TftpServer, type TftpTransferEvent } from './tftp-server'

const fx = useTftpFixture()

describe('tftp server with real clients', () => {
  it('tftp-hpa fetches a 5 MB random file byte-identical', async () => {
    const s = await fx.startServer()
    const out = path.join(fx.base, 'hpa-big.out')
    const { stdout } = await tftpHpaGet(s.port, 'big.bin', out)
    expect(stdout).toMatch(/Received 5242880 bytes/)
    expect(sha256(await fs.readFile(out))).toBe(fx.bigSha)
  })

  it('curl with blksize 1468 fetches a 5 MB random file byte-identical', async () => {
    const s = await fx.startServer()
    const out = path.join(fx.base, 'curl-big.out')
    const started = performance.now()
    await curlGet(s.port, 'big.bin', out, 1468)
    const ms = performance.now() - started
    console.log(`curl blksize 1468 (lock-step): 5 MB in ${ms.toFixed(0)} ms`)
    expect(sha256(await fs.readFile(out))).toBe(fx.bigSha)
  })

  it('tftp-hpa and curl fetch a 0-byte file as an empty file', async () => {
    const s = await fx.startServer()
    const hpaOut = path.join(fx.base, 'hpa-empty.out')
    const curlOut = path.join(fx.base, 'curl-empty.out')
    await tftpHpaGet(s.port, 'empty.bin', hpaOut)
    await curlGet(s.port, 'empty.bin', curlOut, 1468)
    expect((await fs.stat(hpaOut)).size).toBe(0)
    expect((await fs.stat(curlOut)).size).toBe(0)
  })

  it('a file of exactly 512*N bytes arrives whole through tftp-hpa and curl, ending with an empty block', async () => {
    const s = await fx.startServer()
    const expected = sha256(await fs.readFile(path.join(fx.root, 'exact-512.bin')))
    const hpaOut = path.join(fx.base, 'hpa-exact.out')
    const curlOut = path.join(fx.base, 'curl-exact.out')
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
    const s = await fx.startServer()
    const expected = sha256(await fs.readFile(path.join(fx.root, 'exact-1468.bin')))
    const own = await tftpRead(s.port, 'exact-1468.bin', opts(['blksize', '1468'], ['windowsize', '8']))
    expect(own.lastBlockLength).toBe(0)
    expect(sha256(own.data)).toBe(expected)
    const curlOut = path.join(fx.base, 'curl-exact-1468.out')
    await curlGet(s.port, 'exact-1468.bin', curlOut, 1468)
    expect(sha256(await fs.readFile(curlOut))).toBe(expected)
  })

  it('the tftp package client with windowsize 8 and blksize 1468 fetches 5 MB byte-identical', async () => {
    const s = await fx.startServer()
    const started = performance.now()
    const data = await packageGet(s.port, 'big.bin', 8, 1468)
    const ms = performance.now() - started
    console.log(`tftp package client, blksize 1468 windowsize 8: 5 MB in ${ms.toFixed(0)} ms`)
    expect(sha256(data)).toBe(fx.bigSha)
  })

  it('a raw client with windowsize 8 and blksize 1468 fetches 5 MB byte-identical', async () => {
    const events: TftpTransferEvent[] = []
    const s = await fx.startServer({ onTransfer: (e) => events.push(e) })
    const started = performance.now()
    const result = await tftpRead(s.port, 'big.bin', opts(['blksize', '1468'], ['windowsize', '8'], ['tsize', '0']))
    const ms = performance.now() - started
    console.log(`raw client, blksize 1468 windowsize 8: 5 MB in ${ms.toFixed(0)} ms (${result.dataPackets} DATA packets)`)
    expect(sha256(result.data)).toBe(fx.bigSha)
    const event = await waitFor('the transfer event', () => events[0])
    console.log(`server-side duration: ${event.ms.toFixed(0)} ms`)
  })
})

describe('tftp server lifecycle', () => {
  it('stops twice without error and serves again after stop() then start()', async () => {
    const s = await fx.startServer()
    await Promise.all([s.start(), s.start()])
    expect((await tftpRead(s.port, 'small.txt')).data.length).toBe(2200)
    await s.stop()
    await s.stop()
    await s.start()
    expect(s.port).toBeGreaterThan(0)
    expect((await tftpRead(s.port, 'small.txt')).data.length).toBe(2200)
  })

  it('stop() ends a transfer in progress and tells its client', async () => {
    const s = await fx.startServer()
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
    const s = await fx.startServer()
    const second = new TftpServer({ root: fx.root, address: '127.0.0.1', port: s.port })
    const err = await second.start().catch((e: unknown) => e)
    expect(err).toBeInstanceOf(ServiceStartError)
    expect(err).toMatchObject({ service: 'TFTP', kind: 'address_in_use' })
    await second.stop()
  })

  it('fails to start with a missing root or a non-IP address', async () => {
    const noRoot = new TftpServer({ root: path.join(fx.base, 'no-such-dir'), address: '127.0.0.1', port: 0 })
    await expect(noRoot.start()).rejects.toMatchObject({ kind: 'invalid_option', message: expect.stringMatching(/^TFTP root .* cannot be served/) })
    const badAddress = new TftpServer({ root: fx.root, address: 'localhost', port: 0 })
    await expect(badAddress.start()).rejects.toMatchObject({ kind: 'invalid_option', message: expect.stringMatching(/is not an IP address/) })
  })

  it('maps EACCES on a privileged port to an error that names the setcap command', () => {
    const eacces = Object.assign(new Error('bind EACCES 0.0.0.0:69'), { code: 'EACCES' })
    const err = bindError(eacces, { service: 'TFTP', transport: 'UDP', address: '0.0.0.0', port: 69 }, '/opt/crowbar/crowbar')
    expect(err.kind).toBe('permission')
    expect(err.message).toContain('run as root, or grant this binary the capabilities: sudo setcap cap_net_bind_service,cap_net_raw=+ep /opt/crowbar/crowbar')
  })

  const canDropToNobody =
    process.platform === 'linux' &&
    process.getuid?.() === 0 &&
    Number(readFileSync('/proc/sys/net/ipv4/ip_unprivileged_port_start', 'utf8')) > 69

  it.runIf(canDropToNobody)('binding port 69 as an unprivileged user fails with the permission error', async () => {
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
    expect(result).toMatchObject({ name: 'ServiceStartError', kind: 'permission' })
    expect(result.message).toContain(`sudo setcap cap_net_bind_service,cap_net_raw=+ep ${process.execPath}`)
  })
})
