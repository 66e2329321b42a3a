// What ipmitool 1.8.19 (-I lanplus -v) prints, read into a power state or a BmcError. The strings
// are the ones it really prints, taken from runs against OpenIPMI's ipmi_sim: see
// ipmitool-output.test.ts for each one and the situation that produced it.
import { BmcError, secondsText, type PowerState } from './bmc-power'
import type { PingFindings } from './rmcp-ping'

/** `Chassis Power is on` → 'on'; anything else is a protocol error. */
export function parsePowerStatus(stdout: string, host: string): PowerState {
  const m = /^Chassis Power is (on|off)\s*$/m.exec(stdout)
  if (!m) throw new BmcError('protocol', `BMC ${host} gave a power status ipmitool could not read: ${firstLine(stdout) || '(nothing)'}`)
  return m[1] as PowerState
}

export interface IpmitoolFailure {
  readonly host: string
  readonly port: number
  readonly user: string
  readonly cipherSuite: number
  /** The command as an engineer would type it after the connection options: `chassis power on`. */
  readonly command: string
  readonly stdout: string
  readonly stderr: string
  /** ipmitool was killed at the bound (it had not given up by itself). */
  readonly timedOut: boolean
  readonly timeoutMs: number
  readonly pings: PingFindings
  /** The kernel tried and failed to resolve the address on a local network (no ARP reply). */
  readonly arpUnresolved: boolean
}

const SESSION_FAILED = /Unable to establish IPMI v2 \/ RMCP\+ session/
const NO_ANSWER = /Get Auth Capabilities error|Error issuing Get Channel Authentication Capabilities|No response from remote controller/i

/** The error a failed ipmitool run means, in words naming the BMC and what to check. */
export function ipmitoolFailure(f: IpmitoolFailure): BmcError {
  const bmc = `BMC ${f.host}`
  const out = `${f.stderr}\n${f.stdout}`
  const where = f.port === 623 ? bmc : `${bmc} (UDP port ${f.port})`

  // Authentication: RAKP 2 carries the BMC's verdict on the user and the password.
  if (/RAKP 2 HMAC is invalid/i.test(out)) return new BmcError('auth', `${bmc} refused the password for user ${f.user}`)
  if (/unauthorized name/i.test(out)) return new BmcError('auth', `${bmc} does not know the user ${f.user}`)
  if (/unauthorized role or privilege|invalid role|Insufficient privilege level/i.test(out)) {
    return new BmcError('auth', `${bmc} does not give user ${f.user} the ADMINISTRATOR privilege that power control needs`)
  }
  if (/RAKP 4 HMAC is invalid|invalid integrity check value|RAKP \d message indicates an error/i.test(out)) {
    return new BmcError('auth', `${bmc} did not accept the session with user ${f.user}: ${quote(out, /RAKP .*|invalid integrity.*/i)}`)
  }
  // Something answered RMCP+ but cannot speak the cipher suite we asked for.
  if (/invalid (authentication|integrity|confidentiality) algorithm|no matching cipher suite/i.test(out)) {
    return new BmcError('protocol', `${bmc} does not offer cipher suite ${f.cipherSuite} (${quote(out, /invalid \w+ algorithm|no matching cipher suite/i)}): enable it on the BMC or choose another suite`)
  }
  // The BMC answered the session but turned the command down with a completion code.
  const refusedCommand = /^(.*) failed: (.+)$/m.exec(f.stderr)
  if (refusedCommand && !SESSION_FAILED.test(out)) {
    return new BmcError('refused', `${bmc} refused \`${f.command}\`: ${refusedCommand[2]?.trim()}`)
  }

  // No answer: what the pings and the neighbour table learnt tells an absent BMC from a silent one.
  if (f.pings.noRoute) return new BmcError('unreachable', `no route to ${bmc}: check this machine's address on the BMC network`)
  if (f.arpUnresolved && !f.pings.answered) {
    return new BmcError('unreachable', `no route to ${bmc}: nobody answers at that address on the local network (no ARP reply); check the BMC's cable and address`)
  }
  if (f.pings.portClosed && !f.pings.answered) {
    return new BmcError('refused', `${where} refused IPMI: the host answers but nothing listens on UDP port ${f.port} (is IPMI over LAN enabled?)`)
  }
  if (f.pings.answered && (SESSION_FAILED.test(out) || f.timedOut)) {
    return new BmcError('protocol', `${bmc} answers RMCP pings but set up no IPMI 2.0 session with cipher suite ${f.cipherSuite}: check that IPMI over LAN (lanplus) is enabled for user ${f.user}`)
  }
  if (f.timedOut || NO_ANSWER.test(out) || SESSION_FAILED.test(out)) {
    return new BmcError('timeout', `${where} did not answer within ${secondsText(f.timeoutMs)}`)
  }
  return new BmcError('protocol', `${bmc}: \`${f.command}\` failed: ${firstLine(f.stderr) || firstLine(f.stdout) || 'ipmitool gave no reason'}`)
}

function firstLine(text: string): string {
  const lines = text.split('\n').map((l) => l.trim())
  // -v prints this before anything that matters.
  return (lines.find((l) => l.length > 0 && !/^Loading IANA PEN Registry/.test(l)) ?? '').slice(0, 200)
}

function quote(text: string, pattern: RegExp): string {
  return (pattern.exec(text)?.[0] ?? '').replace(/^[>\s]+/, '').trim().slice(0, 200)
}
