// The renderer's only way to the main side: the contract's operations, carried by the preload
// bridge inside Electron or by HTTP in headless mode. Errors come back as ApiCallError with the
// server's message, ready to show to the user.
import { ChangeEventSchema, type ChangeEvent } from '../../src-main/model'
import { OPERATION_NAMES, type CrowbarApi, type OperationName } from '../../src-main/api/contract'
import { ApiErrorSchema } from '../../src-main/model'
import { EVENTS_PATH, requestFor } from '../../src-main/api/http-routes'
import { forgetApiToken, takeApiToken } from './api-token'
import { readEventStream } from './event-stream-reader'

const STREAM_RETRY_MS = 3000

export class ApiCallError extends Error {
  override readonly name = 'ApiCallError'
  constructor(
    readonly kind: string,
    message: string
  ) {
    super(message)
  }
}

/** What the preload exposes as window.crowbar (see src-main/electron/preload.ts). */
export interface PreloadBridge {
  invoke(name: string, input: unknown): Promise<{ ok: true; value: unknown } | { ok: false; body: unknown }>
  onChange(listener: (event: unknown) => void): () => void
}

declare global {
  interface Window {
    crowbar?: PreloadBridge
  }
}

export interface Client {
  readonly api: CrowbarApi
  /**
   * Calls `listener` for every change. `onConnected` runs each time the stream is (re)connected:
   * a reload then catches whatever changed while it was not. `onDisconnected` runs when the stream
   * is lost (it reconnects by itself).
   */
  subscribe(listener: (event: ChangeEvent) => void, onConnected?: () => void, onDisconnected?: () => void): () => void
}

function toError(body: unknown, fallback: string): ApiCallError {
  const parsed = ApiErrorSchema.safeParse(body)
  return parsed.success ? new ApiCallError(parsed.data.error.kind, parsed.data.error.message) : new ApiCallError('internal', fallback)
}

type Invoke = (name: OperationName, input: Record<string, unknown>) => Promise<unknown>

function buildApi(invoke: Invoke): CrowbarApi {
  return Object.fromEntries(
    OPERATION_NAMES.map((name) => [name, (input: Record<string, unknown>) => invoke(name, input ?? {})])
  ) as unknown as CrowbarApi
}

function ipcClient(bridge: PreloadBridge): Client {
  return {
    api: buildApi(async (name, input) => {
      const result = await bridge.invoke(name, input)
      if (!result.ok) throw toError(result.body, `${name} failed`)
      return result.value
    }),
    subscribe(listener, onConnected) {
      const unsubscribe = bridge.onChange((raw) => {
        const parsed = ChangeEventSchema.safeParse(raw)
        if (parsed.success) listener(parsed.data)
      })
      onConnected?.()
      return unsubscribe
    }
  }
}

function httpClient(base: string, token: string): Client {
  const auth = { Authorization: `Bearer ${token}` }
  return {
    api: buildApi(async (name, input) => {
      const req = requestFor(name, input)
      let res: Response
      try {
        res = await fetch(base + req.url, {
          method: req.method,
          headers: req.body === undefined ? auth : { ...auth, 'Content-Type': 'application/json' },
          body: req.body
        })
      } catch {
        throw new ApiCallError('internal', 'cannot reach the Crowbar server: is it still running?')
      }
      const body: unknown = await res.json().catch(() => null)
      if (!res.ok) throw toError(body, `${name} failed with HTTP ${res.status}`)
      return body
    }),
    subscribe(listener, onConnected, onDisconnected) {
      const aborter = new AbortController()
      let retry: ReturnType<typeof setTimeout> | undefined
      const handlers = {
        onOpen: () => onConnected?.(),
        onEvent: (event: string, data: string) => {
          if (event !== 'change') return
          try {
            const parsed = ChangeEventSchema.safeParse(JSON.parse(data))
            if (parsed.success) listener(parsed.data)
          } catch {
            // A malformed frame is dropped; the next change brings fresh state anyway.
          }
        }
      }
      const open = (): void => {
        void readEventStream(base + EVENTS_PATH, auth, handlers, aborter.signal).then((status) => {
          if (aborter.signal.aborted) return
          if (status === 401) {
            // The server does not know this token (a new data directory): ask for the printed URL.
            forgetApiToken(window.sessionStorage)
            window.location.reload()
            return
          }
          onDisconnected?.()
          retry = setTimeout(open, STREAM_RETRY_MS)
        })
      }
      open()
      return () => {
        aborter.abort()
        if (retry !== undefined) clearTimeout(retry)
      }
    }
  }
}

/**
 * The client for this window: IPC inside Electron; HTTP with the tab's API token in a browser.
 * Null in a browser tab that has no token (opened without the URL `crowbar serve` printed).
 */
export function createClient(): Client | null {
  if (window.crowbar) return ipcClient(window.crowbar)
  const token = takeApiToken(window.location, window.history, window.sessionStorage)
  return token ? httpClient('', token) : null
}
