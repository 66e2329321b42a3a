// One HTTPS request to a BMC whose certificate is pinned like an SSH host key: BMCs ship
// self-signed certificates, so no CA can vouch for them; we remember the SHA-256 fingerprint seen
// on first contact and refuse a different one later. The TLS connection is ours: the fingerprint is
// checked before a byte of the request (a password, a token) is written. Bounded in time and size.
import { createHash } from 'node:crypto'
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http'
import { isIP } from 'node:net'
import { connect as tlsConnect, type TLSSocket } from 'node:tls'
import { errnoCodeOf, messageOf } from '../../base/error-message'
import { BmcError, secondsText } from './bmc-power'

export interface PinnedRequest {
  readonly host: string
  readonly port: number
  readonly method: 'GET' | 'POST' | 'PATCH' | 'DELETE'
  /** An absolute path on the BMC: `/redfish/v1/Systems`. */
  readonly path: string
  readonly headers?: Readonly<Record<string, string>>
  readonly body?: unknown
  /** The fingerprint the certificate must have (`AB:CD:...`), or undefined to accept the first seen. */
  readonly pin: string | undefined
  /** Epoch ms by which the answer must be in. */
  readonly deadline: number
  /** The whole operation's bound, as messages state it. */
  readonly boundMs: number
  readonly maxBodyBytes: number
}

export interface PinnedResponse {
  readonly status: number
  readonly headers: IncomingHttpHeaders
  readonly body: Buffer
  /** The fingerprint of the certificate the BMC presented. */
  readonly fingerprint: string
}

/** SHA-256 of a DER certificate, as `openssl x509 -noout -fingerprint -sha256` prints it. */
export function certificateFingerprint(der: Buffer): string {
  return createHash('sha256').update(der).digest('hex').toUpperCase().match(/../g)!.join(':')
}

/** `ab:cd:..`, `ABCD..`, `sha256:AB:CD..` all name the same fingerprint. */
export function normalizeFingerprint(text: string): string {
  const hex = text.replace(/^sha-?256:/i, '').replace(/[^0-9a-f]/gi, '').toUpperCase()
  return hex.match(/../g)?.join(':') ?? ''
}

export function pinnedRequest(r: PinnedRequest): Promise<PinnedResponse> {
  const bmc = `BMC ${r.host}`
  const timeoutError = (): BmcError => new BmcError('timeout', `${bmc} did not answer within ${secondsText(r.boundMs)}`)
  return new Promise<PinnedResponse>((resolve, reject) => {
    let settled = false
    let socket: TLSSocket | undefined
    const finish = (err: BmcError | undefined, value?: PinnedResponse): void => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      if (err) {
        socket?.destroy()
        reject(err)
      } else resolve(value!)
    }
    const remaining = r.deadline - Date.now()
    const timer = setTimeout(() => finish(timeoutError()), Math.max(0, remaining))
    if (remaining <= 0) return
    try {
      socket = tlsConnect({
        host: r.host,
        port: r.port,
        // SNI must not carry an IP address (RFC 6066); a host name is sent as usual.
        ...(isIP(r.host) ? {} : { servername: r.host }),
        // The CA chain cannot vouch for a BMC's self-signed certificate; the pin does, below.
        rejectUnauthorized: false,
        minVersion: 'TLSv1.2'
      })
    } catch (err) {
      finish(socketError(err, r))
      return
    }
    const tls = socket
    tls.on('error', (err) => finish(socketError(err, r)))
    tls.once('secureConnect', () => {
      const cert = tls.getPeerCertificate()
      if (!cert || !cert.raw) {
        finish(new BmcError('protocol', `${bmc} presented no TLS certificate`))
        return
      }
      const fingerprint = certificateFingerprint(cert.raw)
      if (r.pin !== undefined && normalizeFingerprint(r.pin) !== fingerprint) {
        finish(
          new BmcError(
            'protocol',
            `the BMC's certificate changed since it was pinned: ${bmc} now presents SHA-256 ${fingerprint}, pinned ${normalizeFingerprint(r.pin)}; ` +
              `if the BMC's certificate was replaced on purpose (new firmware, a reset), clear the pin to accept the new one`
          )
        )
        return
      }
      send(tls, fingerprint)
    })

    const send = (tls: TLSSocket, fingerprint: string): void => {
      const payload = r.body === undefined ? undefined : Buffer.from(JSON.stringify(r.body), 'utf8')
      const req = httpRequest({
        createConnection: () => tls,
        host: r.host,
        port: r.port,
        method: r.method,
        path: r.path,
        headers: {
          accept: 'application/json',
          'odata-version': '4.0',
          ...(payload ? { 'content-type': 'application/json', 'content-length': String(payload.length) } : {}),
          ...r.headers
        }
      })
      req.on('error', (err) => finish(socketError(err, r)))
      req.on('response', (res) => {
        const chunks: Buffer[] = []
        let size = 0
        const declared = Number(res.headers['content-length'])
        if (Number.isFinite(declared) && declared > r.maxBodyBytes) {
          finish(new BmcError('protocol', `${bmc} sent a ${declared}-byte answer to ${r.method} ${r.path}; more than the ${r.maxBodyBytes} bytes a Redfish resource needs`))
          return
        }
        res.on('data', (d: Buffer) => {
          size += d.length
          if (size > r.maxBodyBytes) {
            finish(new BmcError('protocol', `${bmc} sent more than ${r.maxBodyBytes} bytes in answer to ${r.method} ${r.path}`))
            return
          }
          chunks.push(d)
        })
        res.on('error', (err) => finish(socketError(err, r)))
        res.on('end', () => {
          finish(undefined, { status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks), fingerprint })
          tls.destroy()
        })
      })
      req.end(payload)
    }
  })
}

function socketError(err: unknown, r: PinnedRequest): BmcError {
  const bmc = `BMC ${r.host}`
  switch (errnoCodeOf(err)) {
    case 'ECONNREFUSED':
      return new BmcError('refused', `${bmc} refused the connection on TCP port ${r.port}: no Redfish (HTTPS) service listens there`)
    case 'ENETUNREACH':
    case 'EHOSTUNREACH':
    case 'EHOSTDOWN':
      return new BmcError('unreachable', `no route to ${bmc}: check this machine's address on the BMC network and the BMC's cable`)
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return new BmcError('unreachable', `the BMC name ${r.host} does not resolve to an address`)
    case 'ETIMEDOUT':
      return new BmcError('timeout', `${bmc} did not answer within ${secondsText(r.boundMs)}`)
    case 'ECONNRESET':
    case 'EPIPE':
      return new BmcError('protocol', `${bmc} closed the connection during ${r.method} ${r.path}`)
    default:
      return new BmcError('protocol', `${bmc}: ${r.method} ${r.path} failed: ${messageOf(err).slice(0, 200)}`)
  }
}
