// In-process publish/subscribe of change events; the transports forward them (SSE, IPC).
import type { ChangeEvent } from '../model'

export type ChangeListener = (event: ChangeEvent) => void

export class ChangeFeed {
  private readonly listeners = new Set<ChangeListener>()

  subscribe(listener: ChangeListener): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  publish(event: ChangeEvent): void {
    for (const listener of this.listeners) {
      try {
        listener(event)
      } catch {
        // A broken subscriber (a closed stream) must not stop the others or the writer.
      }
    }
  }

  get size(): number {
    return this.listeners.size
  }
}
