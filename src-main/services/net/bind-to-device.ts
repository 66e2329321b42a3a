// Binds a UDP socket to one network interface (SO_BINDTODEVICE) through our small N-API addon
// (native/netbind.c): Node's dgram has no such option, and a DHCP server must not answer on
// interfaces the operator did not choose.
import { existsSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import type { Socket } from 'node:dgram'
import { fileURLToPath } from 'node:url'

interface NetbindAddon {
  /** Returns how many datagrams that were queued before the device binding it discarded. */
  bindToDevice(fd: number, ifname: string): number
  sendRouterAdvertisement(ifname: string, prefix: Buffer, prefixLength: number, validSeconds: number, preferredSeconds: number): void
  startSolicitationResponder(ifname: string, prefix: Buffer, prefixLength: number, validSeconds: number, preferredSeconds: number): ResponderHandle
  stopSolicitationResponder(handle: ResponderHandle): void
  solicitationsAnswered(handle: ResponderHandle): number
}

/** The addon's opaque handle of a running responder. */
declare const responderHandle: unique symbol
type ResponderHandle = { readonly [responderHandle]: true }

let addon: NetbindAddon | undefined

function projectRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url))
  for (let i = 0; i < 12; i++) {
    const pkg = join(dir, 'package.json')
    if (existsSync(pkg) && /"name":\s*"crowbar-desktop"/.test(readFileSync(pkg, 'utf8'))) return dir
    dir = dirname(dir)
  }
  throw new Error('cannot find the crowbar-desktop package root to load native/netbind')
}

function load(): NetbindAddon {
  if (addon) return addon
  const file = join(projectRoot(), 'build', 'Release', 'netbind.node')
  if (!existsSync(file)) throw new Error(`the netbind addon is not built (${file}): run \`npm ci\` (or \`npx node-gyp rebuild\`)`)
  addon = createRequire(import.meta.url)(file) as NetbindAddon
  return addon
}

/** The OS file descriptor of a bound dgram socket (Node keeps it in its internal state). */
function fdOf(socket: Socket): number {
  const state = Object.getOwnPropertySymbols(socket).find((s) => s.description === 'state symbol')
  const handle = state ? (Reflect.get(socket, state) as { handle?: { fd?: number } } | undefined)?.handle : undefined
  const fd = handle?.fd
  if (typeof fd !== 'number' || fd < 0) throw new Error('the socket has no file descriptor yet: bind it first')
  return fd
}

/**
 * Binds the socket to the interface and discards what it received before (on any interface, since
 * the port was bound first): call it right after the bind, before the event loop turns, and no
 * datagram from another interface is ever read. Returns how many were discarded.
 */
export function bindSocketToDevice(socket: Socket, ifname: string): number {
  return load().bindToDevice(fdOf(socket), ifname)
}

/** One unsolicited IPv6 router advertisement (not a default router) with an on-link SLAAC prefix. */
export function sendRouterAdvertisement(ifname: string, prefix: Buffer, prefixLength: number, validSeconds: number, preferredSeconds: number): void {
  load().sendRouterAdvertisement(ifname, prefix, prefixLength, validSeconds, preferredSeconds)
}

export interface SolicitationResponder {
  /** Advertisements sent in answer to solicitations so far. */
  answered(): number
  /** Idempotent. */
  stop(): void
}

/** Answers every IPv6 router solicitation on the interface with our advertisement, unicast. */
export function startSolicitationResponder(ifname: string, prefix: Buffer, prefixLength: number, validSeconds: number, preferredSeconds: number): SolicitationResponder {
  const netbind = load()
  const handle = netbind.startSolicitationResponder(ifname, prefix, prefixLength, validSeconds, preferredSeconds)
  return {
    answered: () => netbind.solicitationsAnswered(handle),
    stop: () => netbind.stopSolicitationResponder(handle)
  }
}
