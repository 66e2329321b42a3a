// The real Electron shell: the window opens on the app, lists the system deployment over IPC, and
// the page sees only the preload's contract bridge (context isolation and sandbox, no Node).
// Skipped where the Electron binary was never downloaded (offline machines).
import { existsSync, readFileSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { _electron as electron, expect, test } from '@playwright/test'

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..')
const ELECTRON_DIR = join(ROOT, 'node_modules', 'electron')

/** Where the electron package put its binary, read with fs only: requiring the package downloads it. */
function electronBinary(): string | undefined {
  const pathFile = join(ELECTRON_DIR, 'path.txt')
  if (!existsSync(pathFile)) return undefined
  const relative = readFileSync(pathFile, 'utf8').trim()
  if (relative === '') return undefined
  const binary = join(ELECTRON_DIR, 'dist', relative)
  return existsSync(binary) ? binary : undefined
}

const binary = electronBinary()
const binaryExists = binary !== undefined
const SKIP_REASON =
  'Electron binary not installed (offline machine): run `npx install-electron` where the network allows, then this test runs'

// Said on the console too: the list reporter shows a skip as a bare dash.
if (!binaryExists) process.stderr.write(`electron.e2e.ts: SKIPPED: ${SKIP_REASON}\n`)
test.skip(!binaryExists, SKIP_REASON)

test('opens the Crowbar Desktop window with the system deployment and only the contract bridge', async () => {
  if (binary === undefined) return // unreachable: skipped above; narrows the type
  const userDataDir = await mkdtemp(join(tmpdir(), 'crowbar-e2e-electron-'))
  // Electron's own renderer dev server would replace the built renderer: never inherit it.
  const env = Object.fromEntries(
    Object.entries(process.env).filter((entry): entry is [string, string] => entry[1] !== undefined && entry[0] !== 'ELECTRON_RENDERER_URL')
  )
  const app = await electron.launch({
    executablePath: binary,
    args: [join(ROOT, 'out', 'main', 'index.js'), `--user-data-dir=${userDataDir}`],
    cwd: ROOT,
    env
  })
  try {
    const page = await app.firstWindow()
    await expect(page).toHaveTitle('Crowbar Desktop')
    expect(await app.evaluate(({ BrowserWindow }) => BrowserWindow.getAllWindows()[0]?.getTitle())).toBe('Crowbar Desktop')

    await expect(page.getByTestId('deployments').getByRole('button', { name: /^system\b/ })).toBeVisible()

    const globals = await page.evaluate(() => {
      const w = globalThis as unknown as Record<string, unknown>
      return { crowbar: typeof w.crowbar, require: typeof w.require, process: typeof w.process }
    })
    expect(globals).toEqual({ crowbar: 'object', require: 'undefined', process: 'undefined' })
    expect(await app.evaluate(({ app: electronApp }) => electronApp.getPath('userData'))).toBe(userDataDir)
  } finally {
    await app.close()
    await rm(userDataDir, { recursive: true, force: true })
  }
})
