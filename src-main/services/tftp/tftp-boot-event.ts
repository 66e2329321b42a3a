// What the TFTP server tells its optional event sink (the boot flight recorder): each read request,
// each error it sent, and how each transfer ended. The client is an address; the sink maps it to a MAC.
import type { TransferMode } from './read-source'

export type TftpBootEvent =
  | {
      readonly kind: 'rrq'
      readonly clientAddress: string
      readonly file: string
      readonly mode: TransferMode
      /** The options as the client asked them (name -> value). */
      readonly options: Readonly<Record<string, string>>
    }
  | {
      readonly kind: 'transfer_complete'
      readonly clientAddress: string
      readonly file: string
      readonly bytes: number
      readonly ms: number
      readonly blockSize: number
      readonly windowSize: number
      /** The options the OACK granted (empty: a plain RFC 1350 transfer). */
      readonly negotiated: Readonly<Record<string, string>>
      readonly retransmits: number
    }
  | {
      readonly kind: 'transfer_error'
      readonly clientAddress: string
      readonly file: string
      /** client-error, timed-out, preempted, client-gone, failed, stopped. */
      readonly outcome: string
      readonly reason: string
      readonly retransmits: number
      readonly ms: number
      /** The last block the client acknowledged (0: none), and the block size: where a stall happened. */
      readonly block: number
      readonly blockSize: number
    }
  | {
      /** A request refused with a TFTP ERROR (not found, unsafe name, server full...). */
      readonly kind: 'error_sent'
      readonly clientAddress: string
      readonly file?: string
      readonly code: number
      readonly message: string
      readonly refusal: string
      /** A file not found: the TFTP root searched (its real path). */
      readonly searched?: string
    }
