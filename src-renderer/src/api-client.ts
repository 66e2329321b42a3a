// The renderer's only way to the main side: the contract's operations, carried by the preload
// bridge inside Electron or by HTTP in headless mode. Errors come back as ApiCallError with the
// server's message, ready to show to the user.
import { ChangeEventSchema, type ChangeEvent } from '../../src-main/model'
import { OPERATION_NAMES, type CrowbarApi, type OperationName } from '../../src-main/api/contract'
import { ApiErrorSchema } from '../../src-main/model'
import { EVENTS_PATH, requestFor } from '../../src-main/api/http-routes'

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

function httpClient(base: string): Client {
  return {
    api: buildApi(async (name, input) => {
      const req = requestFor(name, input)
      let res: Response
      try {
        res = await fetch(base + req.url, {
          method: req.method,
          headers: req.body === undefined ? {} : { 'Content-Type': 'application/json' },
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
      const onChange = (message: MessageEvent<string>): void => {
        try {
          const parsed = ChangeEventSchema.safeParse(JSON.parse(message.data))
          if (parsed.success) listener(parsed.data)
        } catch {
          // A malformed frame is dropped; the next change brings fresh state anyway.
        }
      }
      let source: EventSource | undefined
      let retry: ReturnType<typeof setTimeout> | undefined
      let stopped = false
      const open = (): void => {
        const s = new EventSource(base + EVENTS_PATH)
        source = s
        s.addEventListener('open', () => onConnected?.())
        s.addEventListener('change', onChange)
        s.addEventListener('error', () => {
          onDisconnected?.()
          // The browser retries a dropped stream by itself, but gives up on an HTTP error: start over.
          if (s.readyState === EventSource.CLOSED && !stopped) retry = setTimeout(open, STREAM_RETRY_MS)
        })
      }
      open()
      return () => {
        stopped = true
        if (retry !== undefined) clearTimeout(retry)
        source?.close()
      }
    }
  }
}

export function createClient(): Client {
  return window.crowbar ? ipcClient(window.crowbar) : httpClient('')
}
