// The change stream read with fetch rather than EventSource: EventSource cannot send the
// Authorization header the API requires. Parses server-sent event frames (event:, data:, comments).

export interface StreamHandlers {
  readonly onOpen: () => void
  readonly onEvent: (event: string, data: string) => void
}

/** Longest frame kept while waiting for its end; a stream sending more is broken, so it ends. */
const MAX_FRAME_CHARS = 1024 * 1024

/**
 * Reads one connection of the stream until it ends. Resolves with the HTTP status (0 when the
 * server could not be reached); rejects never. `signal` aborts it.
 */
export async function readEventStream(url: string, headers: Record<string, string>, handlers: StreamHandlers, signal: AbortSignal): Promise<number> {
  let res: Response
  try {
    res = await fetch(url, { headers: { Accept: 'text/event-stream', ...headers }, signal, cache: 'no-store' })
  } catch {
    return 0
  }
  if (!res.ok || !res.body) {
    await res.body?.cancel().catch(() => undefined)
    return res.status
  }
  handlers.onOpen()
  const reader = res.body.getReader()
  const decoder = new TextDecoder()
  let buffered = ''
  try {
    for (;;) {
      const { value, done } = await reader.read()
      if (done) break
      buffered += decoder.decode(value, { stream: true }).replace(/\r\n?/g, '\n')
      let end: number
      while ((end = buffered.indexOf('\n\n')) >= 0) {
        dispatch(buffered.slice(0, end), handlers)
        buffered = buffered.slice(end + 2)
      }
      if (buffered.length > MAX_FRAME_CHARS) break
    }
  } catch {
    // Dropped connection or abort: the caller reconnects (or has stopped).
  }
  return res.status
}

function dispatch(frame: string, handlers: StreamHandlers): void {
  let event = 'message'
  const data: string[] = []
  for (const line of frame.split('\n')) {
    if (line === '' || line.startsWith(':')) continue
    const colon = line.indexOf(':')
    const field = colon < 0 ? line : line.slice(0, colon)
    const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '')
    if (field === 'event') event = value
    else if (field === 'data') data.push(value)
  }
  if (data.length > 0) handlers.onEvent(event, data.join('\n'))
}
