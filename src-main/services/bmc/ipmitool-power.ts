// Power control over IPMI 2.0 (RMCP+, lanplus) through ipmitool, a declared external dependency
// (Debian package `ipmitool`), as MAAS and Ironic do. Why not an own RMCP+ client: RAKP key
// exchange, HMAC integrity and AES confidentiality are a large, security-sensitive surface that
// ipmitool has had years of exposure to real BMCs' quirks for; we keep only the small parts that
// need no secret (the ASF ping in rmcp-ping.ts).
import { spawn } from 'node:child_process'
import { BmcError, DEFAULT_BMC_TIMEOUT_MS, type BmcPower, type PowerState, type PxeOnceOptions } from './bmc-power'
import { ipmitoolFailure, parsePowerStatus } from './ipmitool-output'
import { arpUnresolved, startRmcpPinger } from './rmcp-ping'

export interface IpmiBmcOptions {
  readonly host: string
  /** UDP port of RMCP; 623 unless told. */
  readonly port?: number
  readonly user: string
  readonly password: string
  /**
   * RMCP+ cipher suite; 3 (RAKP-HMAC-SHA1, HMAC-SHA1-96, AES-CBC-128) unless told. Not ipmitool
   * 1.8.19's default 17: Debian's ipmi_sim 2.0.33 (and older BMCs) does not answer 17.
   */
  readonly cipherSuite?: number
  /** Bound on each operation, ipmitool's run and our diagnosis together. */
  readonly timeoutMs?: number
  /** The ipmitool binary; `ipmitool` on PATH unless told. */
  readonly ipmitoolPath?: string
}

/** IPMI 2.0 allows passwords of at most 20 bytes (RAKP key K_UID). */
const MAX_IPMI20_PASSWORD_BYTES = 20
/** What ipmitool may print before we stop reading: a status is one line, -v adds a few. */
const MAX_OUTPUT_BYTES = 64 * 1024
/** Time kept back from the bound to classify a failure (read the ARP table). */
const DIAGNOSIS_MS = 200

interface RunResult {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
  readonly timedOut: boolean
}

export class IpmiToolPower implements BmcPower {
  readonly host: string
  private readonly port: number
  private readonly user: string
  private readonly password: string
  private readonly cipherSuite: number
  private readonly timeoutMs: number
  private readonly ipmitoolPath: string

  constructor(options: IpmiBmcOptions) {
    this.host = options.host
    this.port = options.port ?? 623
    this.user = options.user
    this.password = options.password
    this.cipherSuite = options.cipherSuite ?? 3
    this.timeoutMs = options.timeoutMs ?? DEFAULT_BMC_TIMEOUT_MS
    this.ipmitoolPath = options.ipmitoolPath ?? 'ipmitool'
  }

  async status(): Promise<PowerState> {
    const r = await this.command(['chassis', 'power', 'status'])
    return parsePowerStatus(r.stdout, this.host)
  }

  async on(): Promise<void> {
    await this.command(['chassis', 'power', 'on'])
  }

  async off(): Promise<void> {
    await this.command(['chassis', 'power', 'off'])
  }

  async cycle(): Promise<void> {
    await this.command(['chassis', 'power', 'cycle'])
  }

  async reset(): Promise<void> {
    await this.command(['chassis', 'power', 'reset'])
  }

  async pxeOnce(options: PxeOnceOptions = {}): Promise<void> {
    // Without `persistent` the boot flags apply to the next boot only; `efiboot` sets the
    // "boot in EFI mode" bit (BIOS boot type) that UEFI-only firmware needs to pick its PXE entry.
    await this.command(['chassis', 'bootdev', 'pxe', ...(options.uefi ? ['options=efiboot'] : [])])
  }

  /** Runs one ipmitool command against the BMC; resolves with its output or rejects with a BmcError. */
  private async command(args: readonly string[]): Promise<RunResult> {
    const problem = this.invalidOption()
    if (problem) throw problem
    const pinger = startRmcpPinger(this.host, this.port)
    try {
      const run = this.run(args, pinger.decisive)
      const r = await run
      if (r.code === 0) return r
      throw ipmitoolFailure({
        host: this.host,
        port: this.port,
        user: this.user,
        cipherSuite: this.cipherSuite,
        command: args.join(' '),
        stdout: r.stdout,
        stderr: r.stderr,
        timedOut: r.timedOut,
        timeoutMs: this.timeoutMs,
        pings: pinger.findings(),
        arpUnresolved: await arpUnresolved(this.host)
      })
    } finally {
      pinger.stop()
    }
  }

  private invalidOption(): BmcError | undefined {
    if (!/^[A-Za-z0-9.:-]{1,253}$/.test(this.host) || this.host.startsWith('-')) {
      return new BmcError('protocol', `"${this.host.slice(0, 60)}" is not a BMC address (an IPv4/IPv6 address or host name)`)
    }
    if (Buffer.byteLength(this.password, 'utf8') > MAX_IPMI20_PASSWORD_BYTES) {
      return new BmcError('auth', `the password for BMC ${this.host} is longer than the 20 bytes IPMI 2.0 allows`)
    }
    if (this.user.length === 0 || this.user.length > 16 || this.user.startsWith('-')) {
      return new BmcError('auth', `the user name for BMC ${this.host} must be 1 to 16 characters (IPMI's limit)`)
    }
    return undefined
  }

  /**
   * ipmitool with an argument array (no shell), the password in its environment (`-E` reads
   * IPMI_PASSWORD; the command line is visible to every user in `ps`, the environment only to
   * this user and root), killed by PID at the bound or as soon as the pings settle the outcome.
   */
  private run(args: readonly string[], decisive: Promise<void>): Promise<RunResult> {
    const argv = ['-I', 'lanplus', '-C', String(this.cipherSuite), '-H', this.host, '-p', String(this.port), '-U', this.user, '-E', '-v', ...args]
    return new Promise((resolve, reject) => {
      let child
      try {
        child = spawn(this.ipmitoolPath, argv, {
          stdio: ['ignore', 'pipe', 'pipe'],
          env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LC_ALL: 'C', IPMI_PASSWORD: this.password }
        })
      } catch (err) {
        reject(this.spawnError(err))
        return
      }
      const proc = child
      let stdout = ''
      let stderr = ''
      let timedOut = false
      let done = false
      const kill = (): void => {
        if (proc.pid !== undefined && proc.exitCode === null && proc.signalCode === null) {
          try {
            process.kill(proc.pid, 'SIGKILL')
          } catch {
            // exited in between
          }
        }
      }
      const timer = setTimeout(
        () => {
          timedOut = true
          kill()
        },
        Math.max(1, this.timeoutMs - DIAGNOSIS_MS)
      )
      // No route, or the port closed: ipmitool would retry for its own 20 s; the answer is known.
      void decisive.then(() => {
        if (!done) kill()
      })
      proc.stdout.on('data', (d: Buffer) => {
        if (stdout.length < MAX_OUTPUT_BYTES) stdout += d.toString('utf8')
      })
      proc.stderr.on('data', (d: Buffer) => {
        if (stderr.length < MAX_OUTPUT_BYTES) stderr += d.toString('utf8')
      })
      proc.on('error', (err) => {
        if (done) return
        done = true
        clearTimeout(timer)
        reject(this.spawnError(err))
      })
      proc.on('close', (code) => {
        if (done) return
        done = true
        clearTimeout(timer)
        resolve({ code, stdout, stderr, timedOut })
      })
    })
  }

  private spawnError(err: unknown): BmcError {
    const code = (err as NodeJS.ErrnoException | undefined)?.code
    if (code === 'ENOENT') {
      return new BmcError('protocol', `ipmitool is not installed (Crowbar drives IPMI BMCs through it): run \`sudo apt-get install ipmitool\``)
    }
    return new BmcError('protocol', `could not run ipmitool for BMC ${this.host}: ${code ?? String(err)}`)
  }
}
