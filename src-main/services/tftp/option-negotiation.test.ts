// Option negotiation for read transfers, without sockets.
import { describe, expect, it } from 'vitest'
import { negotiateReadOptions } from './option-negotiation'

const limits = { maxBlockSize: 1468, maxWindowSize: 64, maxTimeoutSeconds: 5 }
const opts = (...pairs: [string, string][]) => pairs.map(([name, value]) => ({ name, value }))

describe('tftp option negotiation', () => {
  it('grants blksize, answers tsize=0 with the real size, echoes timeout and grants windowsize, in request order', () => {
    const n = negotiateReadOptions(opts(['blksize', '1468'], ['tsize', '0'], ['timeout', '3'], ['windowsize', '8']), 5_242_880, limits)
    expect(n).toEqual({
      blockSize: 1468,
      windowSize: 8,
      timeoutMs: 3000,
      oack: opts(['blksize', '1468'], ['tsize', '5242880'], ['timeout', '3'], ['windowsize', '8'])
    })
  })

  it('lowers blksize and windowsize to the server limits', () => {
    const n = negotiateReadOptions(opts(['blksize', '65464'], ['windowsize', '65535']), 10, limits)
    expect(n.blockSize).toBe(1468)
    expect(n.windowSize).toBe(64)
    expect(n.oack).toEqual(opts(['blksize', '1468'], ['windowsize', '64']))
  })

  it('without options keeps RFC 1350 defaults and sends no OACK', () => {
    expect(negotiateReadOptions([], 100, limits)).toEqual({ blockSize: 512, windowSize: 1, timeoutMs: null, oack: [] })
  })

  it('leaves out options with values outside their RFC range or not plain decimal', () => {
    const n = negotiateReadOptions(
      opts(['blksize', '7'], ['timeout', '0'], ['timeout', '256'], ['windowsize', '0'], ['tsize', '-1']),
      100,
      limits
    )
    expect(n).toEqual({ blockSize: 512, windowSize: 1, timeoutMs: null, oack: [] })
    for (const bad of ['0x10', '1e3', ' 8', '+8', '8.0', '', '99999999999']) {
      expect(negotiateReadOptions(opts(['blksize', bad]), 100, limits).oack).toEqual([])
    }
  })

  it('leaves out a timeout longer than the server honours (255 s), so the server keeps its own interval', () => {
    expect(negotiateReadOptions(opts(['timeout', '255'], ['blksize', '1024']), 100, limits)).toEqual({
      blockSize: 1024,
      windowSize: 1,
      timeoutMs: null,
      oack: opts(['blksize', '1024'])
    })
    expect(negotiateReadOptions(opts(['timeout', '5']), 100, limits).timeoutMs).toBe(5000)
    expect(negotiateReadOptions(opts(['timeout', '6']), 100, limits).oack).toEqual([])
  })

  it('ignores a timeout given in milliseconds, as the tftp package client sends it', () => {
    expect(negotiateReadOptions(opts(['timeout', '3000']), 100, limits).timeoutMs).toBeNull()
  })

  it('ignores unknown options such as rollover and multicast', () => {
    expect(negotiateReadOptions(opts(['rollover', '0'], ['multicast', ''], ['blksize', '1024']), 100, limits).oack).toEqual(
      opts(['blksize', '1024'])
    )
  })

  it('keeps the first value of a repeated option, so the OACK names it once', () => {
    expect(negotiateReadOptions(opts(['blksize', '1024'], ['blksize', '512']), 100, limits).oack).toEqual(opts(['blksize', '1024']))
  })

  it('leaves tsize out for an empty file, which curl would take for a broken OACK', () => {
    expect(negotiateReadOptions(opts(['tsize', '0'], ['blksize', '512']), 0, limits).oack).toEqual(opts(['blksize', '512']))
  })

  it('leaves tsize out when the size on the wire is not known before the transfer (netascii)', () => {
    expect(negotiateReadOptions(opts(['tsize', '0'], ['blksize', '1024'], ['windowsize', '4']), null, limits)).toEqual({
      blockSize: 1024,
      windowSize: 4,
      timeoutMs: null,
      oack: opts(['blksize', '1024'], ['windowsize', '4'])
    })
  })
})
