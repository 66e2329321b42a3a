// netascii (RFC 764's NVT ASCII, as RFC 1350 uses it) for files sent from a Unix host: every LF
// goes on the wire as CR LF and every CR as CR NUL; every other byte, NUL and 8-bit ones included,
// goes as it is. Pure and streaming: no I/O, state carried from one call to the next.
//
// Each byte maps on its own, with no look-ahead: a CR LF pair in the file is a CR followed by a
// newline on a Unix host, so it goes as CR NUL CR LF. That keeps the mapping invertible, which is
// what makes a netascii read arrive byte-identical on a Unix client (tftp-hpa turns CR NUL back
// into CR and CR LF into LF); tftp-hpa's and the BSD servers' conversion does the same.

const NUL = 0x00
const LF = 0x0a
const CR = 0x0d

/** How many input bytes were taken and output bytes written by one `encode` call. */
export interface EncodeStep {
  readonly consumed: number
  readonly written: number
}

export class NetasciiEncoder {
  /**
   * The second byte of a CR LF or CR NUL whose CR filled the previous output: it is written
   * before anything else. This is the only state; a CR at the end of an input chunk needs none,
   * since what a CR becomes does not depend on the byte after it.
   */
  private pending = -1

  /** True while the encoder still holds an output byte that has not been written. */
  get hasPending(): boolean {
    return this.pending >= 0
  }

  /**
   * Converts bytes of `input` into `out` until the input is used up or the output is full.
   * The caller passes the unconsumed rest of the input, and a fresh output, to the next call.
   */
  encode(input: Uint8Array, out: Uint8Array): EncodeStep {
    let i = 0
    let o = 0
    const outLength = out.length
    if (this.pending >= 0 && o < outLength) {
      out[o++] = this.pending
      this.pending = -1
    }
    // Each pass consumes one input byte, so the loop is bounded by the input's length.
    while (i < input.length && o < outLength) {
      const b = input[i++] as number
      if (b === LF || b === CR) {
        out[o++] = CR
        const second = b === LF ? LF : NUL
        if (o < outLength) out[o++] = second
        else this.pending = second
      } else {
        out[o++] = b
      }
    }
    return { consumed: i, written: o }
  }
}
