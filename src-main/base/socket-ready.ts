// Waiting for a socket to be bound, connected or listening: Node reports failure of these calls as
// an 'error' event, not through the callback, so each wait listens for both and removes its
// listener after, whichever comes first. One place for every server and client here.
import type dgram from 'node:dgram'
import type { EventEmitter } from 'node:events'
import type net from 'node:net'

/** Resolves when `begin`'s callback runs; rejects with the first 'error' the emitter raises before. */
export function untilReady(emitter: EventEmitter, begin: (ready: () => void) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    emitter.once('error', reject)
    begin(() => {
      emitter.off('error', reject)
      resolve()
    })
  })
}

export const bindUdp = (socket: dgram.Socket, options: dgram.BindOptions): Promise<void> => untilReady(socket, (ready) => socket.bind(options, ready))

export const connectUdp = (socket: dgram.Socket, port: number, address: string): Promise<void> =>
  untilReady(socket, (ready) => socket.connect(port, address, ready))

export const listenTcp = (server: net.Server, options: net.ListenOptions): Promise<void> => untilReady(server, (ready) => server.listen(options, ready))
