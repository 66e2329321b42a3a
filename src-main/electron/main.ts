// Electron entry: starts the app on the user's data directory, wires the IPC transport, and opens
// one window created secure from the start (isolated, sandboxed, no Node, CSP, contract-only preload).
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { app, BrowserWindow, ipcMain, session, shell } from 'electron'
import { startApp, type CrowbarApp } from '../app'
import { CONTENT_SECURITY_POLICY } from '../api/http-transport'
import { messageOf } from '../base/error-message'
import { createRootLogger } from '../base/log'
import { systemNameservers } from '../services/dns/resolv-conf'
import { IpcTransport } from './ipc-transport'

const logger = createRootLogger()
const rendererIndex = join(__dirname, '../renderer/index.html')
const devServerUrl = process.env.ELECTRON_RENDERER_URL

function isTrustedSender(url: string): boolean {
  if (devServerUrl && url.startsWith(devServerUrl)) return true
  return url.startsWith(pathToFileURL(join(__dirname, '../renderer')).href)
}

function createWindow(transport: IpcTransport): BrowserWindow {
  const win = new BrowserWindow({
    width: 1280,
    height: 800,
    title: 'Crowbar Desktop',
    webPreferences: {
      preload: join(__dirname, '../preload/preload.cjs'),
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      webSecurity: true
    }
  })
  transport.attach(win.webContents)
  // Links open in the user's browser; the window never navigates away from the app.
  win.webContents.setWindowOpenHandler(({ url }) => {
    if (/^https?:/.test(url)) void shell.openExternal(url)
    return { action: 'deny' }
  })
  win.webContents.on('will-navigate', (event, url) => {
    if (!isTrustedSender(url)) event.preventDefault()
  })
  if (devServerUrl) void win.loadURL(devServerUrl)
  else void win.loadFile(rendererIndex)
  return win
}

async function run(): Promise<void> {
  // Whatever this process creates in the data directory is its user's alone (DESIGN.md §10).
  process.umask(0o077)
  await app.whenReady()
  session.defaultSession.webRequest.onHeadersReceived((details, callback) => {
    callback({ responseHeaders: { ...details.responseHeaders, 'Content-Security-Policy': [CONTENT_SECURITY_POLICY] } })
  })
  let crowbar: CrowbarApp
  try {
    // `--wizard` (as for `crowbar serve`): the first start waits for the install wizard in the window.
    const wizard = process.argv.includes('--wizard')
    crowbar = await startApp({
      dataDir: app.getPath('userData'),
      databaseUrl: process.env.CROWBAR_DATABASE_URL,
      logger,
      wizard,
      // The interface chosen in the wizard gets DNS forwarding to this machine's resolvers.
      ...(wizard ? { boot: { proxyDhcp: false, dnsForwarders: systemNameservers() } } : {})
    })
  } catch (err) {
    logger.fatal({ err }, 'cannot start')
    const { dialog } = await import('electron')
    dialog.showErrorBox('Crowbar Desktop cannot start', messageOf(err))
    app.exit(1)
    return
  }
  const transport = new IpcTransport({
    ipcMain,
    handlers: crowbar.handlers,
    feed: crowbar.feed,
    isTrustedSender,
    onInternalError: (err, operation) => logger.error({ err, operation }, 'operation failed')
  })
  transport.start()
  createWindow(transport)
  app.on('activate', () => {
    if (BrowserWindow.getAllWindows().length === 0) createWindow(transport)
  })
  app.on('window-all-closed', () => app.quit())
  app.on('will-quit', () => {
    transport.stop()
    void crowbar.stop()
  })
}

void run()
