// Types for the part of the untyped `tftp` package (0.1.2) that the tests use: its client, as an
// independent windowsize-capable peer. The application does not import the package.
declare module 'tftp' {
  import type { Readable } from 'node:stream'

  export interface TftpClientOptions {
    host?: string
    port?: number
    blockSize?: number
    windowSize?: number
    retries?: number
    /** Milliseconds (the package also sends this value as the timeout option). */
    timeout?: number
  }

  export interface TftpGetStats {
    blockSize: number
    windowSize: number
    size: number | null
  }

  export interface TftpGetStream extends Readable {
    on(event: 'stats', listener: (stats: TftpGetStats) => void): this
    on(event: 'error', listener: (err: Error) => void): this
    on(event: 'abort' | 'close' | 'end', listener: () => void): this
    on(event: 'data', listener: (chunk: Buffer) => void): this
    abort(error?: string): void
  }

  export interface TftpClient {
    createGetStream(remote: string): TftpGetStream
  }

  export function createClient(options?: TftpClientOptions): TftpClient
}
