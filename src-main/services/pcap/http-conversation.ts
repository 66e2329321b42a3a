// An HTTP exchange drawn as the TCP conversation that carried it (SYN, SYN-ACK, ACK, the request,
// the response head, the first body segment, FIN both ways) with sequence numbers that count every
// byte sent: body bytes not kept leave a gap Wireshark shows as "previous segment not captured".
// The handshake is synthesized (one per request, even on a kept-alive connection). Pure.
import type { CapturedHttpExchange } from './captured-packet'
import { tcpFrame, TcpFlag, type BuiltFrame, type FrameEndpoint } from './frames'

export interface ConversationFrame extends BuiltFrame {
  readonly t: number
  readonly direction: 'in' | 'out'
}

/** Bytes per segment: an Ethernet MTU's worth of TCP payload. */
export const TCP_MSS = 1460

/** Initial sequence numbers from the exchange itself, so the same exchange draws the same way. */
function isn(x: CapturedHttpExchange, salt: number): number {
  let h = (2166136261 ^ salt) >>> 0
  for (const n of [x.client.port, x.server.port, x.requestAt % 0x100000000]) {
    h = Math.imul(h ^ (n & 0xffff), 16777619) >>> 0
    h = Math.imul(h ^ (n >>> 16), 16777619) >>> 0
  }
  return h
}

export function httpConversation(x: CapturedHttpExchange, clientMac: string, serverMac: string): ConversationFrame[] {
  const client: FrameEndpoint = { mac: clientMac, ...x.client }
  const server: FrameEndpoint = { mac: serverMac, ...x.server }
  const frames: ConversationFrame[] = []
  let c = isn(x, 1)
  let s = isn(x, 2)
  let t = x.requestAt
  let id = 0
  const fromClient = (flags: number, payload?: Buffer): void => {
    frames.push({ t, direction: 'in', ...tcpFrame({ src: client, dst: server, seq: c, ack: s, flags, ...(payload ? { payload } : {}), id: id++ }) })
  }
  const fromServer = (flags: number, payload?: Buffer): void => {
    frames.push({ t, direction: 'out', ...tcpFrame({ src: server, dst: client, seq: s, ack: c, flags, ...(payload ? { payload } : {}), id: id++ }) })
  }
  const step = (): number => (t += 1)
  fromClient(TcpFlag.SYN)
  c = (c + 1) >>> 0
  step()
  fromServer(TcpFlag.SYN | TcpFlag.ACK)
  s = (s + 1) >>> 0
  step()
  fromClient(TcpFlag.ACK)
  for (let at = 0; at < x.requestHead.length; at += TCP_MSS) {
    const part = x.requestHead.subarray(at, at + TCP_MSS)
    step()
    fromClient(TcpFlag.PSH | TcpFlag.ACK, part)
    c = (c + part.length) >>> 0
  }
  // The request body was not kept: its bytes are counted, not drawn.
  c = (c + Math.max(0, x.requestBodyLen)) >>> 0
  step()
  fromServer(TcpFlag.ACK)
  t = Math.max(t + 1, x.answeredAt)
  for (let at = 0; at < x.responseHead.length; at += TCP_MSS) {
    const part = x.responseHead.subarray(at, at + TCP_MSS)
    fromServer(TcpFlag.PSH | TcpFlag.ACK, part)
    s = (s + part.length) >>> 0
    step()
  }
  const body = x.responseBody.subarray(0, TCP_MSS)
  if (body.length > 0) {
    fromServer(TcpFlag.PSH | TcpFlag.ACK, body)
    step()
  }
  s = (s + Math.max(x.responseBodyLen, body.length)) >>> 0
  fromServer(TcpFlag.FIN | TcpFlag.ACK)
  s = (s + 1) >>> 0
  step()
  fromClient(TcpFlag.FIN | TcpFlag.ACK)
  c = (c + 1) >>> 0
  step()
  fromServer(TcpFlag.ACK)
  return frames
}
