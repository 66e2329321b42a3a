// For tests: OpenIPMI's ipmi_sim (Debian package `openipmi`) as a BMC serving IPMI 2.0 over LAN
// inside a test namespace, its chassis wired to a shell script that keeps the power and boot device
// in files, so a test can see what the BMC was told. Started and stopped by PID. Needs root.
import { execFile, type ChildProcess } from 'node:child_process'
import { createSocket } from 'node:dgram'
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { encodePresencePing, isPresencePong } from '../services/bmc/rmcp-ping'
import { run, type TestLink } from './test-link'

export interface IpmiSimOptions {
  /** The namespace the BMC lives in; its peer end gets `address`. */
  readonly link: TestLink
  /** Defaults to the link's `.2`. */
  readonly address?: string
  readonly port?: number
  readonly user?: string
  readonly password?: string
}

export interface IpmiSim {
  readonly address: string
  readonly port: number
  readonly user: string
  readonly password: string
  readonly pid: number
  /** The power the chassis script holds now. */
  power(): Promise<'on' | 'off'>
  /** The boot device last set (`pxe`, `default`, ...). */
  bootDevice(): Promise<string>
  /** Every `set` the simulator asked of the chassis, in order: `power 1`, `reset 1`, `boot pxe`. */
  chassisLog(): Promise<string[]>
  stop(): Promise<void>
}

// ipmi_sim calls this as `chassis.sh 0x20 get power boot` / `chassis.sh 0x20 set power 1 ...`
// (lanserv/extcmd.c: through popen, output `name:value` per line). Files beside the script.
const CHASSIS_SCRIPT = `#!/bin/sh
dir=$(dirname "$0")
shift
op=$1
shift
case $op in
get)
  for p in "$@"; do
    case $p in
      power) echo "power:$(cat "$dir/power" 2>/dev/null || echo 0)" ;;
      boot) echo "boot:$(cat "$dir/boot" 2>/dev/null || echo default)" ;;
      *) echo "Invalid parameter: $p"; exit 1 ;;
    esac
  done ;;
set)
  while [ $# -ge 2 ]; do
    echo "$1 $2" >> "$dir/chassis.log"
    case $1 in
      power) echo "$2" > "$dir/power" ;;
      boot) echo "$2" > "$dir/boot" ;;
      identify) shift ;;
    esac
    shift 2
  done ;;
*) exit 1 ;;
esac
`

/** The simulator's one management controller (the BMC at 0x20), for ipmi_sim's -f file. */
export const IPMI_SIM_EMULATOR_COMMANDS = `mc_setbmc 0x20
mc_add 0x20 0 no-device-sdrs 0x23 9 8 0x9f 0x1291 0xf02
sel_enable 0x20 1000 0x0a
mc_enable 0x20
`

export interface IpmiSimLanConf {
  readonly name: string
  readonly address: string
  readonly port: number
  readonly user: string
  readonly password: string
  /** The chassis_control program (it gets `0x20 get|set ...`). */
  readonly chassisScript: string
  /** More lines inside the LAN block (lan_config_program ...). */
  readonly lanLines?: readonly string[]
  /** More lines after it (serial 15 ... codec VM). */
  readonly lines?: readonly string[]
}

/** ipmi_sim's lan.conf: IPMI 2.0 over LAN at address:port, user 2 an administrator (cipher suite 3 works). */
export function ipmiSimLanConf(o: IpmiSimLanConf): string {
  return [
    `name "${o.name}"`,
    'set_working_mc 0x20',
    '  startlan 1',
    `    addr ${o.address} ${o.port}`,
    '    priv_limit admin',
    '    allowed_auths_callback none md2 md5 straight',
    '    allowed_auths_user none md2 md5 straight',
    '    allowed_auths_operator none md2 md5 straight',
    '    allowed_auths_admin none md2 md5 straight',
    '    guid a123456789abcdefa123456789abcdef',
    ...(o.lanLines ?? []).map((l) => `    ${l}`),
    '  endlan',
    `  chassis_control "${o.chassisScript} 0x20"`,
    ...(o.lines ?? []).map((l) => `  ${l}`),
    `  user 2 true "${o.user}" "${o.password}" admin 10 none md2 md5 straight`,
    ''
  ].join('\n')
}

/** ipmitool run by hand against a BMC (lanplus, cipher suite 3, the password in its environment), as an engineer checks a reading. */
export function ipmitoolByHand(bmc: { readonly address: string; readonly port: number; readonly user: string; readonly password: string }, args: readonly string[], namespace?: string): Promise<string> {
  const argv = ['-I', 'lanplus', '-C', '3', '-H', bmc.address, '-p', String(bmc.port), '-U', bmc.user, '-E', ...args]
  const [file, fileArgs] = namespace ? ['ip', ['netns', 'exec', namespace, 'ipmitool', ...argv]] : ['ipmitool', argv]
  return new Promise((resolve) => {
    execFile(file, fileArgs, { env: { PATH: process.env.PATH, IPMI_PASSWORD: bmc.password }, timeout: 15_000, killSignal: 'SIGKILL' }, (_err, stdout) => resolve(String(stdout).trim()))
  })
}

const READY_TRIES = 50
const READY_INTERVAL_MS = 100

/** Answers an ASF ping from this namespace once it is listening; false after ~5 s. */
async function waitForPong(address: string, port: number): Promise<boolean> {
  const socket = createSocket('udp4')
  socket.on('error', () => undefined)
  const tag = 0x5a
  let answered = false
  socket.on('message', (m) => {
    if (isPresencePong(m, tag)) answered = true
  })
  try {
    for (let i = 0; i < READY_TRIES && !answered; i++) {
      socket.send(encodePresencePing(tag), port, address, () => undefined)
      await new Promise((r) => setTimeout(r, READY_INTERVAL_MS))
    }
  } finally {
    socket.close()
  }
  return answered
}

export async function startIpmiSim(options: IpmiSimOptions): Promise<IpmiSim> {
  const { link } = options
  const address = options.address ?? `${link.prefix}2`
  const port = options.port ?? 623
  const user = options.user ?? 'admin'
  const password = options.password ?? 'crowbar-test'
  const dir = await mkdtemp(join(tmpdir(), 'crowbar-ipmi-sim-'))
  const script = join(dir, 'chassis.sh')
  await writeFile(script, CHASSIS_SCRIPT)
  await chmod(script, 0o755)
  await writeFile(join(dir, 'power'), '0\n')
  await writeFile(join(dir, 'lan.conf'), ipmiSimLanConf({ name: 'crowbartest', address, port, user, password, chassisScript: script }), { mode: 0o600 })
  await writeFile(join(dir, 'sim.emu'), IPMI_SIM_EMULATOR_COMMANDS)
  const added = await run('ip', ['-n', link.namespace, 'addr', 'add', `${address}/24`, 'dev', link.peerIf])
  if (added.code !== 0 && !/exists/.test(added.stderr)) throw new Error(`cannot give ${link.peerIf} ${address}: ${added.stderr.trim()}`)

  let output = ''
  // `ip netns exec` execs ipmi_sim in place, so the child's PID is the simulator's.
  const child: ChildProcess = link.spawn('ipmi_sim', ['-c', join(dir, 'lan.conf'), '-f', join(dir, 'sim.emu'), '-n', '-p', '-s', join(dir, 'state')])
  child.stderr?.on('data', (d: Buffer) => {
    if (output.length < 8192) output += d.toString('utf8')
  })
  child.stdout?.on('data', (d: Buffer) => {
    if (output.length < 8192) output += d.toString('utf8')
  })
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  let stopped = false
  const stop = async (): Promise<void> => {
    if (stopped) return
    stopped = true
    if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) {
      try {
        process.kill(child.pid, 'SIGKILL')
      } catch {
        // gone already
      }
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5_000))])
    }
    await rm(dir, { recursive: true, force: true })
  }
  if (child.pid === undefined || !(await waitForPong(address, port))) {
    await stop()
    throw new Error(`ipmi_sim did not come up on ${address}:${port} in namespace ${link.namespace}: ${output.trim() || '(no output)'}`)
  }
  const readText = async (name: string, fallback: string): Promise<string> => {
    try {
      return (await readFile(join(dir, name), 'utf8')).trim()
    } catch {
      return fallback
    }
  }
  return {
    address,
    port,
    user,
    password,
    pid: child.pid,
    power: async () => ((await readText('power', '0')) === '1' ? 'on' : 'off'),
    bootDevice: () => readText('boot', 'default'),
    chassisLog: async () => (await readText('chassis.log', '')).split('\n').filter(Boolean),
    stop
  }
}
