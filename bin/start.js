#!/usr/bin/env node
// `npm start`: the desktop app where Electron's binary is installed; otherwise headless mode, said
// plainly, with the URL to open. Never triggers Electron's download (it would hang offline).
import { spawn } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { build, ROOT as root } from './build.js'

const args = process.argv.slice(2)

function electronBinary() {
  const pathFile = join(root, 'node_modules', 'electron', 'path.txt')
  if (!existsSync(pathFile)) return null
  const binary = join(root, 'node_modules', 'electron', 'dist', readFileSync(pathFile, 'utf8').trim())
  return existsSync(binary) ? binary : null
}

const binary = electronBinary()
build()
if (binary) {
  const child = spawn(binary, [root, ...args], { stdio: 'inherit' })
  child.on('exit', (code) => process.exit(code ?? 1))
} else {
  process.stderr.write(
    'crowbar: the Electron binary is not installed on this machine (npm installs it lazily and this machine cannot download it).\n' +
      'crowbar: starting headless mode instead; open the URL below in a browser. (Where the network allows, `npx install-electron` fetches it.)\n'
  )
  const serveArgs = args.length > 0 ? args : ['--port', '8700']
  const child = spawn(process.execPath, [join(root, 'bin', 'crowbar.js'), 'serve', ...serveArgs], { stdio: 'inherit' })
  for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal))
  child.on('exit', (code) => process.exit(code ?? 1))
}
