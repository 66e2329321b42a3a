// Request policy: what each kind of datagram on the listening port gets, without sockets.
import { describe, expect, it } from 'vitest'
import { decideRequest, openRefusalReply } from './request-policy'
import { decodePacket, encodeAck, encodeData, encodeError, encodeOack, encodeRequest } from './tftp-codec'

const decide = (buf: Buffer) => decideRequest(decodePacket(buf))

describe('tftp request policy', () => {
  it('serves an octet read request by its relative name, keeping the options for negotiation', () => {
    expect(decide(encodeRequest('rrq', '/pxelinux.0', 'octet', [{ name: 'blksize', value: '1468' }]))).toEqual({
      action: 'serve',
      filename: '/pxelinux.0',
      relative: 'pxelinux.0',
      mode: 'octet',
      options: [{ name: 'blksize', value: '1468' }]
    })
  })

  it('serves a netascii read request, whatever the case of the mode name', () => {
    for (const mode of ['netascii', 'NETASCII', 'NetAscii']) {
      expect(decide(encodeRequest('rrq', 'boot.cfg', mode))).toMatchObject({ action: 'serve', relative: 'boot.cfg', mode: 'netascii' })
    }
    expect(decide(encodeRequest('rrq', 'boot.cfg', 'Octet'))).toMatchObject({ action: 'serve', mode: 'octet' })
  })

  it('refuses every write request with error 2, whatever its name', () => {
    for (const name of ['upload.bin', '../x', 'pxelinux.0']) {
      expect(decide(encodeRequest('wrq', name, 'octet'))).toMatchObject({ action: 'refuse', code: 2, message: 'Access violation' })
    }
  })

  it('refuses a traversal with error 2 and tells the client nothing about why', () => {
    expect(decide(encodeRequest('rrq', 'a/../../secret', 'octet'))).toEqual({
      action: 'refuse',
      kind: 'unsafe name',
      code: 2,
      message: 'Access violation',
      reason: "'..' segment",
      filename: 'a/../../secret'
    })
  })

  it('refuses a mail read with error 4 and a plain message, and a netascii write as any write', () => {
    expect(decide(encodeRequest('rrq', 'f', 'MAIL'))).toEqual({
      action: 'refuse',
      kind: 'mail mode',
      code: 4,
      message: 'mail mode is not served; use octet or netascii',
      reason: 'mail mode refused',
      filename: 'f'
    })
    expect(decide(encodeRequest('wrq', 'f', 'netascii'))).toMatchObject({ action: 'refuse', kind: 'write request', code: 2 })
  })

  it('answers malformed datagrams and DATA, ACK or OACK on the request port with error 4', () => {
    for (const buf of [Buffer.from([1]), encodeData(1, Buffer.alloc(3)), encodeAck(0), encodeOack([])]) {
      expect(decide(buf)).toMatchObject({ action: 'refuse', code: 4 })
    }
  })

  it('stays silent on an ERROR, so two servers cannot bounce errors forever', () => {
    expect(decide(encodeError(5, 'Unknown transfer ID'))).toEqual({ action: 'ignore' })
  })

  it('maps open failures: missing to error 1, escapes, non-files and permissions to error 2, I/O to error 0', () => {
    expect(openRefusalReply('not-found')).toEqual({ code: 1, message: 'File not found' })
    expect(openRefusalReply('outside-root')).toEqual({ code: 2, message: 'Access violation' })
    expect(openRefusalReply('not-a-file')).toEqual({ code: 2, message: 'Access violation' })
    expect(openRefusalReply('denied')).toEqual({ code: 2, message: 'Access violation' })
    expect(openRefusalReply('io')).toEqual({ code: 0, message: 'I/O error' })
  })
})
