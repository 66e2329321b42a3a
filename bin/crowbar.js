#!/usr/bin/env node
// The `crowbar` command: runs the built CLI, building it first on a fresh checkout.
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const cli = join(root, 'out', 'main', 'cli.js')

if (!existsSync(cli) || process.env.CROWBAR_REBUILD === '1') {
  process.stderr.write('crowbar: building the app (first run)...\n')
  const built = spawnSync(process.execPath, [join(root, 'node_modules', 'electron-vite', 'bin', 'electron-vite.js'), 'build'], {
    cwd: root,
    stdio: ['ignore', 'inherit', 'inherit']
  })
  if (built.status !== 0) {
    process.stderr.write('crowbar: the build failed (see above); run `npm ci` first if node_modules is missing\n')
    process.exit(1)
  }
}

// The built entry runs the command itself (argv is passed through unchanged).
await import(pathToFileURL(cli).href)
