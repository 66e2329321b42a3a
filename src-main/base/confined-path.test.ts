// Confinement on real paths: symlinks, directories and special files in a real temp directory,
// opened by name (TFTP) and from URL paths (HTTP), and a writer in another process swapping a
// directory for a symlink out of the root while files are opened.
import { execFileSync, spawn } from 'node:child_process'
import { promises as fs } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { isInsideRoot, openConfined, openInside, resolveRoot } from './confined-path'

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

async function openedFrom(urlPath: string, at = root): Promise<string> {
  const result = await openInside(at, urlPath)
  if (!result.ok) return result.refusal
  const text = await result.handle.readFile('utf8')
  await result.handle.close()
  return text
}

describe('URL path open inside a root', () => {
  it('decodes the URL path once and opens the file inside it names', async () => {
    expect(await openedFrom('/sub/boot%2Ecfg')).toBe('config')
    expect(await openedFrom('/inside-link')).toBe('config')
    expect(await openedFrom('/sub%252Fboot.cfg')).toBe('not-found')
  })

  it.each([
    ['a symlink escape', '/abs-escape', 'outside-root'],
    ['dot-dot out of the root', '/../secret.txt', 'outside-root'],
    ['encoded dot-dot out of the root', '/%2E%2E/secret.txt', 'outside-root'],
    ['the root itself', '/', 'not-a-file'],
    ['a directory', '/sub', 'not-a-file'],
    ['a FIFO', '/fifo', 'not-a-file'],
    ['a missing file', '/nope.bin', 'not-found'],
    ['invalid percent-encoding', '/%E0%A4%A', 'not-found'],
    ['an encoded NUL', '/sub/boot.cfg%00', 'not-found']
  ])('refuses %s', async (_label, urlPath, refusal) => {
    expect(await openedFrom(urlPath)).toBe(refusal)
  })

  it('opens nothing under a missing root', async () => {
    expect(await openedFrom('/sub/boot.cfg', path.join(base, 'no-such-root'))).toBe('not-found')
  })

  it('never hands out a descriptor outside the root while another process swaps a directory on the path for a symlink out', async () => {
    const race = path.join(base, 'race')
    await fs.mkdir(path.join(race, 'd'), { recursive: true })
    await fs.writeFile(path.join(race, 'd', 'f'), 'INSIDE')
    await fs.symlink(path.join(base, 'outside'), path.join(race, 'd.link'))
    await fs.writeFile(path.join(base, 'outside', 'f'), 'OUTSIDE')
    const swapper = `
      const fs = require('node:fs'); const root = process.argv[1]
      const d = root + '/d', dir = root + '/d.dir', link = root + '/d.link'
      for (let n = 0, end = Date.now() + 20000; n < 5000000 && Date.now() < end; n++) {
        fs.renameSync(d, dir); fs.renameSync(link, d); fs.renameSync(d, link); fs.renameSync(dir, d)
      }`
    const writer = spawn(process.execPath, ['-e', swapper, race], { stdio: 'ignore' })
    const seen = { INSIDE: 0, OUTSIDE: 0, refused: 0 }
    try {
      await new Promise((r) => setTimeout(r, 100))
      for (let i = 0; i < 2000; i++) {
        const got = await openedFrom('/d/f', race)
        if (got === 'INSIDE' || got === 'OUTSIDE') seen[got]++
        else seen.refused++
      }
    } finally {
      writer.kill('SIGKILL')
    }
    expect(seen.INSIDE).toBeGreaterThan(0)
    expect(seen.OUTSIDE).toBe(0)
  })
})
