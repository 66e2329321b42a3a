// Sends a file as the body of an HTTP response, for both HTTP servers (the operator's renderer and
// the rack's boot files).
import { promises as fs } from 'node:fs'
import type { FileHandle } from 'node:fs/promises'
import type { ServerResponse } from 'node:http'
import { CONFINED_OPEN_FLAGS } from '../../base/confined-path'

/**
 * Pipes a file (a real path from resolveInside) into a response whose head is written; a failed
 * open or read cuts the response. Opened read-only without following a last-component symlink, so
 * a file swapped for one after resolveInside judged it is refused, not sent.
 */
export async function streamFile(res: ServerResponse, file: string): Promise<void> {
  let handle: FileHandle
  try {
    handle = await fs.open(file, CONFINED_OPEN_FLAGS)
  } catch {
    res.destroy()
    return
  }
  await new Promise<void>((resolve) => {
    const stream = handle.createReadStream({ autoClose: true })
    stream.on('error', () => {
      res.destroy()
      resolve()
    })
    stream.on('end', resolve)
    res.on('close', resolve)
    stream.pipe(res)
  })
}
