// Where the desktop app keeps its data (Electron's userData for this product name), so headless
// mode finds the same store by default.
import { homedir } from 'node:os'
import { join } from 'node:path'

export const PRODUCT_NAME = 'Crowbar Desktop'

export function defaultDataDir(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): string {
  if (platform === 'darwin') return join(homedir(), 'Library', 'Application Support', PRODUCT_NAME)
  if (platform === 'win32') return join(env.APPDATA ?? join(homedir(), 'AppData', 'Roaming'), PRODUCT_NAME)
  return join(env.XDG_CONFIG_HOME || join(homedir(), '.config'), PRODUCT_NAME)
}
