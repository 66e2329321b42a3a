// The preload bridge: exposes the contract and the change stream to the sandboxed renderer, and
// nothing else. It loops over the contract's operation names; it never names one itself.
import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron'
import { OPERATION_NAMES } from '../api/contract'
import { IPC_CHANGE_CHANNEL, IPC_INVOKE_CHANNEL } from './ipc-channels'

const known = new Set<string>(OPERATION_NAMES)

contextBridge.exposeInMainWorld('crowbar', {
  invoke(name: string, input: unknown): Promise<unknown> {
    if (!known.has(name)) return Promise.resolve({ ok: false, body: { error: { kind: 'not_found', message: `no operation named ${name}` } } })
    return ipcRenderer.invoke(IPC_INVOKE_CHANNEL, name, input)
  },
  onChange(listener: (event: unknown) => void): () => void {
    const handler = (_e: IpcRendererEvent, event: unknown): void => listener(event)
    ipcRenderer.on(IPC_CHANGE_CHANNEL, handler)
    return () => ipcRenderer.off(IPC_CHANGE_CHANNEL, handler)
  }
})
