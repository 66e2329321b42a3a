// The contract over Electron IPC: one handler for every operation (validated like HTTP input) and
// change events pushed to the window. Calls from any frame but our own page are refused.
import type { IpcMain, IpcMainInvokeEvent, WebContents } from 'electron'
import type { ChangeFeed } from '../domain/change-feed'
import { failure, invokeOperation, type Handlers, type OperationResult } from '../api/operations'
import { IPC_CHANGE_CHANNEL, IPC_INVOKE_CHANNEL } from './ipc-channels'

export interface IpcTransportOptions {
  readonly ipcMain: IpcMain
  readonly handlers: Handlers
  readonly feed: ChangeFeed
  /** True when the calling frame is our renderer (file:// of the built app or the dev server). */
  readonly isTrustedSender: (url: string) => boolean
  readonly onInternalError: (err: unknown, operation: string) => void
}

export class IpcTransport {
  private readonly targets = new Set<WebContents>()
  private unsubscribe: (() => void) | undefined

  constructor(private readonly options: IpcTransportOptions) {}

  start(): void {
    if (this.unsubscribe) return
    this.options.ipcMain.handle(IPC_INVOKE_CHANNEL, (event: IpcMainInvokeEvent, name: unknown, input: unknown): Promise<OperationResult> => {
      const url = event.senderFrame?.url ?? ''
      if (!this.options.isTrustedSender(url)) return Promise.resolve(failure('invalid', 'calls are accepted only from the Crowbar window'))
      return invokeOperation(this.options.handlers, name, input, this.options.onInternalError)
    })
    this.unsubscribe = this.options.feed.subscribe((event) => {
      for (const wc of this.targets) if (!wc.isDestroyed()) wc.send(IPC_CHANGE_CHANNEL, event)
    })
  }

  attach(webContents: WebContents): void {
    this.targets.add(webContents)
    webContents.once('destroyed', () => this.targets.delete(webContents))
  }

  stop(): void {
    if (!this.unsubscribe) return
    this.unsubscribe()
    this.unsubscribe = undefined
    this.options.ipcMain.removeHandler(IPC_INVOKE_CHANNEL)
    this.targets.clear()
  }
}
