// Confinement to a root directory, judged on what the kernel resolves (symlinks followed) and on the
// descriptor finally held, not on the spelling of the name: every file TFTP and both HTTP servers
// send is opened here.
import { constants, promises as fs } from 'node:fs'
import type { FileHandle } from 'node:fs/promises'
import path from 'node:path'
import { errnoCodeOf, messageOf } from './error-message'

export type ConfinedRefusal = 'not-found' | 'outside-root' | 'not-a-file' | 'denied' | 'io'

type Refused = { readonly ok: false; readonly refusal: ConfinedRefusal; readonly reason: string }

export type ConfinedOpen = { readonly ok: true; readonly handle: FileHandle; readonly size: number; readonly realPath: string } | Refused

/** True when `candidate` is strictly below `root`; both must be real (resolved) absolute paths. */
export function isInsideRoot(root: string, candidate: string): boolean {
  const rel = path.relative(root, candidate)
  return rel !== '' && rel !== '..' && !rel.startsWith(`..${path.sep}`) && !path.isAbsolute(rel)
}

/** The root's real path; throws when it is missing or not a directory. */
export async function resolveRoot(root: string): Promise<string> {
  const real = await fs.realpath(root)
  const st = await fs.stat(real)
  if (!st.isDirectory()) throw new Error(`${root} is not a directory`)
  return real
}

function refusalOf(err: unknown): Refused {
  const code = errnoCodeOf(err)
  switch (code) {
    case 'ENOENT':
    case 'ENOTDIR':
      return { ok: false, refusal: 'not-found', reason: 'no such file' }
    case 'EACCES':
    case 'EPERM':
      return { ok: false, refusal: 'denied', reason: `the server may not read it (${code})` }
    case 'ELOOP':
      return { ok: false, refusal: 'outside-root', reason: 'symlink loop, or a symlink swapped in while opening' }
    default:
      return { ok: false, refusal: 'io', reason: messageOf(err) }
  }
}

/** Where an open descriptor really points (Linux /proc); null where the platform cannot say. */
async function pathOfDescriptor(fd: number): Promise<string | null> {
  if (process.platform !== 'linux') return null
  try {
    return await fs.readlink(`/proc/self/fd/${fd}`)
  } catch {
    return null
  }
}

// O_NONBLOCK: if a FIFO is swapped in after the type check, opening it must not hang the server.
// O_NOFOLLOW: if the last component is swapped for a symlink after realpath, the open fails.
/** Read-only open flags for a path already judged here. */
const CONFINED_OPEN_FLAGS = constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0) | (constants.O_NONBLOCK ?? 0)

type Located = { readonly ok: true; readonly realPath: string; readonly dev: number; readonly ino: number } | Refused

/** The real path of the regular file `relative` names under the real root, if it is one and inside. */
async function locate(rootReal: string, relative: string): Promise<Located> {
  try {
    const real = await fs.realpath(path.join(rootReal, relative))
    if (!isInsideRoot(rootReal, real)) {
      return real === rootReal
        ? { ok: false, refusal: 'not-a-file', reason: 'is the root directory' }
        : { ok: false, refusal: 'outside-root', reason: `resolves to ${real}, outside the root` }
    }
    const st = await fs.stat(real)
    if (st.isDirectory()) return { ok: false, refusal: 'not-a-file', reason: 'is a directory' }
    if (!st.isFile()) return { ok: false, refusal: 'not-a-file', reason: 'is not a regular file (device, FIFO or socket)' }
    return { ok: true, realPath: real, dev: st.dev, ino: st.ino }
  } catch (err) {
    return refusalOf(err)
  }
}

/**
 * Opens a regular file for reading only if its real path lies inside the root. `relative` must
 * already have passed the caller's lexical rules (TFTP: request-path.ts). The caller owns the
 * returned handle and must close it.
 */
export async function openConfined(rootReal: string, relative: string): Promise<ConfinedOpen> {
  const located = await locate(rootReal, relative)
  if (!located.ok) return located

  let handle: FileHandle
  try {
    handle = await fs.open(located.realPath, CONFINED_OPEN_FLAGS)
  } catch (err) {
    return refusalOf(err)
  }
  try {
    // Between realpath and open a directory on the way could have been replaced by a symlink;
    // judge the descriptor actually held, not the name.
    const held = await handle.stat()
    if (!held.isFile() || held.dev !== located.dev || held.ino !== located.ino) {
      await handle.close()
      return { ok: false, refusal: 'outside-root', reason: 'changed while being opened' }
    }
    const heldPath = await pathOfDescriptor(handle.fd)
    if (heldPath !== null && !isInsideRoot(rootReal, heldPath)) {
      await handle.close()
      return { ok: false, refusal: 'outside-root', reason: `opened ${heldPath}, outside the root` }
    }
    return { ok: true, handle, size: held.size, realPath: located.realPath }
  } catch (err) {
    await handle.close().catch(() => undefined)
    return refusalOf(err)
  }
}

/**
 * Opens the regular file a URL path (still percent-encoded; decoded here, once) names under `root`,
 * through openConfined: what is sent is what the descriptor holds, judged after opening, never a
 * name looked up again. Bad percent-encoding or an encoded NUL names nothing ('not-found').
 */
export async function openInside(root: string, urlPath: string): Promise<ConfinedOpen> {
  let decoded: string
  try {
    decoded = decodeURIComponent(urlPath)
  } catch {
    return { ok: false, refusal: 'not-found', reason: 'not valid percent-encoding' }
  }
  if (decoded.includes('\0')) return { ok: false, refusal: 'not-found', reason: 'the path holds a NUL' }
  let rootReal: string
  try {
    rootReal = await resolveRoot(root)
  } catch (err) {
    return { ok: false, refusal: 'not-found', reason: `the root is missing or not a directory: ${messageOf(err)}` }
  }
  return openConfined(rootReal, decoded)
}
