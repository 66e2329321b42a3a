// For tests: a FAKE Redfish BMC. Debian has no Redfish emulator, so this serves the few DMTF
// resources power control uses (SessionService sessions, the Systems collection, one
// ComputerSystem with its Reset action and Boot override), shaped as DSP8010's schemas describe
// them, over HTTPS on 127.0.0.1 with a self-signed certificate made by `openssl req -x509`. It
// records what it was asked, so tests can see sessions opened and closed and the PATCH it got.
import { execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { createServer, type Server } from 'node:https'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export interface FakeRedfishCertificate {
  readonly key: string
  readonly cert: string
  /** As `openssl x509 -noout -fingerprint -sha256` prints it (colon-separated upper-case hex). */
  readonly fingerprint: string
}

export interface FakeRedfishOptions {
  /** 0 (any) unless told; a restart on the same port with a new certificate tests pinning. */
  readonly port?: number
  readonly user?: string
  readonly password?: string
  /** Reuse a certificate (a restart that keeps it); a new one is made otherwise. */
  readonly certificate?: FakeRedfishCertificate
  readonly initialPower?: 'On' | 'Off'
}

export interface RecordedRequest {
  readonly method: string
  readonly path: string
  readonly body: unknown
  readonly token: string | undefined
}

export interface FakeRedfishService {
  readonly host: string
  readonly port: number
  readonly user: string
  readonly password: string
  readonly certificate: FakeRedfishCertificate
  readonly requests: readonly RecordedRequest[]
  readonly sessionsCreated: number
  readonly sessionsDeleted: number
  /** Sessions opened and not yet deleted. */
  readonly openSessions: number
  readonly powerState: 'On' | 'Off'
  readonly resets: readonly string[]
  readonly boot: { BootSourceOverrideTarget: string; BootSourceOverrideEnabled: string; BootSourceOverrideMode: string }
  stop(): Promise<void>
}

function openssl(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('openssl', args, { timeout: 30_000 }, (err, stdout, stderr) => (err ? reject(new Error(`openssl ${args[0]} failed: ${String(stderr).trim()}`)) : resolve(String(stdout))))
  })
}

/** A new self-signed certificate for 127.0.0.1, made by openssl in a temp dir (removed after). */
export async function makeSelfSignedCertificate(): Promise<FakeRedfishCertificate> {
  const dir = await mkdtemp(join(tmpdir(), 'crowbar-fake-redfish-'))
  try {
    const key = join(dir, 'key.pem')
    const cert = join(dir, 'cert.pem')
    await openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', '/CN=fake-bmc', '-addext', 'subjectAltName=IP:127.0.0.1'])
    const printed = await openssl(['x509', '-in', cert, '-noout', '-fingerprint', '-sha256'])
    const fingerprint = /Fingerprint=([0-9A-F:]+)/i.exec(printed)?.[1]?.toUpperCase()
    if (!fingerprint) throw new Error(`openssl printed no fingerprint: ${printed}`)
    return { key: await readFile(key, 'utf8'), cert: await readFile(cert, 'utf8'), fingerprint }
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

const SYSTEM_PATH = '/redfish/v1/Systems/437XR1138R2'
const RESET_PATH = `${SYSTEM_PATH}/Actions/ComputerSystem.Reset`
const SESSIONS_PATH = '/redfish/v1/SessionService/Sessions'
const RESET_TYPES = ['On', 'ForceOff', 'GracefulShutdown', 'GracefulRestart', 'ForceRestart', 'PowerCycle', 'Nmi']
const MAX_REQUEST_BYTES = 64 * 1024

function redfishError(res: ServerResponse, status: number, message: string): void {
  send(res, status, { error: { code: 'Base.1.8.GeneralError', message, '@Message.ExtendedInfo': [{ MessageId: 'Base.1.8.GeneralError', Message: message }] } })
}

function send(res: ServerResponse, status: number, body?: unknown, headers: Record<string, string> = {}): void {
  const text = body === undefined ? '' : JSON.stringify(body)
  res.writeHead(status, { 'content-type': 'application/json', 'odata-version': '4.0', 'content-length': String(Buffer.byteLength(text)), ...headers })
  res.end(text)
}

function readBody(req: IncomingMessage): Promise<unknown> {
  return new Promise((resolve) => {
    let text = ''
    req.on('data', (d: Buffer) => {
      if (text.length < MAX_REQUEST_BYTES) text += d.toString('utf8')
    })
    req.on('end', () => {
      try {
        resolve(text ? JSON.parse(text) : undefined)
      } catch {
        resolve(text)
      }
    })
    req.on('error', () => resolve(undefined))
  })
}

export async function startFakeRedfishService(options: FakeRedfishOptions = {}): Promise<FakeRedfishService> {
  const certificate = options.certificate ?? (await makeSelfSignedCertificate())
  const user = options.user ?? 'root'
  const password = options.password ?? 'calvin-test'
  const sessions = new Map<string, string>() // token -> session id
  const requests: RecordedRequest[] = []
  const resets: string[] = []
  let created = 0
  let deleted = 0
  let power: 'On' | 'Off' = options.initialPower ?? 'Off'
  let etag = 1
  const boot = { BootSourceOverrideTarget: 'None', BootSourceOverrideEnabled: 'Disabled', BootSourceOverrideMode: 'Legacy' }

  const system = (): unknown => ({
    '@odata.type': '#ComputerSystem.v1_20_0.ComputerSystem',
    '@odata.id': SYSTEM_PATH,
    Id: '437XR1138R2',
    Name: 'Fake Redfish BMC system',
    SystemType: 'Physical',
    PowerState: power,
    Boot: { ...boot, 'BootSourceOverrideTarget@Redfish.AllowableValues': ['None', 'Pxe', 'Hdd', 'Cd', 'BiosSetup'] },
    Actions: { '#ComputerSystem.Reset': { target: RESET_PATH, 'ResetType@Redfish.AllowableValues': RESET_TYPES } }
  })

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const method = req.method ?? 'GET'
    const path = (req.url ?? '/').split('?')[0] ?? '/'
    const token = typeof req.headers['x-auth-token'] === 'string' ? req.headers['x-auth-token'] : undefined
    const body = method === 'POST' || method === 'PATCH' ? await readBody(req) : undefined
    // The password is not kept in the record.
    const recorded = path === SESSIONS_PATH && method === 'POST' ? { ...(body as object), Password: '(hidden)' } : body
    requests.push({ method, path, body: recorded, token })

    if (method === 'POST' && path === SESSIONS_PATH) {
      const b = body as { UserName?: unknown; Password?: unknown } | undefined
      if (b?.UserName !== user || b?.Password !== password) return redfishError(res, 401, 'The credentials supplied are not valid.')
      const id = String(++created)
      const t = randomBytes(16).toString('hex')
      sessions.set(t, id)
      const location = `${SESSIONS_PATH}/${id}`
      return send(res, 201, { '@odata.type': '#Session.v1_6_0.Session', '@odata.id': location, Id: id, Name: 'User Session', UserName: user }, { 'x-auth-token': t, location })
    }
    if (!token || !sessions.has(token)) return redfishError(res, 401, 'A session is required.')

    if (method === 'DELETE' && path.startsWith(`${SESSIONS_PATH}/`)) {
      const id = path.slice(SESSIONS_PATH.length + 1)
      for (const [t, sid] of sessions) {
        if (sid === id) {
          sessions.delete(t)
          deleted++
          return send(res, 204)
        }
      }
      return redfishError(res, 404, `No session ${id}.`)
    }
    if (method === 'GET' && path === '/redfish/v1/Systems') {
      return send(res, 200, {
        '@odata.type': '#ComputerSystemCollection.ComputerSystemCollection',
        '@odata.id': '/redfish/v1/Systems',
        Name: 'Computer System Collection',
        'Members@odata.count': 1,
        Members: [{ '@odata.id': SYSTEM_PATH }]
      })
    }
    if (method === 'GET' && path === SYSTEM_PATH) return send(res, 200, system(), { etag: `W/"${etag}"` })
    if (method === 'PATCH' && path === SYSTEM_PATH) {
      if (req.headers['if-match'] !== undefined && req.headers['if-match'] !== `W/"${etag}"`) return redfishError(res, 412, 'The ETag does not match.')
      const b = (body as { Boot?: Partial<typeof boot> } | undefined)?.Boot
      if (!b) return redfishError(res, 400, 'Only Boot may be changed.')
      Object.assign(boot, b)
      etag++
      return send(res, 204)
    }
    if (method === 'POST' && path === RESET_PATH) {
      const type = (body as { ResetType?: unknown } | undefined)?.ResetType
      if (typeof type !== 'string' || !RESET_TYPES.includes(type)) return redfishError(res, 400, `ResetType ${String(type)} is not supported.`)
      resets.push(type)
      if (type === 'On' || type === 'PowerCycle' || type === 'ForceRestart' || type === 'GracefulRestart') power = 'On'
      if (type === 'ForceOff' || type === 'GracefulShutdown') power = 'Off'
      if (type === 'On' || type === 'PowerCycle') {
        // Boot once: the override is spent by the boot it applied to.
        if (boot.BootSourceOverrideEnabled === 'Once') boot.BootSourceOverrideEnabled = 'Disabled'
      }
      etag++
      return send(res, 204)
    }
    return redfishError(res, 404, `No resource at ${path}.`)
  }

  const server: Server = createServer({ key: certificate.key, cert: certificate.cert }, (req, res) => {
    handle(req, res).catch(() => {
      res.destroy()
    })
  })
  server.on('clientError', (_err, socket) => socket.destroy())
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve())
  })
  const port = (server.address() as AddressInfo).port
  let stopped: Promise<void> | undefined
  return {
    host: '127.0.0.1',
    port,
    user,
    password,
    certificate,
    requests,
    get sessionsCreated() {
      return created
    },
    get sessionsDeleted() {
      return deleted
    },
    get openSessions() {
      return sessions.size
    },
    get powerState() {
      return power
    },
    resets,
    boot,
    stop() {
      stopped ??= new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      })
      return stopped
    }
  }
}
