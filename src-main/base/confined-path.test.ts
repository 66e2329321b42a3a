// Confinement on real paths: symlinks, directories and special files in a real temp directory,
// opened by name (TFTP) and resolved from URL paths (HTTP).
import { execFileSync } from 'node:child_process'
import { promises as fs } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { isInsideRoot, openConfined, resolveInside, resolveRoot } from './confined-path'

let base: string
let root: string

beforeAll(async () => {
  base = await fs.mkdtemp(path.join(os.tmpdir(), 'crowbar-confined-'))
  root = path.join(base, 'root')
  await fs.mkdir(path.join(root, 'sub'), { recursive: true })
  await fs.mkdir(path.join(base, 'outside'))
  await fs.writeFile(path.join(base, 'secret.txt'), 'SECRET')
  await fs.writeFile(path.join(base, 'outside', 'inner.txt'), 'SECRET-INNER')
  await fs.writeFile(path.join(root, 'sub', 'boot.cfg'), 'config')
  await fs.symlink(path.join(base, 'secret.txt'), path.join(root, 'abs-escape'))
  await fs.symlink('../secret.txt', path.join(root, 'rel-escape'))
  await fs.symlink(path.join(base, 'outside'), path.join(root, 'dir-escape'))
  await fs.symlink('sub/boot.cfg', path.join(root, 'inside-link'))
  await fs.symlink('../..', path.join(root, 'sub', 'up-two'))
  await fs.symlink('loop-b', path.join(root, 'loop-a'))
  await fs.symlink('loop-a', path.join(root, 'loop-b'))
  execFileSync('mkfifo', [path.join(root, 'fifo')])
})

afterAll(async () => {
  await fs.rm(base, { recursive: true, force: true })
})

async function refusalFor(relative: string): Promise<string> {
  const result = await openConfined(await resolveRoot(root), relative)
  if (result.ok) {
    await result.handle.close()
    return 'opened'
  }
  return result.refusal
}

describe('confined file open', () => {
  it('opens a regular file inside the root and reports its size', async () => {
    const result = await openConfined(await resolveRoot(root), 'sub/boot.cfg')
    expect(result.ok).toBe(true)
    if (!result.ok) return
    expect(result.size).toBe(6)
    await result.handle.close()
  })

  it('follows a symlink that stays inside the root', async () => {
    expect(await refusalFor('inside-link')).toBe('opened')
  })

  it.each([
    ['a symlink with an absolute target outside', 'abs-escape'],
    ['a symlink with a relative target outside', 'rel-escape'],
    ['a file under a symlinked directory outside', 'dir-escape/inner.txt'],
    ['a file reached through a symlink to the root’s parent', 'sub/up-two/secret.txt']
  ])('refuses %s as outside the root', async (_label, relative) => {
    expect(await refusalFor(relative)).toBe('outside-root')
  })

  it('refuses a symlink loop', async () => {
    expect(await refusalFor('loop-a')).toBe('outside-root')
  })

  it('refuses a directory and a FIFO as not files, without blocking on the FIFO', async () => {
    expect(await refusalFor('sub')).toBe('not-a-file')
    expect(await refusalFor('fifo')).toBe('not-a-file')
  })

  it('reports a missing file, and a path through a file, as not found', async () => {
    expect(await refusalFor('nope.bin')).toBe('not-found')
    expect(await refusalFor('sub/boot.cfg/x')).toBe('not-found')
  })

  it('judges containment by path components, not string prefixes', () => {
    expect(isInsideRoot('/srv/tftp', '/srv/tftp/a')).toBe(true)
    expect(isInsideRoot('/srv/tftp', '/srv/tftp-other/a')).toBe(false)
    expect(isInsideRoot('/srv/tftp', '/srv/tftp')).toBe(false)
    expect(isInsideRoot('/srv/tftp', '/srv')).toBe(false)
    expect(isInsideRoot('/srv/tftp', '/srv/tftp/..foo')).toBe(true)
    expect(isInsideRoot('/', '/etc/passwd')).toBe(true)
  })

  it('refuses a root that is not a directory', async () => {
    await expect(resolveRoot(path.join(root, 'sub', 'boot.cfg'))).rejects.toThrow(/not a directory/)
  })
})

describe('URL path resolution inside a root', () => {
  it('decodes the URL path once and returns the real path of a file inside', async () => {
    const real = await resolveRoot(root)
    expect(await resolveInside(root, '/sub/boot%2Ecfg')).toBe(path.join(real, 'sub', 'boot.cfg'))
    expect(await resolveInside(root, '/inside-link')).toBe(path.join(real, 'sub', 'boot.cfg'))
  })

  it.each([
    ['a symlink escape', '/abs-escape'],
    ['dot-dot out of the root', '/../secret.txt'],
    ['encoded dot-dot out of the root', '/%2E%2E/secret.txt'],
    ['the root itself', '/'],
    ['a directory', '/sub'],
    ['a FIFO', '/fifo'],
    ['a missing file', '/nope.bin'],
    ['invalid percent-encoding', '/%E0%A4%A'],
    ['an encoded NUL', '/sub/boot.cfg%00']
  ])('resolves %s to nothing', async (_label, urlPath) => {
    expect(await resolveInside(root, urlPath)).toBeNull()
  })

  it('resolves nothing under a missing root', async () => {
    expect(await resolveInside(path.join(base, 'no-such-root'), '/sub/boot.cfg')).toBeNull()
  })
})
