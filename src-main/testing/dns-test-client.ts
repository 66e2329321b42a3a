// Clients for testing a DNS server on loopback: the real `dig` (BIND's client) with its output
// parsed, and the raw pieces for what dig will not send (hand-built queries, TCP framing).
import { execFile } from 'node:child_process'
import type net from 'node:net'
import { promisify } from 'node:util'
import { decodeMessage, encodeMessage, isDecodeError, type DnsMessage } from '../services/dns/dns-codec'

const run = promisify(execFile)

export interface DigResult {
  readonly status: string
  readonly flags: readonly string[]
  /** Records with whitespace collapsed: `node1.cluster.test. 300 IN A 192.168.124.81`. */
  readonly answer: readonly string[]
  readonly authority: readonly string[]
  readonly transport: string
  readonly output: string
}

export async function dig(port: number, ...args: string[]): Promise<DigResult> {
  return digAt('127.0.0.1', port, async (file, argv) => (await run(file, argv)).stdout, ...args)
}

/** Runs a command to completion and gives its stdout: directly, or inside a namespace (TestLink.exec). */
export type CommandRunner = (file: string, args: readonly string[]) => Promise<string>

/** dig at `server`, run by `runner` (e.g. inside a test namespace, so the query comes from the rack side). */
export async function digAt(server: string, port: number, runner: CommandRunner, ...args: string[]): Promise<DigResult> {
  const stdout = await runner('dig', [`@${server}`, '-p', String(port), '+tries=1', '+time=2', ...args])
  const section = (title: string): string[] => {
    const start = stdout.indexOf(`;; ${title} SECTION:\n`)
    if (start < 0) return []
    const body = stdout.slice(start).split('\n').slice(1)
    const end = body.indexOf('')
    return body.slice(0, end < 0 ? undefined : end).map((line) => line.split(/\s+/).join(' '))
  }
  return {
    status: /status: (\w+)/.exec(stdout)?.[1] ?? 'none',
    flags: (/;; flags: ([\w ]*);/.exec(stdout)?.[1] ?? '').split(' '),
    answer: section('ANSWER'),
    authority: section('AUTHORITY'),
    transport: /;; SERVER: .*\((UDP|TCP)\)/.exec(stdout)?.[1] ?? 'none',
    output: stdout
  }
}

export function queryBytes(name: string, type: number, id = 0x4444, qr = false): Buffer {
  const message: DnsMessage = {
    header: { id, qr, opcode: 0, aa: false, tc: false, rd: true, ra: false, z: false, ad: false, cd: false, rcode: 0 },
    questions: [{ name, type, class: 1 }],
    answers: [],
    authorities: [],
    additionals: [],
    edns: null
  }
  return encodeMessage(message)
}

export function decoded(bytes: Buffer): DnsMessage {
  const m = decodeMessage(bytes)
  if (isDecodeError(m)) throw new Error(m.error)
  return m
}

/** Reads `count` length-prefixed replies off a TCP connection. */
export function tcpReplies(socket: net.Socket, count: number): Promise<Buffer[]> {
  return new Promise((resolve, reject) => {
    let pending = Buffer.alloc(0)
    const replies: Buffer[] = []
    const onData = (chunk: Buffer): void => {
      pending = Buffer.concat([pending, chunk])
      while (pending.length >= 2 && pending.length >= 2 + pending.readUInt16BE(0)) {
        replies.push(pending.subarray(2, 2 + pending.readUInt16BE(0)))
        pending = pending.subarray(2 + pending.readUInt16BE(0))
      }
      if (replies.length >= count) {
        socket.off('data', onData)
        resolve(replies)
      }
    }
    socket.on('data', onData)
    socket.once('close', () => reject(new Error(`connection closed after ${replies.length} of ${count} replies`)))
  })
}

export const framed = (bytes: Buffer): Buffer => Buffer.concat([Buffer.from([bytes.length >> 8, bytes.length & 0xff]), bytes])

export function closed(socket: net.Socket, withinMs: number): Promise<boolean> {
  if (socket.destroyed) return Promise.resolve(true)
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), withinMs)
    socket.once('close', () => {
      clearTimeout(timer)
      resolve(true)
    })
  })
}
