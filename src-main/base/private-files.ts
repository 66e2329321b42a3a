// The data directory is its user's alone (DESIGN.md §10): the directory 0700, every file in it 0600,
// and secrets created that way from the first byte. Other local users read nothing and drive nothing.
import { randomBytes } from 'node:crypto'
import { chmod, lstat, mkdir, open, readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { errnoCodeOf } from './error-message'

/** How deep below the data directory permissions are tightened (it holds a few plain folders). */
const MAX_DEPTH = 4

/**
 * Creates `dir` (0700) or tightens it and everything below it: directories 0700, files 0600.
 * Symlinks are left alone (never followed).
 */
export async function makePrivateTree(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 })
  await tighten(dir, 0)
}

async function tighten(path: string, depth: number): Promise<void> {
  const st = await lstat(path)
  if (st.isSymbolicLink()) return
  if (st.isDirectory()) {
    if ((st.mode & 0o777) !== 0o700) await chmod(path, 0o700)
    if (depth >= MAX_DEPTH) return
    for (const name of await readdir(path)) await tighten(join(path, name), depth + 1)
    return
  }
  if (st.isFile() && (st.mode & 0o777) !== 0o600) await chmod(path, 0o600)
}

/** Creates an empty file 0600 if there is none, so what opens it later (SQLite) inherits the mode. */
export async function createPrivateFile(path: string): Promise<void> {
  try {
    const handle = await open(path, 'wx', 0o600)
    await handle.close()
  } catch (err) {
    if (errnoCodeOf(err) !== 'EEXIST') throw err
  }
}

/**
 * The secret in `path`: read when it is there (and well formed), else `bytes` random bytes written
 * as hex, 0600 from creation (`wx`: two starts racing agree on the first one written).
 */
export async function readOrCreateSecret(path: string, bytes = 32): Promise<string> {
  const wellFormed = (text: string): boolean => new RegExp(`^[0-9a-f]{${bytes * 2}}$`).test(text)
  try {
    const existing = (await readFile(path, 'utf8')).trim()
    if (wellFormed(existing)) {
      await chmod(path, 0o600)
      return existing
    }
    throw new Error(`${path} does not hold a ${bytes * 2}-digit hex secret; remove it and start again to get a new one`)
  } catch (err) {
    if (errnoCodeOf(err) !== 'ENOENT') throw err
  }
  const secret = randomBytes(bytes).toString('hex')
  try {
    const handle = await open(path, 'wx', 0o600)
    try {
      await handle.writeFile(`${secret}\n`)
    } finally {
      await handle.close()
    }
    return secret
  } catch (err) {
    if (errnoCodeOf(err) === 'EEXIST') return readOrCreateSecret(path, bytes)
    throw err
  }
}
