// One subscription to the change stream for the whole window, fanned out to every view that
// listens. Views that mount before the stream is connected wait for it; later ones load at once.
import type { ChangeEvent } from '../../../src-main/model'
import type { Client } from '../api-client'

export interface ChangeListener {
  /** A change committed on the main side. */
  readonly onChange: (event: ChangeEvent) => void
  /** The stream was (re)connected: whatever changed while it was not must be reloaded. */
  readonly onConnected: () => void
}

export class LiveChanges {
  private readonly listeners = new Set<ChangeListener>()
  private readonly statusListeners = new Set<(online: boolean) => void>()
  private unsubscribe: (() => void) | undefined
  private isConnected = false
  private isOnline = true

  constructor(private readonly client: Client) {}

  /** True once the stream has opened at least once (a load started now misses nothing). */
  get connected(): boolean {
    return this.isConnected
  }

  start(): void {
    if (this.unsubscribe) return
    this.unsubscribe = this.client.subscribe(
      (event) => {
        for (const l of this.listeners) l.onChange(event)
      },
      () => {
        this.isConnected = true
        this.setOnline(true)
        for (const l of this.listeners) l.onConnected()
      },
      () => this.setOnline(false)
    )
  }

  /** False while the stream is lost (what is shown may be stale until it reconnects). */
  get online(): boolean {
    return this.isOnline
  }

  watchStatus(listener: (online: boolean) => void): () => void {
    this.statusListeners.add(listener)
    return () => this.statusListeners.delete(listener)
  }

  private setOnline(online: boolean): void {
    if (online === this.isOnline) return
    this.isOnline = online
    for (const l of this.statusListeners) l(online)
  }

  stop(): void {
    this.unsubscribe?.()
    this.unsubscribe = undefined
    this.isConnected = false
  }

  listen(listener: ChangeListener): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }
}
