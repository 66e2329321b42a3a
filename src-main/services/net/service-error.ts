// Why a boot service could not start, said once for all of them (DHCP, DNS, TFTP, HTTP): one error
// type, one spelling of each kind, one piece of setcap advice, so the CLI and the wizard can tell
// the user the same thing whichever server failed.
import { errnoCodeOf, messageOf } from '../../base/error-message'

export const SERVICE_ERROR_KINDS = [
  /** A port below 1024, or binding to one interface, needs privilege the process lacks. */
  'permission',
  /** Another program holds the address and port. */
  'address_in_use',
  /** The address is not one of this machine's. */
  'address_unavailable',
  /** The interface named does not exist. */
  'no_such_interface',
  /** Another DHCP server already answers on the segment. */
  'another_server',
  /** An option the caller passed is malformed (not an IP address, a root that is not a directory, ...). */
  'invalid_option',
  /** Any other failure to bind; the message carries the system's words. */
  'bind_failed'
] as const
export type ServiceErrorKind = (typeof SERVICE_ERROR_KINDS)[number]

export type ServiceName = 'DHCP' | 'DNS' | 'TFTP' | 'HTTP'

/** A start-up failure a user can meet; the message says what to do about it. */
export class ServiceStartError extends Error {
  override readonly name = 'ServiceStartError'
  constructor(
    readonly service: ServiceName,
    readonly kind: ServiceErrorKind,
    message: string
  ) {
    super(message)
  }
}

/** The one way to gain the privileges the boot services need without running as root. */
export function setcapAdvice(execPath: string = process.execPath): string {
  return `run as root, or grant this binary the capabilities: sudo setcap cap_net_bind_service,cap_net_raw=+ep ${execPath}`
}

export interface BindTarget {
  readonly service: ServiceName
  readonly transport: 'UDP' | 'TCP'
  readonly address: string
  readonly port: number
  /** Programs that commonly hold this port, named in the address-in-use advice. */
  readonly usualHolders?: string
}

/** Turns a failed bind (listen) into an error that says what to do about it. */
export function bindError(err: unknown, target: BindTarget, execPath: string = process.execPath): ServiceStartError {
  const { service, transport, address, port } = target
  const where = `${service} cannot listen on ${transport} ${address} port ${port}`
  switch (errnoCodeOf(err)) {
    case 'EACCES':
    case 'EPERM':
      return new ServiceStartError(service, 'permission', `${where}: ${port < 1024 ? 'ports below 1024 need' : 'this port needs'} privilege; ${setcapAdvice(execPath)}`)
    case 'EADDRINUSE':
      return new ServiceStartError(
        service,
        'address_in_use',
        `${where}: another program already uses it${target.usualHolders ? ` (often ${target.usualHolders})` : ''}. Stop that program, or choose another address.`
      )
    case 'EADDRNOTAVAIL':
      return new ServiceStartError(service, 'address_unavailable', `${where}: ${address} is not an address of this machine. Choose the address of the interface facing the nodes.`)
    default:
      return new ServiceStartError(service, 'bind_failed', `${where}: ${messageOf(err)}`)
  }
}

/** Turns a failed SO_BINDTODEVICE into an error that says what to do about it. */
export function deviceBindError(err: unknown, service: ServiceName, iface: string, execPath: string = process.execPath): ServiceStartError {
  switch (errnoCodeOf(err)) {
    case 'EPERM':
    case 'EACCES':
      return new ServiceStartError(service, 'permission', `${service} cannot bind to interface ${iface}: that needs CAP_NET_RAW; ${setcapAdvice(execPath)}`)
    case 'ENODEV':
      return new ServiceStartError(service, 'no_such_interface', `${service} cannot bind to interface ${iface}: there is no network interface of that name; see \`ip link\``)
    default:
      return new ServiceStartError(service, 'bind_failed', `${service} cannot bind to interface ${iface}: ${messageOf(err)}`)
  }
}
