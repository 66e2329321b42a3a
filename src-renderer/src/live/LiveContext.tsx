// The client and the shared change stream, handed to every view through React context.
import { createContext, useContext, useSyncExternalStore, type ReactNode } from 'react'
import type { Client } from '../api-client'
import type { LiveChanges } from './live-changes'

interface Live {
  readonly client: Client
  readonly changes: LiveChanges
}

const LiveContext = createContext<Live | null>(null)

export function LiveProvider({ client, changes, children }: Live & { children: ReactNode }) {
  return <LiveContext.Provider value={{ client, changes }}>{children}</LiveContext.Provider>
}

function useLive(): Live {
  const live = useContext(LiveContext)
  if (!live) throw new Error('LiveProvider is missing above this component')
  return live
}

export function useClient(): Client {
  return useLive().client
}

export function useLiveChanges(): LiveChanges {
  return useLive().changes
}

/** Whether the change stream is connected; false while it is lost and retrying. */
export function useStreamOnline(): boolean {
  const changes = useLiveChanges()
  return useSyncExternalStore(
    (notify) => changes.watchStatus(notify),
    () => changes.online
  )
}
