// A lab VM behind a real BMC: OpenIPMI's ipmi_sim serves IPMI 2.0 over LAN (RMCP+, cipher suite 3)
// in the lab namespace, and its chassis is the VM: power on starts the VM's qemu, power off ends it,
// power status is whether that qemu runs. The VM starts off. qemu's ipmi-bmc-extern device talks to
// the same ipmi_sim over its system interface, so the VM sees the BMC in band (KCS, /dev/ipmi0).
//
// Why a chassis_control script and not ipmi_sim's own `startcmd`: ipmi_sim 2.0.33 routes power to
// chassis_control whenever one is configured, and boot flags (`chassis bootdev pxe`) work only with
// one (lanserv/bmc_chassis.c), so the script is where the VM is started and stopped.
import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises'
import { createServer, type Server, type Socket } from 'node:net'
import { join } from 'node:path'
import { run, type CommandResult } from './lab-network'
import { IPMI_SIM_EMULATOR_COMMANDS, ipmiSimLanConf } from '../../src-main/testing/ipmi-sim'
import { ConsoleLines, createVmDisk, formatSerial, qemuArgs, type LabVm, type SerialLine, type VmOptions } from './lab-vm'

export interface BmcVmOptions extends VmOptions {
  /**
   * Where the BMC serves IPMI over LAN: an address on the lab's network (e.g. 198.18.50.241, above
   * the layout's dhcp range), put on `lo` of the lab namespace as a /32. The app, which runs in that
   * namespace, reaches it locally; a VM on the bridge reaches it too (the namespace answers ARP
   * for its local addresses on br0).
   */
  readonly bmcAddress: string
  /** RMCP's UDP port; 623 unless told. */
  readonly bmcPort?: number
  /** The MAC the BMC reports (`lan print`); default 52:54:00:b0 and the VM MAC's last two bytes. */
  readonly bmcMac?: string
  /**
   * TCP port on 127.0.0.1 in the namespace where ipmi_sim takes qemu's system interface (KCS);
   * default 9000 + the BMC address's last byte, so BMC VMs with different addresses never share one.
   */
  readonly systemPort?: number
  readonly user?: string
  /** At most 20 bytes (IPMI 2.0). */
  readonly password?: string
}

export interface BmcCredentials {
  readonly address: string
  readonly port: number
  readonly user: string
  readonly password: string
  /** What `lan print` says is the BMC's MAC. */
  readonly mac: string
}

/**
 * As LabVm, except: `startedAt` is when the BMC came up (the VM is off then), console seconds count
 * from there; `waitForLine` rejects on its bound or stop(), not when qemu exits (a power off is
 * normal); `pid` is ipmi_sim's (qemu runs in the lab namespace, which the lab kills whole).
 */
export interface BmcVm extends LabVm {
  readonly bmc: BmcCredentials
  /** Power as the BMC reports it over LAN (`ipmitool -I lanplus -C 3 ... chassis power status`). */
  powerState(): Promise<'on' | 'off'>
  /** The boot device the BMC holds (`chassis bootparam get 5`): 'pxe', 'none', 'disk', 'cdrom', 'bios', ... */
  bootDevice(): Promise<string>
  /** performance.now() of each qemu start (its console connecting), oldest first. */
  readonly powerOns: readonly number[]
  /** Every `set` the BMC asked of the chassis, in order: `power 1`, `boot pxe`, `power 0`. */
  chassisLog(): Promise<string[]>
  /** The running qemu's PID, or undefined while powered off. */
  qemuPid(): Promise<number | undefined>
  /** ipmitool run by hand over LAN as the factory user (e.g. `user list 1`); rejects on failure. */
  byHand(command: readonly string[]): Promise<string>
}

const DEFAULT_PASSWORD = 'crowbar-lab'
const READY_TRIES = 50
const READY_INTERVAL_MS = 100
const IPMITOOL_TIMEOUT_MS = 15_000
const KILL_GRACE_MS = 5_000

/** Single-quoted for sh: the qemu command line goes into a script. */
const shellQuote = (s: string): string => `'${s.replaceAll("'", `'\\''`)}'`

// ipmi_sim runs this as `chassis.sh 0x20 get power boot` / `chassis.sh 0x20 set power 1 boot pxe`
// (lanserv/extcmd.c: popen, `name:value` lines). It blocks the simulator while it runs: it starts
// qemu in the background and waits at most ~3 s for it to die on power off.
const CHASSIS_SCRIPT = `#!/bin/sh
dir=$(dirname "$0")
shift
op=$1
shift
running() {
  pid=$(cat "$dir/qemu.pid" 2>/dev/null) || return 1
  [ -n "$pid" ] && [ -r "/proc/$pid/stat" ] || return 1
  # A zombie (not reaped yet) is off; so is a PID reused by another program.
  state=$(cut -d' ' -f3 "/proc/$pid/stat" 2>/dev/null)
  [ "$state" != Z ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = qemu-system-x86 ]
}
power_on() {
  running && return 0
  "$dir/start-qemu.sh" </dev/null >>"$dir/qemu.log" 2>&1 &
  echo $! >"$dir/qemu.pid"
}
power_off() {
  running || return 0
  kill -TERM "$pid" 2>/dev/null
  i=0
  while [ $i -lt 30 ] && running; do sleep 0.1; i=$((i + 1)); done
  running && kill -KILL "$pid" 2>/dev/null
  return 0
}
case $op in
get)
  for p in "$@"; do
    case $p in
      power) if running; then echo power:1; else echo power:0; fi ;;
      boot) echo "boot:$(cat "$dir/boot" 2>/dev/null || echo none)" ;;
      *) echo "Invalid parameter: $p"; exit 1 ;;
    esac
  done ;;
set)
  while [ $# -ge 2 ]; do
    echo "$1 $2" >>"$dir/chassis.log"
    case $1 in
      power) if [ "$2" = 1 ]; then power_on; else power_off; fi ;;
      reset) power_off; power_on ;;
      boot) echo "$2" >"$dir/boot" ;;
      identify) shift ;;
    esac
    shift 2
  done ;;
*) exit 1 ;;
esac
`

// ipmi_sim runs this as `lan.sh lan0 get ip_addr mac_addr ...` for `lan print` (over LAN and in
// band alike) and `lan.sh lan0 set ip_addr 10.0.0.5 ...` for `lan set`: values kept in files.
const LAN_SCRIPT = `#!/bin/sh
dir=$(dirname "$0")/lan
shift
op=$1
shift
case $op in
get)
  for p in "$@"; do
    [ -r "$dir/$p" ] || { echo "Invalid parameter: $p"; exit 1; }
    echo "$p:$(cat "$dir/$p")"
  done ;;
set)
  while [ $# -ge 2 ]; do
    [ -r "$dir/$1" ] || { echo "Invalid parameter: $1"; exit 1; }
    echo "$2" >"$dir/$1"
    shift 2
  done ;;
check)
  while [ $# -ge 2 ]; do
    case $1 in
      ip_addr_src) case $2 in static | dhcp) ;; *) echo "Invalid ip_addr_src: $2"; exit 1 ;; esac ;;
    esac
    shift 2
  done ;;
*) exit 1 ;;
esac
`

/** `chassis bootparam get 5`'s "Boot Device Selector" line, as a word. */
export function parseBootDevice(output: string): string {
  const selector = /Boot Device Selector\s*:\s*(.+)/.exec(output)?.[1]?.trim() ?? ''
  if (/No override/i.test(selector)) return 'none'
  if (/PXE/i.test(selector)) return 'pxe'
  if (/Hard-Drive/i.test(selector)) return 'disk'
  if (/CD|DVD/i.test(selector)) return 'cdrom'
  if (/BIOS Setup/i.test(selector)) return 'bios'
  return selector === '' ? 'unknown' : selector
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name)
  } catch {
    // already gone
  }
}

/** True while `pid` is a live (not zombie) process. */
async function alive(pid: number): Promise<boolean> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z'
  } catch {
    return false
  }
}

export async function startBmcVm(o: BmcVmOptions): Promise<BmcVm> {
  const port = o.bmcPort ?? 623
  const systemPort = o.systemPort ?? 9000 + Number(o.bmcAddress.split('.').at(-1) ?? 2)
  const user = o.user ?? 'admin'
  const password = o.password ?? DEFAULT_PASSWORD
  const mac = (o.bmcMac ?? `52:54:00:b0:${o.mac.split(':').slice(-2).join(':')}`).toLowerCase()
  const bmc: BmcCredentials = { address: o.bmcAddress, port, user, password, mac }
  const dir = join(o.dir, `${o.name}-bmc`)
  await mkdir(join(dir, 'lan'), { recursive: true })
  // Once: an install on the disk survives power cycles.
  const { disk, vars } = await createVmDisk(o)

  const startedAt = performance.now()
  const startedAtEpochMs = Date.now()
  const serial = new ConsoleLines(o.name, startedAt)
  const powerOns: number[] = []
  const pidFile = join(dir, 'qemu.pid')

  // The console: qemu connects to this socket at each start (a power-on), so its lines reach `lines`.
  const consolePath = join(dir, 'console.sock')
  const sockets = new Set<Socket>()
  const server: Server = createServer((socket) => {
    powerOns.push(performance.now())
    serial.restart()
    sockets.add(socket)
    socket.on('data', (chunk: Buffer) => serial.write(chunk))
    socket.on('error', () => undefined)
    socket.on('close', () => sockets.delete(socket))
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(consolePath, () => resolve())
  })

  const args = qemuArgs(o, disk, vars, 'chardev:console0')
  args.push('-chardev', `socket,id=console0,path=${consolePath}`)
  args.push('-chardev', `socket,id=ipmi0,host=127.0.0.1,port=${systemPort},reconnect=10`)
  args.push('-device', 'ipmi-bmc-extern,id=bmc0,chardev=ipmi0', '-device', 'isa-ipmi-kcs,bmc=bmc0')
  args.push('-pidfile', pidFile)
  // qemu would inherit ipmi_sim's sockets (RMCP, the system interface) through the chassis script
  // and keep the BMC's ports bound after the BMC is gone: perl (perl-base, always there) closes them.
  const closeFds = 'use POSIX; POSIX::close($_) for 3 .. 1023; exec { $ARGV[0] } @ARGV or die "exec $ARGV[0]: $!\\n"'
  await writeFile(join(dir, 'start-qemu.sh'), `#!/bin/sh\nexec perl -e ${shellQuote(closeFds)} qemu-system-x86_64 ${args.map(shellQuote).join(' ')}\n`, { mode: 0o755 })
  await writeFile(join(dir, 'chassis.sh'), CHASSIS_SCRIPT, { mode: 0o755 })
  await writeFile(join(dir, 'lan.sh'), LAN_SCRIPT, { mode: 0o755 })
  const lan: Record<string, string> = {
    ip_addr: o.bmcAddress,
    ip_addr_src: 'static',
    mac_addr: mac,
    subnet_mask: '255.255.255.0',
    default_gw_ip_addr: '0.0.0.0',
    default_gw_mac_addr: '00:00:00:00:00:00',
    backup_gw_ip_addr: '0.0.0.0',
    backup_gw_mac_addr: '00:00:00:00:00:00'
  }
  for (const [name, value] of Object.entries(lan)) await writeFile(join(dir, 'lan', name), `${value}\n`)
  await writeFile(join(dir, 'boot'), 'none\n')
  await writeFile(
    join(dir, 'lan.conf'),
    ipmiSimLanConf({
      name: o.name,
      address: o.bmcAddress,
      port,
      user,
      password,
      chassisScript: join(dir, 'chassis.sh'),
      lanLines: [`lan_config_program "${join(dir, 'lan.sh')} lan0"`],
      lines: [`serial 15 127.0.0.1 ${systemPort} codec VM`]
    }),
    { mode: 0o600 }
  )
  await writeFile(join(dir, 'sim.emu'), IPMI_SIM_EMULATOR_COMMANDS)

  const added = await run('ip', ['-n', o.namespace, 'addr', 'add', `${o.bmcAddress}/32`, 'dev', 'lo'])
  if (added.code !== 0 && !/exists/.test(added.stderr)) {
    server.close()
    throw new Error(`cannot give lo in ${o.namespace} the BMC address ${o.bmcAddress}: ${added.stderr.trim()}`)
  }

  // `ip netns exec` execs ipmi_sim in place: the child's PID is the simulator's.
  const sim: ChildProcess = spawn('ip', ['netns', 'exec', o.namespace, 'ipmi_sim', '-c', join(dir, 'lan.conf'), '-f', join(dir, 'sim.emu'), '-n', '-p', '-s', join(dir, 'state')], {
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let simOutput = ''
  const keep = (d: Buffer): void => {
    if (simOutput.length < 8192) simOutput += d.toString('utf8')
  }
  sim.stdout?.on('data', keep)
  sim.stderr?.on('data', keep)
  const simExited = new Promise<void>((resolve) => sim.once('exit', () => resolve()))
  sim.on('error', (err) => keep(Buffer.from(`cannot run ipmi_sim: ${err.message} (apt-get install openipmi)`)))
  const simPid = sim.pid ?? -1

  const ipmitool = (command: readonly string[]): Promise<CommandResult> =>
    new Promise((resolve) => {
      const argv = ['netns', 'exec', o.namespace, 'ipmitool', '-I', 'lanplus', '-C', '3', '-H', o.bmcAddress, '-p', String(port), '-U', user, '-E', ...command]
      execFile('ip', argv, { timeout: IPMITOOL_TIMEOUT_MS, killSignal: 'SIGKILL', env: { ...process.env, IPMI_PASSWORD: password } }, (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0
        resolve({ stdout: String(stdout), stderr: String(stderr), code })
      })
    })
  const must = async (command: readonly string[]): Promise<string> => {
    const r = await ipmitool(command)
    if (r.code !== 0) throw new Error(`${o.name}: ipmitool ${command.join(' ')} against ${o.bmcAddress}:${port} failed (${r.code}): ${r.stderr.trim()}`)
    return r.stdout
  }
  const powerState = async (): Promise<'on' | 'off'> => {
    const out = await must(['chassis', 'power', 'status'])
    if (/Chassis Power is on/.test(out)) return 'on'
    if (/Chassis Power is off/.test(out)) return 'off'
    throw new Error(`${o.name}: the BMC's power status is neither on nor off: ${out.trim()}`)
  }
  const bootDevice = async (): Promise<string> => parseBootDevice(await must(['chassis', 'bootparam', 'get', '5']))
  const qemuPid = async (): Promise<number | undefined> => {
    const pid = Number((await readFile(pidFile, 'utf8').catch(() => '')).trim())
    return Number.isInteger(pid) && pid > 0 && (await alive(pid)) ? pid : undefined
  }
  const chassisLog = async (): Promise<string[]> => (await readFile(join(dir, 'chassis.log'), 'utf8').catch(() => '')).split('\n').filter(Boolean)

  let stopping: Promise<void> | undefined
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      const simRunning = sim.exitCode === null && sim.signalCode === null
      // Off through the BMC first, as an operator would; then make sure by PID.
      if (simRunning && (await qemuPid()) !== undefined) await ipmitool(['chassis', 'power', 'off'])
      const pid = await qemuPid()
      if (pid !== undefined) {
        signal(pid, 'SIGTERM')
        for (let waited = 0; waited < KILL_GRACE_MS && (await alive(pid)); waited += 100) await new Promise((r) => setTimeout(r, 100))
        if (await alive(pid)) signal(pid, 'SIGKILL')
      }
      if (simRunning && simPid > 0) {
        signal(simPid, 'SIGTERM')
        const timer = setTimeout(() => signal(simPid, 'SIGKILL'), KILL_GRACE_MS)
        await simExited
        clearTimeout(timer)
      }
      for (const s of sockets) s.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
      serial.end('the BMC VM was stopped')
      await run('ip', ['-n', o.namespace, 'addr', 'del', `${o.bmcAddress}/32`, 'dev', 'lo'])
      await writeFile(o.serialPath, formatSerial(serial.lines))
      await rm(consolePath, { force: true })
    })()
    return stopping
  }

  // Ready once the BMC answers over LAN (bounded); it must say off: nothing runs yet.
  let ready = false
  for (let i = 0; i < READY_TRIES && !ready && sim.exitCode === null; i++) {
    const r = await ipmitool(['chassis', 'power', 'status'])
    ready = r.code === 0 && /Chassis Power is off/.test(r.stdout)
    if (!ready) await new Promise((r) => setTimeout(r, READY_INTERVAL_MS))
  }
  if (!ready) {
    await stop()
    throw new Error(`${o.name}: ipmi_sim did not answer on ${o.bmcAddress}:${port} in ${o.namespace}: ${simOutput.trim() || '(no output)'}`)
  }

  const waitForLine = (pattern: RegExp, timeoutMs: number): Promise<SerialLine> => serial.waitForLine(pattern, timeoutMs)
  return {
    byHand: must,
    name: o.name,
    firmware: o.firmware,
    mac: o.mac,
    startedAt,
    startedAtEpochMs,
    serialPath: o.serialPath,
    lines: serial.lines,
    waitForLine,
    stop,
    pid: simPid,
    bmc,
    powerState,
    bootDevice,
    powerOns,
    chassisLog,
    qemuPid
  }
}
