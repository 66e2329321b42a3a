// The operator API's token in a browser tab (headless mode): it arrives once in the URL's fragment
// (`#token=…`, which the browser never sends to a server), is kept in this tab's session storage,
// and the fragment goes back to being the view's place. Inside Electron there is none (IPC).
const STORAGE_KEY = 'crowbar-api-token'
const FRAGMENT = /^#token=([0-9a-f]{16,128})(?:&(.*))?$/

/** The tab's token, taking it from the fragment first (and removing it from the address bar). */
export function takeApiToken(location: Location, history: History, storage: Storage): string | null {
  const match = FRAGMENT.exec(location.hash)
  if (match?.[1]) {
    storage.setItem(STORAGE_KEY, match[1])
    const place = match[2] ? `#${match[2].replace(/^#/, '')}` : '#/'
    history.replaceState(null, '', `${location.pathname}${location.search}${place}`)
  }
  return storage.getItem(STORAGE_KEY)
}

export function forgetApiToken(storage: Storage): void {
  storage.removeItem(STORAGE_KEY)
}
