// Sends a file already opened (and judged) by openInside as the body of an HTTP response, for both
// HTTP servers (the operator's renderer and the rack's boot files): the bytes come from the held
// descriptor, never from the name opened again.
import type { FileHandle } from 'node:fs/promises'
import type { ServerResponse } from 'node:http'
import { pipeline } from 'node:stream/promises'

/**
 * Pipes `size` bytes of `handle` into a response whose head (with that Content-Length) is written,
 * and closes the handle whatever happens. A failed read, a client gone, or a file that shrank
 * meanwhile cuts the response: the client must not take a short body for a whole one.
 */
export async function streamHandle(res: ServerResponse, handle: FileHandle, size: number): Promise<void> {
  if (size === 0) {
    await handle.close().catch(() => undefined)
    res.end()
    return
  }
  // Never more than the Content-Length promised, should the file grow meanwhile.
  const stream = handle.createReadStream({ start: 0, end: size - 1, autoClose: true })
  try {
    await pipeline(stream, res)
    if (stream.bytesRead < size) res.destroy()
  } catch {
    res.destroy()
  } finally {
    if (!stream.closed) stream.destroy()
  }
}
