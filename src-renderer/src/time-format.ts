// Times and durations as people read them.
export function formatTime(iso: string | null): string {
  if (iso === null) return '—'
  const d = new Date(iso)
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleTimeString()
}

export function formatDuration(startIso: string | null, endIso: string | null, now = Date.now()): string {
  if (startIso === null) return '—'
  const start = Date.parse(startIso)
  const end = endIso === null ? now : Date.parse(endIso)
  const ms = Math.max(0, end - start)
  if (ms < 1000) return `${ms} ms`
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`
  return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`
}

/** "just now", "5 min ago", "3 h ago", or the date. */
export function formatAgo(iso: string, now = Date.now()): string {
  const t = Date.parse(iso)
  if (Number.isNaN(t)) return iso
  const s = Math.round((now - t) / 1000)
  if (s < 10) return 'just now'
  if (s < 60) return `${s} s ago`
  if (s < 3600) return `${Math.floor(s / 60)} min ago`
  if (s < 86_400) return `${Math.floor(s / 3600)} h ago`
  return new Date(t).toLocaleDateString()
}
