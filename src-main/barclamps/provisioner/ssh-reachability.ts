// Whether a node's SSH port accepts a TCP connection, within a bound: the boot diagnosis asks it
// of a node that registered (the annealer reaches its jigs over SSH). Opens and closes one socket.
import net from 'node:net'
import { errnoCodeOf, messageOf } from '../../base/error-message'

export interface SshReachability {
  readonly reachable: boolean
  /** Why not, in a few words: "connection refused (ECONNREFUSED)", "no answer within 2 s". */
  readonly error?: string
}

const WORDS: Record<string, string> = {
  ECONNREFUSED: 'connection refused: nothing listens on the port',
  EHOSTUNREACH: 'host unreachable: no route, or no ARP answer',
  ENETUNREACH: 'network unreachable: no route to it',
  ECONNRESET: 'connection reset'
}

/** Connects to address:port and closes at once; never rejects, never waits past `timeoutMs`. */
export function probeSsh(address: string, port = 22, timeoutMs = 2000): Promise<SshReachability> {
  return new Promise((resolve) => {
    let settled = false
    const socket = net.connect({ host: address, port })
    const settle = (r: SshReachability): void => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      socket.destroy()
      resolve(r)
    }
    const timer = setTimeout(() => settle({ reachable: false, error: `no answer within ${Math.round(timeoutMs / 100) / 10} s (a firewall drops it, or the host is down)` }), timeoutMs)
    socket.once('connect', () => settle({ reachable: true }))
    socket.once('error', (err) => {
      const code = errnoCodeOf(err)
      settle({ reachable: false, error: code ? `${WORDS[code] ?? messageOf(err)} (${code})` : messageOf(err) })
    })
  })
}
