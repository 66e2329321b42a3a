#!/usr/bin/env node
// The `crowbar` command: runs the built CLI, building it first on a fresh checkout.
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { build, ROOT } from './build.js'

const cli = join(ROOT, 'out', 'main', 'cli.js')

if (!existsSync(cli) || process.env.CROWBAR_REBUILD === '1') {
  process.stderr.write('crowbar: building the app (first run)...\n')
  build()
}

// The built entry runs the command itself (argv is passed through unchanged).
await import(pathToFileURL(cli).href)
