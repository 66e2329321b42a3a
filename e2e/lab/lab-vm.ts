// One lab VM: qemu under TCG on a tap device in the lab namespace, an empty disk, PXE first. Its
// serial console is kept with each line's time since the VM started (the test's clock).
import { spawn, type ChildProcess } from 'node:child_process'
import { copyFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { run } from './lab-network'

/**
 * bios: SeaBIOS with the iPXE ROM of ipxe-qemu (iPXE's DHCP, then our iPXE script).
 * uefi: OVMF with edk2's own PXE client (no NIC ROM): DHCP arch 7, TFTP of ipxe.efi, then iPXE.
 * uefi-ipxe: OVMF with the iPXE EFI ROM of ipxe-qemu.
 */
export type Firmware = 'bios' | 'uefi' | 'uefi-ipxe'
export const FIRMWARES: readonly Firmware[] = ['bios', 'uefi', 'uefi-ipxe']

const OVMF_CODE = '/usr/share/OVMF/OVMF_CODE_4M.fd'
const OVMF_VARS = '/usr/share/OVMF/OVMF_VARS_4M.fd'

export interface VmOptions {
  readonly name: string
  readonly firmware: Firmware
  readonly namespace: string
  readonly tap: string
  readonly mac: string
  /** Scratch space for the disk and the OVMF variables. */
  readonly dir: string
  /** Where the console is written when the VM stops. */
  readonly serialPath: string
  readonly memoryMiB?: number
  /** The NIC model (default virtio-net-pci; e1000 links up about 2.5 s later). */
  readonly nic?: 'virtio-net-pci' | 'e1000'
}

export interface SerialLine {
  readonly seconds: number
  readonly text: string
}

export interface LabVm {
  readonly name: string
  readonly firmware: Firmware
  readonly mac: string
  /** performance.now() and Date.now() when qemu was started. */
  readonly startedAt: number
  readonly startedAtEpochMs: number
  readonly serialPath: string
  readonly lines: readonly SerialLine[]
  /** Seconds since start of the first console line matching `pattern`; rejects after `timeoutMs` or if qemu exits. */
  waitForLine(pattern: RegExp, timeoutMs: number): Promise<SerialLine>
  /** SIGTERM, SIGKILL after 5 s, wait for exit, write the serial log. Idempotent. */
  stop(): Promise<void>
  readonly pid: number
}

/**
 * The VM's qemu command line. `serial` is qemu's -serial backend: `stdio` for a VM that is the
 * test's child, `chardev:ID` (with that chardev defined by the caller) for one started by a BMC.
 */
export function qemuArgs(o: VmOptions, disk: string, vars: string, serial = 'stdio'): string[] {
  const args = ['-name', o.name, '-accel', 'tcg', '-m', String(o.memoryMiB ?? 1024), '-smp', '1']
  // -nographic puts SeaBIOS and iPXE on the serial port too; the monitor is off.
  args.push('-nographic', '-monitor', 'none', '-serial', serial)
  if (o.firmware !== 'bios') {
    args.push('-machine', 'q35')
    args.push('-drive', `if=pflash,format=raw,readonly=on,file=${OVMF_CODE}`, '-drive', `if=pflash,format=raw,file=${vars}`)
    // No PXE over IPv6: booting the disk after an install, OVMF would first wait ~64 s for it to fail.
    args.push('-fw_cfg', 'name=opt/org.tianocore/IPv6PXESupport,string=no')
  }
  // The disk boots second: after an install, PXE hands over to it (iPXE `exit`, or no boot file).
  args.push('-drive', `file=${disk},if=none,id=disk0,format=qcow2`, '-device', 'virtio-blk-pci,drive=disk0,bootindex=2')
  // A virtio RNG so the kernel's random pool is ready early (dropbear's host key waits for it).
  args.push('-device', 'virtio-rng-pci')
  args.push('-netdev', `tap,id=net0,ifname=${o.tap},script=no,downscript=no`)
  // bootindex=1: PXE first (OVMF would try the empty disk and CD first).
  const rom = o.firmware === 'uefi' ? ',romfile=' : ''
  args.push('-device', `${o.nic ?? 'virtio-net-pci'},netdev=net0,mac=${o.mac},bootindex=1${rom}`)
  return args
}

/** The disk (created once: it outlives power cycles) and, for UEFI, the VM's own OVMF variables. */
export async function createVmDisk(o: VmOptions): Promise<{ disk: string; vars: string }> {
  const disk = join(o.dir, `${o.name}.qcow2`)
  const vars = join(o.dir, `${o.name}.OVMF_VARS.fd`)
  const made = await run('qemu-img', ['create', '-q', '-f', 'qcow2', disk, '8G'])
  if (made.code !== 0) throw new Error(`qemu-img create failed: ${made.stderr.trim()} (apt-get install qemu-utils)`)
  if (o.firmware !== 'bios') await copyFile(OVMF_VARS, vars)
  return { disk, vars }
}

/**
 * A VM console's lines as they arrive, each with its seconds since `startedAt`. Lines end in \r\n
 * or \n; firmware writes escape sequences and lone \r for progress bars.
 */
export class ConsoleLines {
  readonly lines: SerialLine[] = []
  private partial = ''
  private ended: string | null = null
  private readonly waiters = new Set<() => void>()

  constructor(
    private readonly name: string,
    private readonly startedAt: number
  ) {}

  write(chunk: Buffer): void {
    this.partial += chunk.toString('latin1')
    let nl = this.partial.indexOf('\n')
    while (nl >= 0) {
      const raw = this.partial.slice(0, nl)
      this.partial = this.partial.slice(nl + 1)
      // eslint-disable-next-line no-control-regex -- stripping terminal escapes from a console
      const text = raw.replace(/\x1b\[[0-9;?=]*[A-Za-z]/g, '').replace(/\r/g, '').trimEnd()
      if (text !== '') this.lines.push({ seconds: (performance.now() - this.startedAt) / 1000, text })
      nl = this.partial.indexOf('\n')
    }
    if (this.partial.length > 65_536) this.partial = this.partial.slice(-4_096)
    this.wake()
  }

  /** A new stream begins (the VM was powered on again): an unfinished line of the last one is dropped. */
  restart(): void {
    this.partial = ''
  }

  /** No line will come any more (e.g. `qemu exited (code 0)`): pending and later waits reject with it. */
  end(reason: string): void {
    this.ended ??= reason
    this.wake()
  }

  /** The first console line matching `pattern`; rejects after `timeoutMs` or once the console ended. */
  waitForLine(pattern: RegExp, timeoutMs: number): Promise<SerialLine> {
    const { lines, name } = this
    return new Promise<SerialLine>((resolve, reject) => {
      let checked = 0
      const check = (): void => {
        for (; checked < lines.length; checked++) {
          const line = lines[checked] as SerialLine
          if (pattern.test(line.text)) return finish(() => resolve(line))
        }
        if (this.ended) finish(() => reject(new Error(`${name}: ${this.ended} before a console line matched ${pattern}`)))
      }
      const timer = setTimeout(
        () => finish(() => reject(new Error(`${name}: no console line matched ${pattern} within ${timeoutMs / 1000} s; last lines:\n${tail(lines)}`))),
        timeoutMs
      )
      const finish = (then: () => void): void => {
        clearTimeout(timer)
        this.waiters.delete(check)
        then()
      }
      this.waiters.add(check)
      check()
    })
  }

  private wake(): void {
    for (const w of this.waiters) w()
  }
}

export async function startVm(o: VmOptions): Promise<LabVm> {
  const { serialPath } = o
  const { disk, vars } = await createVmDisk(o)

  const startedAt = performance.now()
  const startedAtEpochMs = Date.now()
  const serial = new ConsoleLines(o.name, startedAt)
  const child: ChildProcess = spawn('ip', ['netns', 'exec', o.namespace, 'qemu-system-x86_64', ...qemuArgs(o, disk, vars)], {
    stdio: ['ignore', 'pipe', 'pipe']
  })
  if (child.pid === undefined) throw new Error('qemu-system-x86_64 did not start (apt-get install qemu-system-x86)')
  const pid = child.pid
  let exited: string | null = null
  const exitedPromise = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      exited = signal ? `signal ${signal}` : `code ${code}`
      serial.end(`qemu exited (${exited})`)
      resolve()
    })
  })
  const onData = (chunk: Buffer): void => serial.write(chunk)
  child.stdout?.on('data', onData)
  child.stderr?.on('data', onData)
  const { lines } = serial
  const waitForLine = (pattern: RegExp, timeoutMs: number): Promise<SerialLine> => serial.waitForLine(pattern, timeoutMs)

  let stopping: Promise<void> | undefined
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      if (!exited) {
        signal(pid, 'SIGTERM')
        let timer: ReturnType<typeof setTimeout> | undefined
        const grace = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), 5_000)))
        const outcome = await Promise.race([exitedPromise.then(() => 'exited' as const), grace])
        clearTimeout(timer)
        if (outcome === 'timeout') {
          signal(pid, 'SIGKILL')
          await exitedPromise
        }
      }
      await writeFile(serialPath, formatSerial(lines))
    })()
    return stopping
  }

  return { name: o.name, firmware: o.firmware, mac: o.mac, startedAt, startedAtEpochMs, serialPath, lines, waitForLine, stop, pid }
}

/** The console as kept: seconds since VM start, then the line. */
export function formatSerial(lines: readonly SerialLine[]): string {
  return lines.map((l) => `${l.seconds.toFixed(2).padStart(7)} ${l.text}`).join('\n') + '\n'
}

function tail(lines: readonly SerialLine[]): string {
  return lines
    .slice(-15)
    .map((l) => `  ${l.seconds.toFixed(2)} ${l.text}`)
    .join('\n')
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name)
  } catch {
    // already gone
  }
}
