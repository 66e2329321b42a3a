// Serves the built renderer: files under its directory only (checked on the real path, so neither
// `..` nor a symlink leads out), with index.html for every other page path (client-side routing).
import type { ServerResponse } from 'node:http'
import { extname } from 'node:path'
import { resolveInside } from '../base/confined-path'
import { streamFile } from '../services/http/stream-file'

const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2'
}

export async function serveStatic(res: ServerResponse, root: string | undefined, pathname: string, headOnly: boolean): Promise<void> {
  if (!root) {
    res.writeHead(503, { 'Content-Type': 'text/plain; charset=utf-8' })
    res.end('The renderer is not built. Run `npm run build`, then start again.\n')
    return
  }
  const file = (await resolveInside(root, pathname)) ?? (extname(pathname) === '' ? await resolveInside(root, '/index.html') : null)
  if (!file) {
    res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' })
    res.end('not found\n')
    return
  }
  res.writeHead(200, {
    'Content-Type': MIME[extname(file)] ?? 'application/octet-stream',
    'Cache-Control': file.endsWith('.html') ? 'no-cache' : 'public, max-age=3600'
  })
  if (headOnly) {
    res.end()
    return
  }
  await streamFile(res, file)
}
