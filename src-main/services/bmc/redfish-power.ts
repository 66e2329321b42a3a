// Power control over Redfish (DSP0266): a session per operation (POST SessionService/Sessions,
// X-Auth-Token, DELETE afterwards, so a BMC's few session slots are not used up), the first
// ComputerSystem, its PowerState, ComputerSystem.Reset, and a one-time boot override to PXE.
// HTTPS with the certificate pinned on first contact (pinned-https.ts); every answer checked
// against the DMTF schema's shape (redfish-schemas.ts) and bounded in size.
import type { z } from 'zod'
import { BmcError, DEFAULT_BMC_TIMEOUT_MS, type BmcPower, type PowerState, type PxeOnceOptions } from './bmc-power'
import { pinnedRequest, type PinnedResponse } from './pinned-https'
import { ComputerSystem, RedfishErrorBody, ResourceCollection, Session, type ResetType } from './redfish-schemas'

export interface RedfishBmcOptions {
  readonly host: string
  /** HTTPS port; 443 unless told. */
  readonly port?: number
  readonly user: string
  readonly password: string
  /** The certificate's SHA-256 fingerprint pinned on an earlier contact; undefined accepts the first one seen. */
  readonly pinnedFingerprint?: string
  /** Bound on each operation (all its requests together; closing the session gets a little more). */
  readonly timeoutMs?: number
  /** Largest answer read; 1 MB unless told (a ComputerSystem is a few kB). */
  readonly maxBodyBytes?: number
}

const SESSIONS_PATH = '/redfish/v1/SessionService/Sessions'
const SYSTEMS_PATH = '/redfish/v1/Systems'
/** Closing the session is tried even after the operation used its bound up, for this long. */
const LOGOUT_GRACE_MS = 2_000
const MAX_BODY_BYTES = 1024 * 1024

/**
 * On/Off as the BMC reports it. PoweringOff and Paused still hold power (on); PoweringOn is not on
 * yet (off), so a caller waiting for "on" keeps waiting.
 */
function powerStateOf(state: z.infer<typeof ComputerSystem>['PowerState'], host: string): PowerState {
  switch (state) {
    case 'On':
    case 'PoweringOff':
    case 'Paused':
      return 'on'
    case 'Off':
    case 'PoweringOn':
      return 'off'
    default:
      throw new BmcError('protocol', `BMC ${host} does not report the system's PowerState`)
  }
}

interface Session {
  readonly token: string
  readonly path: string | undefined
}

export class RedfishPower implements BmcPower {
  readonly host: string
  private readonly port: number
  private readonly user: string
  private readonly password: string
  private readonly timeoutMs: number
  private readonly maxBodyBytes: number
  private pin: string | undefined
  private seen: string | undefined

  constructor(options: RedfishBmcOptions) {
    this.host = options.host
    this.port = options.port ?? 443
    this.user = options.user
    this.password = options.password
    this.pin = options.pinnedFingerprint
    this.timeoutMs = options.timeoutMs ?? DEFAULT_BMC_TIMEOUT_MS
    this.maxBodyBytes = options.maxBodyBytes ?? MAX_BODY_BYTES
  }

  /**
   * The SHA-256 fingerprint of the certificate the BMC presented (after the first contact), for the
   * caller to pin. Within this client the first one seen is pinned for later calls, too.
   */
  get certificateFingerprint(): string | undefined {
    return this.seen
  }

  async status(): Promise<PowerState> {
    return this.withSession(async (call) => {
      const { system } = await this.system(call)
      return powerStateOf(system.PowerState, this.host)
    })
  }

  on(): Promise<void> {
    return this.resetAs('On')
  }

  off(): Promise<void> {
    return this.resetAs('ForceOff')
  }

  cycle(): Promise<void> {
    return this.resetAs('PowerCycle')
  }

  reset(): Promise<void> {
    return this.resetAs('ForceRestart')
  }

  async pxeOnce(options: PxeOnceOptions = {}): Promise<void> {
    await this.withSession(async (call) => {
      const { path, etag } = await this.system(call)
      const boot = { BootSourceOverrideTarget: 'Pxe', BootSourceOverrideEnabled: 'Once', ...(options.uefi ? { BootSourceOverrideMode: 'UEFI' } : {}) }
      // Some BMCs refuse a PATCH without the resource's ETag (DSP0266 §9.3.4.3: If-Match).
      const r = await call('PATCH', path, { Boot: boot }, etag ? { 'if-match': etag } : {})
      this.expectSuccess(r, `set the next boot to PXE (PATCH ${path})`)
    })
  }

  private async resetAs(type: ResetType): Promise<void> {
    await this.withSession(async (call) => {
      const { system, path } = await this.system(call)
      const action = system.Actions?.['#ComputerSystem.Reset']
      if (!action) throw new BmcError('refused', `BMC ${this.host} offers no ComputerSystem.Reset action on ${path}`)
      const allowed = action['ResetType@Redfish.AllowableValues']
      if (allowed && !allowed.includes(type)) {
        throw new BmcError('refused', `BMC ${this.host} does not allow ResetType ${type} (it allows ${allowed.join(', ') || 'none'})`)
      }
      const r = await call('POST', action.target, { ResetType: type }, {})
      this.expectSuccess(r, `ComputerSystem.Reset ${type}`)
    })
  }

  /** The first member of /redfish/v1/Systems: what a single-node BMC manages. */
  private async system(call: Call): Promise<{ system: ComputerSystem; path: string; etag: string | undefined }> {
    const list = this.parse(ResourceCollection, await call('GET', SYSTEMS_PATH), `GET ${SYSTEMS_PATH}`)
    const first = list.Members[0]?.['@odata.id']
    if (!first) throw new BmcError('protocol', `BMC ${this.host} lists no computer system under ${SYSTEMS_PATH}`)
    const r = await call('GET', first)
    const etag = typeof r.headers.etag === 'string' && r.headers.etag.length <= 256 ? r.headers.etag : undefined
    return { system: this.parse(ComputerSystem, r, `GET ${first}`), path: first, etag }
  }

  /** Opens a session, runs `work` with it, and closes the session whatever happened. */
  private async withSession<T>(work: (call: Call) => Promise<T>): Promise<T> {
    const deadline = Date.now() + this.timeoutMs
    const session = await this.login(deadline)
    const call: Call = async (method, path, body, headers = {}) => {
      const r = await this.request(method, path, body, { 'x-auth-token': session.token, ...headers }, deadline)
      if (r.status === 401) throw new BmcError('auth', `BMC ${this.host} no longer accepts the session of user ${this.user} (it ended early?)`)
      return r
    }
    try {
      return await work(call)
    } finally {
      if (session.path) {
        const logoutDeadline = Math.max(deadline, Date.now() + LOGOUT_GRACE_MS)
        // A session that cannot be closed times out on the BMC; the operation's result stands.
        await this.request('DELETE', session.path, undefined, { 'x-auth-token': session.token }, logoutDeadline).catch(() => undefined)
      }
    }
  }

  private async login(deadline: number): Promise<Session> {
    const r = await this.request('POST', SESSIONS_PATH, { UserName: this.user, Password: this.password }, {}, deadline)
    if (r.status === 401 || r.status === 403) throw new BmcError('auth', `BMC ${this.host} refused the password for user ${this.user}`)
    this.expectSuccess(r, `open a session (POST ${SESSIONS_PATH})`)
    const token = r.headers['x-auth-token']
    if (typeof token !== 'string' || token.length === 0 || token.length > 4096) {
      throw new BmcError('protocol', `BMC ${this.host} opened a session but sent no X-Auth-Token`)
    }
    const body = r.body.length > 0 ? this.parse(Session, r, `POST ${SESSIONS_PATH}`) : undefined
    return { token, path: this.sessionPath(r.headers.location) ?? body?.['@odata.id'] }
  }

  /** The Location of the new session as a path on this BMC; a Location on another host is not followed. */
  private sessionPath(location: string | undefined): string | undefined {
    if (!location) return undefined
    try {
      const url = new URL(location, `https://${this.host.includes(':') ? `[${this.host}]` : this.host}:${this.port}`)
      const sameBmc = url.port === String(this.port) || (url.port === '' && this.port === 443)
      const host = url.hostname.replace(/^\[|\]$/g, '')
      if (host !== this.host || !sameBmc || !url.pathname.startsWith('/redfish/v1/')) return undefined
      return url.pathname
    } catch {
      return undefined
    }
  }

  private async request(method: 'GET' | 'POST' | 'PATCH' | 'DELETE', path: string, body: unknown, headers: Record<string, string>, deadline: number): Promise<PinnedResponse> {
    const r = await pinnedRequest({ host: this.host, port: this.port, method, path, body, headers, pin: this.pin, deadline, boundMs: this.timeoutMs, maxBodyBytes: this.maxBodyBytes })
    this.seen = r.fingerprint
    // Trust on first use: later requests of this client hold the BMC to the same certificate.
    this.pin ??= r.fingerprint
    return r
  }

  private expectSuccess(r: PinnedResponse, what: string): void {
    if (r.status >= 200 && r.status < 300) return
    const why = this.redfishMessage(r)
    if (r.status === 403) throw new BmcError('auth', `BMC ${this.host} does not let user ${this.user} ${what}${why}`)
    if (r.status >= 400 && r.status < 500) throw new BmcError('refused', `BMC ${this.host} refused to ${what}: HTTP ${r.status}${why}`)
    throw new BmcError('protocol', `BMC ${this.host} failed to ${what}: HTTP ${r.status}${why}`)
  }

  /** ": <the BMC's own words>" from a Redfish error body, or nothing. */
  private redfishMessage(r: PinnedResponse): string {
    try {
      const parsed = RedfishErrorBody.safeParse(JSON.parse(r.body.toString('utf8')))
      if (!parsed.success) return ''
      const info = parsed.data.error['@Message.ExtendedInfo']?.map((i) => i.Message).filter(Boolean) ?? []
      const words = [parsed.data.error.message, ...info].filter(Boolean).join('; ')
      return words ? `: ${words.slice(0, 300)}` : ''
    } catch {
      return ''
    }
  }

  private parse<S extends z.ZodType>(schema: S, r: PinnedResponse, what: string): z.infer<S> {
    if (r.status < 200 || r.status >= 300) this.expectSuccess(r, what)
    let json: unknown
    try {
      json = JSON.parse(r.body.toString('utf8'))
    } catch {
      throw new BmcError('protocol', `BMC ${this.host} answered ${what} with something that is not JSON`)
    }
    const parsed = schema.safeParse(json)
    if (!parsed.success) {
      const issue = parsed.error.issues[0]
      const where = issue && issue.path.length > 0 ? issue.path.map(String).join('.') : 'body'
      throw new BmcError('protocol', `BMC ${this.host} answered ${what} with a resource Redfish does not describe (${where}: ${issue?.message ?? 'invalid'})`)
    }
    return parsed.data
  }
}

type Call = (method: 'GET' | 'POST' | 'PATCH' | 'DELETE', path: string, body?: unknown, headers?: Record<string, string>) => Promise<PinnedResponse>
