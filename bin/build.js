// Builds main, preload and renderer with electron-vite (about a second); exits on failure.
import { spawnSync } from 'node:child_process'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..')

export function build() {
  const built = spawnSync(process.execPath, [join(ROOT, 'node_modules', 'electron-vite', 'bin', 'electron-vite.js'), 'build'], {
    cwd: ROOT,
    // Build chatter goes to stderr: stdout carries only the command's own lines ("listening on ...").
    stdio: ['ignore', 2, 2]
  })
  if (built.status !== 0) {
    process.stderr.write('crowbar: the build failed (see above); run `npm ci` first if node_modules is missing\n')
    process.exit(1)
  }
}
