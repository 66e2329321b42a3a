// The routes HTTP boot serves besides the boot assets: barclamps register them (the provisioner's
// iPXE scripts, answer files and node-facing API) and release them with the Disposable they get
// back. The server owns this interface; it matches a request here and only moves bytes.
import { toDisposable, type Disposable } from '../../base/lifecycle'

export interface BootRequest {
  readonly method: string
  /** The decoded path. */
  readonly path: string
  /** The route pattern's capture groups. */
  readonly params: readonly string[]
  /** Where this server is reached (scripts and answer files name it). */
  readonly baseUrl: string
  /** The address this server answers from (its DNS server listens there too). */
  readonly serverAddress: string
  /** Who sent it (IPv4 without the ::ffff: prefix): for per-source limits, never for trust. */
  readonly clientAddress: string
  /** The Authorization header, if any: a node's credential for the node-facing API. */
  readonly authorization: string | undefined
  /**
   * The body as JSON: null when absent or not JSON. A body over the size limit (413) or nested
   * deeper than the limit (400) is refused by the server before the route is called.
   */
  json(): Promise<unknown>
}

export type BootResponse =
  | { readonly status: number; readonly text: string }
  | { readonly status: number; readonly json: unknown }

export interface BootRoute {
  readonly method: 'GET' | 'POST'
  /** Matched against the whole decoded path. */
  readonly pattern: RegExp
  /**
   * Answers the request. A thrown CrowbarError becomes `{error: {kind, message}}` with the
   * operator API's status for its kind; anything else is a 500 whose details go to the log.
   */
  handle(req: BootRequest): Promise<BootResponse>
}

export class BootRouter {
  private readonly routes: BootRoute[] = []

  add(...routes: BootRoute[]): Disposable {
    this.routes.push(...routes)
    return toDisposable(() => {
      for (const r of routes) {
        const at = this.routes.indexOf(r)
        if (at >= 0) this.routes.splice(at, 1)
      }
    })
  }

  /** The first route whose method and pattern match, with its capture groups. */
  match(method: string, path: string): { route: BootRoute; params: string[] } | undefined {
    for (const route of this.routes) {
      if (route.method !== method) continue
      const m = route.pattern.exec(path)
      if (m && m[0] === path) return { route, params: m.slice(1).map((p) => p ?? '') }
    }
    return undefined
  }
}
