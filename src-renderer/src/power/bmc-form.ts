// The BMC form's fields as typed, to the contract's setNodeBmc input. Only the port is checked here
// (a form cannot say "number"); the API validates the rest and its messages are shown as they come.
// The password field never starts filled: an empty one keeps the stored password.
import type { BmcProtocol, NodeBmc, SetNodeBmc } from '../../../src-main/model'
import { DEFAULT_BMC_PORTS } from './power-text'

export interface BmcForm {
  protocol: BmcProtocol
  address: string
  /** Empty: the protocol's default port. */
  port: string
  username: string
  password: string
}

export function formFromBmc(bmc: NodeBmc | null): BmcForm {
  if (!bmc) return { protocol: 'ipmi', address: '', port: '', username: '', password: '' }
  return { protocol: bmc.protocol, address: bmc.address, port: String(bmc.port), username: bmc.username, password: '' }
}

/** The protocol changed: a port left at the old protocol's default moves to the new one's (empty). */
export function withProtocol(form: BmcForm, protocol: BmcProtocol): BmcForm {
  const atDefault = form.port.trim() === '' || form.port.trim() === String(DEFAULT_BMC_PORTS[form.protocol])
  return { ...form, protocol, port: atDefault ? '' : form.port }
}

/** The input to send; throws with a message when the port is not a port number. */
export function bmcInputFromForm(nodeId: number, form: BmcForm): SetNodeBmc {
  const portText = form.port.trim()
  const port = Number(portText)
  if (portText !== '' && (!Number.isInteger(port) || port < 1 || port > 65535)) throw new Error(`the BMC port must be a whole number from 1 to 65535, not "${portText}"`)
  return {
    id: nodeId,
    protocol: form.protocol,
    address: form.address.trim(),
    ...(portText === '' ? {} : { port }),
    username: form.username.trim(),
    ...(form.password === '' ? {} : { password: form.password })
  }
}
