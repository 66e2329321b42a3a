// Serves the built renderer (and resolveInside serves boot files): files under its directory only (checked on the real path, so neither
// `..` nor a symlink leads out), with index.html for every other page path (client-side routing).
import { createReadStream } from 'node:fs'
import { realpath, stat } from 'node:fs/promises'
import type { ServerResponse } from 'node:http'
import { extname, join, sep } from 'node:path'

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

export async function resolveInside(root: string, pathname: string): Promise<string | null> {
  let decoded: string
  try {
    decoded = decodeURIComponent(pathname)
  } catch {
    return null
  }
  if (decoded.includes('\0')) return null
  try {
    const realRoot = await realpath(root)
    const real = await realpath(join(realRoot, decoded))
    if (real !== realRoot && !real.startsWith(realRoot + sep)) return null
    const info = await stat(real)
    return info.isFile() ? real : null
  } catch {
    return null
  }
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

/** Pipes a file into a response whose head is written; a read error cuts the response. */
export function streamFile(res: ServerResponse, file: string): Promise<void> {
  return new Promise<void>((resolve) => {
    const stream = createReadStream(file)
    stream.on('error', () => {
      res.destroy()
      resolve()
    })
    stream.on('end', resolve)
    stream.pipe(res)
  })
}
