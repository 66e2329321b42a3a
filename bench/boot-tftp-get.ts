// For bench:boot: one TFTP fetch with the `tftp` package's client (it negotiates windowsize, which
// curl cannot), run inside the client namespace. Prints one JSON line: bytes, ms, negotiated sizes.
// Usage: boot-tftp-get.ts HOST PORT FILE BLKSIZE WINDOWSIZE [--sha256]
import { createHash } from 'node:crypto'
import { createClient, type TftpGetStats } from 'tftp'
import { messageOf } from '../src-main/base/error-message'

const [host = '', port = '69', file = '', blockSize = '1468', windowSize = '1', flag] = process.argv.slice(2)
const LIMIT_MS = 120_000

function main(): Promise<void> {
  return new Promise((resolve, reject) => {
    const hash = flag === '--sha256' ? createHash('sha256') : undefined
    let bytes = 0
    let stats: TftpGetStats | undefined
    const start = performance.now()
    const timer = setTimeout(() => reject(new Error(`no complete transfer after ${LIMIT_MS} ms`)), LIMIT_MS)
    createClient({ host, port: Number(port), blockSize: Number(blockSize), windowSize: Number(windowSize), retries: 3, timeout: 1000 })
      .createGetStream(file)
      .on('stats', (s: TftpGetStats) => {
        stats = s
      })
      .on('data', (chunk: Buffer) => {
        bytes += chunk.length
        hash?.update(chunk)
      })
      .on('error', (err: Error) => {
        clearTimeout(timer)
        reject(err)
      })
      .on('end', () => {
        const ms = performance.now() - start
        clearTimeout(timer)
        process.stdout.write(
          `${JSON.stringify({ bytes, ms, blockSize: stats?.blockSize ?? null, windowSize: stats?.windowSize ?? null, sha256: hash?.digest('hex') ?? null })}\n`
        )
        resolve()
      })
  })
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`${messageOf(err)}\n`)
    process.exit(1)
  }
)
