// Serves the built renderer: files under its directory only (judged on the descriptor opened, so
// neither `..` nor a symlink, even one swapped in while opening, leads out), with index.html for
// every other page path (client-side routing).
import type { ServerResponse } from 'node:http'
import { extname } from 'node:path'
import { openInside } from '../base/confined-path'
import { streamHandle } from '../services/http/stream-file'

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
  let opened = await openInside(root, pathname)
  if (!opened.ok && extname(pathname) === '') opened = await openInside(root, '/index.html')
  if (!opened.ok) {
    res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' })
    res.end('not found\n')
    return
  }
  const file = opened.realPath
  res.writeHead(200, {
    'Content-Type': MIME[extname(file)] ?? 'application/octet-stream',
    'Content-Length': opened.size,
    'Cache-Control': file.endsWith('.html') ? 'no-cache' : 'public, max-age=3600'
  })
  if (headOnly) {
    await opened.handle.close().catch(() => undefined)
    res.end()
    return
  }
  await streamHandle(res, opened.handle, opened.size)
}
