// Where a read transfer's bytes come from: the file as it is (octet) or converted to netascii on
// the way out. Each source owns its file handle and reads it a piece at a time, never whole.
import type { FileHandle } from 'node:fs/promises'
import { NetasciiEncoder } from './netascii'

/** RFC 1350's transfer modes this server sends; "mail" is refused before a source exists. */
export type TransferMode = 'octet' | 'netascii'

export interface ReadSource {
  /**
   * Bytes the transfer sends in all, when known before it starts (octet: the file's size); null
   * when only the end of the stream tells (netascii: the conversion adds a byte per CR and LF).
   */
  readonly wireSize: number | null
  /**
   * Fills `out` with the bytes the transfer sends from `position` on, and says how many it wrote:
   * fewer than `out.length` only at the end. A position is never before the previous call's (a
   * transfer only moves on) nor past the end of what the calls so far returned.
   */
  read(out: Buffer, position: number): Promise<number>
  close(): Promise<void>
}

/** The file as it is: block N is bytes (N-1)*blksize onwards, read where it lies. */
export class OctetSource implements ReadSource {
  constructor(
    private readonly file: FileHandle,
    readonly wireSize: number
  ) {}

  async read(out: Buffer, position: number): Promise<number> {
    let filled = 0
    while (filled < out.length) {
      const { bytesRead } = await this.file.read(out, filled, out.length - filled, position + filled)
      if (bytesRead === 0) break
      filled += bytesRead
    }
    return filled
  }

  close(): Promise<void> {
    return this.file.close()
  }
}

/**
 * File bytes read from one FileHandle.read at a time: output is at most twice this, so a 256 KiB
 * chunk of the transfer takes a few reads, and a transfer holds only this much of the file.
 */
const NETASCII_READ_BYTES = 64 * 1024

/**
 * The file converted to netascii as it is read, front to back. Wire offsets do not map to file
 * offsets without converting everything before them, so reads go forward only; a chunk that
 * starts inside the previous one (the client acknowledged part of a window) gets that overlap
 * from the previous chunk, which the transfer keeps unchanged while it may still be resent.
 */
export class NetasciiSource implements ReadSource {
  readonly wireSize = null
  private readonly encoder = new NetasciiEncoder()
  private readonly input: Buffer
  /** Unconverted bytes of `input`: [inStart, inEnd). */
  private inStart = 0
  private inEnd = 0
  /** Next file offset to read. */
  private fileOffset = 0
  /** Wire offset of the next byte the encoder produces. */
  private wireOffset = 0
  /** What the last read returned, which ends at `wireOffset`. */
  private previous: { readonly position: number; readonly bytes: Buffer } = { position: 0, bytes: Buffer.alloc(0) }

  /**
   * @param fileSize the size when the file was opened: no more than this is read, as in octet
   *   mode, and a file that ends sooner has shrunk during the transfer.
   */
  constructor(
    private readonly file: FileHandle,
    private readonly fileSize: number,
    readBytes = NETASCII_READ_BYTES
  ) {
    this.input = Buffer.allocUnsafe(Math.max(1, Math.min(readBytes, fileSize)))
  }

  async read(out: Buffer, position: number): Promise<number> {
    const prev = this.previous
    if (position < prev.position || position > this.wireOffset) {
      throw new Error(`netascii read at ${position} outside ${prev.position}..${this.wireOffset}`)
    }
    let filled = prev.bytes.copy(out, 0, position - prev.position)
    // Only when `out` takes all the overlap does the stream go on from where the last read ended.
    if (position + filled < this.wireOffset) return filled
    while (filled < out.length) {
      if (this.inStart === this.inEnd && !this.encoder.hasPending) {
        if (this.fileOffset >= this.fileSize) break
        const want = Math.min(this.input.length, this.fileSize - this.fileOffset)
        const { bytesRead } = await this.file.read(this.input, 0, want, this.fileOffset)
        if (bytesRead === 0) throw new Error('file shrank during transfer')
        this.fileOffset += bytesRead
        this.inStart = 0
        this.inEnd = bytesRead
      }
      const step = this.encoder.encode(this.input.subarray(this.inStart, this.inEnd), out.subarray(filled))
      this.inStart += step.consumed
      this.wireOffset += step.written
      filled += step.written
    }
    this.previous = { position, bytes: out.subarray(0, filled) }
    return filled
  }

  close(): Promise<void> {
    return this.file.close()
  }
}
