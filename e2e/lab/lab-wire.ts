// What crossed the lab's bridge, timed on the wire: DHCP ACKs (which MAC got which address when)
// and the booted images' requests to the node-facing API. tcpdump writes pcap to a pipe; the
// records are parsed here (Ethernet/IPv4/UDP|TCP) and DHCP with the app's own codec. The raw
// capture is kept as an artifact.
import { spawn } from 'node:child_process'
import { createWriteStream } from 'node:fs'
import { decode, MessageType, messageType } from '../../src-main/services/dhcp/dhcp-codec'

export interface DhcpAck {
  readonly epochMs: number
  readonly mac: string
  readonly address: string
}

export interface ApiRequest {
  readonly epochMs: number
  readonly from: string
  /** The request line, e.g. "POST /api/node/register HTTP/1.1". */
  readonly line: string
}

export interface WireCapture {
  readonly acks: readonly DhcpAck[]
  readonly apiRequests: readonly ApiRequest[]
  /** Resolves once tcpdump has opened the interface (it says "listening on"). */
  readonly ready: Promise<void>
  stop(): Promise<void>
  readonly pid: number
}

export function captureWire(namespace: string, ifname: string, apiPort: number, pcapPath: string): WireCapture {
  // UDP for DHCP; TCP segments towards the API that carry data (PSH), cut to 512 bytes. Immediate
  // mode: libpcap would otherwise hand over packets in batches up to a second late.
  const filter = `udp port 67 or udp port 68 or (tcp dst port ${apiPort} and tcp[tcpflags] & tcp-push != 0)`
  const child = spawn('ip', ['netns', 'exec', namespace, 'tcpdump', '-i', ifname, '--immediate-mode', '-U', '-n', '-s', '512', '-w', '-', filter], {
    stdio: ['ignore', 'pipe', 'pipe']
  })
  if (child.pid === undefined) throw new Error('tcpdump did not start (apt-get install tcpdump)')
  const pid = child.pid
  const acks: DhcpAck[] = []
  const apiRequests: ApiRequest[] = []
  const file = createWriteStream(pcapPath)
  const parser = pcapParser((frame, epochMs) => parseFrame(frame, epochMs, apiPort, acks, apiRequests))
  child.stdout?.on('data', (chunk: Buffer) => {
    file.write(chunk)
    parser.push(chunk)
  })

  const ready = new Promise<void>((resolve, reject) => {
    let text = ''
    const timer = setTimeout(() => reject(new Error(`tcpdump did not start listening on ${ifname} within 10 s: ${text.trim()}`)), 10_000)
    child.stderr?.setEncoding('utf8')
    child.stderr?.on('data', (chunk: string) => {
      text = (text + chunk).slice(-2_000)
      if (text.includes('listening on')) {
        clearTimeout(timer)
        resolve()
      }
    })
    child.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`tcpdump exited (${code}): ${text.trim()}`))
    })
  })
  ready.catch(() => undefined)

  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  let stopping: Promise<void> | undefined
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      if (child.exitCode === null && child.signalCode === null) {
        try {
          process.kill(pid, 'SIGTERM')
        } catch {
          // already gone
        }
        const timer = setTimeout(() => {
          try {
            process.kill(pid, 'SIGKILL')
          } catch {
            // already gone
          }
        }, 3_000)
        await exited
        clearTimeout(timer)
      }
      await new Promise<void>((resolve) => file.end(() => resolve()))
    })()
    return stopping
  }
  return { acks, apiRequests, ready, stop, pid }
}

/** A pcap stream (as `tcpdump -w -` writes it) cut into frames, whatever the chunking. */
export function pcapParser(onFrame: (frame: Buffer, epochMs: number) => void): { push(chunk: Buffer): void } {
  let buffered = Buffer.alloc(0)
  let headerSeen = false
  let littleEndian = true
  let nanoseconds = false
  let corrupt = false
  return {
    push(chunk) {
      if (corrupt) return
      buffered = Buffer.concat([buffered, chunk])
      if (!headerSeen) {
        if (buffered.length < 24) return
        const magic = buffered.readUInt32LE(0)
        littleEndian = magic === 0xa1b2c3d4 || magic === 0xa1b23c4d
        nanoseconds = (littleEndian ? magic : buffered.readUInt32BE(0)) === 0xa1b23c4d
        buffered = buffered.subarray(24)
        headerSeen = true
      }
      const u32 = (at: number) => (littleEndian ? buffered.readUInt32LE(at) : buffered.readUInt32BE(at))
      while (buffered.length >= 16) {
        const length = u32(8)
        if (length > 262_144) {
          // Not a pcap record: stop parsing (the raw file is still kept).
          corrupt = true
          return
        }
        if (buffered.length < 16 + length) break
        const epochMs = u32(0) * 1000 + u32(4) / (nanoseconds ? 1e6 : 1e3)
        onFrame(buffered.subarray(16, 16 + length), epochMs)
        buffered = buffered.subarray(16 + length)
      }
    }
  }
}

function ipv4(b: Buffer, at: number): string {
  return `${b[at]}.${b[at + 1]}.${b[at + 2]}.${b[at + 3]}`
}

export function parseFrame(frame: Buffer, epochMs: number, apiPort: number, acks: DhcpAck[], apiRequests: ApiRequest[]): void {
  if (frame.length < 14 + 20 || frame.readUInt16BE(12) !== 0x0800) return
  const ip = frame.subarray(14)
  const ihl = ((ip[0] ?? 0) & 0x0f) * 4
  if (ihl < 20 || ip.length < ihl + 8) return
  const protocol = ip[9]
  const l4 = ip.subarray(ihl)
  if (protocol === 17) {
    const payload = l4.subarray(8)
    const decoded = decode(payload)
    if (!decoded.ok || decoded.packet.op !== 2 || messageType(decoded.packet) !== MessageType.ACK) return
    acks.push({ epochMs, mac: decoded.packet.chaddr, address: decoded.packet.yiaddr })
  } else if (protocol === 6) {
    if (l4.length < 20 || l4.readUInt16BE(2) !== apiPort) return
    const payload = l4.subarray(((l4[12] ?? 0) >> 4) * 4)
    const text = payload.subarray(0, 200).toString('latin1')
    if (!/^(GET|POST) \/api\/node\//.test(text)) return
    apiRequests.push({ epochMs, from: ipv4(ip, 12), line: text.split('\r\n')[0] ?? text })
  }
}
