// Who gets what: turns a datagram on the listening port into "serve this name", "refuse with this
// TFTP error" or "stay silent", and a failed open into the error the client sees. Pure.
import type { ConfinedRefusal } from '../../base/confined-path'
import type { TransferMode } from './read-source'
import { checkRequestPath } from './request-path'
import { TFTP_ERROR, type DecodeResult, type TftpOption } from './tftp-codec'

/** Why a request was refused, in the words the log's summaries count it under. */
export type RefusalKind =
  | 'malformed'
  | 'write request'
  | 'not a request'
  | 'mail mode'
  | 'unsafe name'
  | 'client at its cap'
  | 'server full'
  | 'not found'
  | 'I/O error'
  | 'outside the root'
  | 'not a file'
  | 'access denied'

export type RequestDecision =
  | {
      readonly action: 'serve'
      readonly filename: string
      readonly relative: string
      readonly mode: TransferMode
      readonly options: readonly TftpOption[]
    }
  | {
      readonly action: 'refuse'
      readonly kind: RefusalKind
      readonly code: number
      /** What the client is told: the RFC text, never where a path led. */
      readonly message: string
      /** What the log says. */
      readonly reason: string
      readonly filename?: string
    }
  | { readonly action: 'ignore' }

const refuse = (kind: RefusalKind, code: number, message: string, reason: string, filename?: string): RequestDecision => ({
  action: 'refuse',
  kind,
  code,
  message,
  reason,
  ...(filename === undefined ? {} : { filename })
})

export function decideRequest(decoded: DecodeResult): RequestDecision {
  if (!decoded.ok) return refuse('malformed', TFTP_ERROR.illegalOperation, 'Illegal TFTP operation', `malformed request: ${decoded.reason}`)
  const packet = decoded.packet
  switch (packet.op) {
    case 'rrq':
      break
    case 'wrq':
      return refuse('write request', TFTP_ERROR.accessViolation, 'Access violation', 'write refused: the server is read-only', packet.filename)
    case 'error':
      // Never answer an ERROR: two servers would bounce errors between them forever.
      return { action: 'ignore' }
    default:
      return refuse('not a request', TFTP_ERROR.illegalOperation, 'Illegal TFTP operation', `${packet.op.toUpperCase()} sent to the request port`)
  }
  // The decoder lower-cases the mode (RFC 1350: any mix of cases), so "NETASCII" is netascii.
  const mode = packet.mode
  if (mode !== 'octet' && mode !== 'netascii') {
    // RFC 1350's mail mode "must begin with a WRQ", so a mail read is an illegal operation.
    return refuse('mail mode', TFTP_ERROR.illegalOperation, 'mail mode is not served; use octet or netascii', `${mode} mode refused`, packet.filename)
  }
  const verdict = checkRequestPath(packet.filename)
  if (!verdict.ok) return refuse('unsafe name', TFTP_ERROR.accessViolation, 'Access violation', verdict.reason, packet.filename)
  return { action: 'serve', filename: packet.filename, relative: verdict.relative, mode, options: packet.options }
}

/** The TFTP error for a file that could not be opened inside the root. */
export function openRefusalReply(refusal: ConfinedRefusal): { readonly code: number; readonly message: string } {
  switch (refusal) {
    case 'not-found':
      return { code: TFTP_ERROR.fileNotFound, message: 'File not found' }
    case 'io':
      return { code: TFTP_ERROR.notDefined, message: 'I/O error' }
    case 'outside-root':
    case 'not-a-file':
    case 'denied':
      return { code: TFTP_ERROR.accessViolation, message: 'Access violation' }
  }
}
