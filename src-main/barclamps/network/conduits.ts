// Conduits (DESIGN.md §5, Crowbar 2.0's network architecture): which physical interfaces carry a
// network, named without knowing the OS's interface names. `1g0` is the first interface of
// 1 Gb/s in the node's bus order, `10g1` the second of 10 Gb/s; a sign says what else may do when
// no interface has that speed: `+1g0` the first of at least 1 Gb/s, `-1g0` of at most, `?1g0` at
// least and else slower (Crowbar's order). A comma list is a bond of those interfaces. The bus
// order is the NICs' PCI paths as discovery reports them, unless an interface map for the node's
// hardware model gives it. Pure: the inventory in, the interfaces (or why not) out.

export interface DiscoveredNic {
  /** The OS's name on the discovery image (eth0, enp1s0). */
  readonly name: string
  readonly mac: string
  /** The link speed in Mb/s, as /sys/class/net/NAME/speed gives it; null when unknown (no link, a virtual NIC). */
  readonly speed_mbps: number | null
  /** The PCI path (0000:00:03.0), null when the NIC has none (a virtual device). */
  readonly bus_path: string | null
  readonly link?: boolean | null
}

/** An interface order for one hardware model: its bus paths first, in this order. */
export interface InterfaceMap {
  /** A regular expression on the node's product name (DMI). */
  readonly pattern: string
  readonly bus_order: readonly string[]
}

/** The speeds a conduit may name, slowest first. */
export const CONDUIT_SPEEDS = ['10m', '100m', '1g', '10g', '20g', '25g', '40g', '50g', '56g', '100g'] as const
export type ConduitSpeed = (typeof CONDUIT_SPEEDS)[number]
const SPEED_MBPS: Readonly<Record<ConduitSpeed, number>> = { '10m': 10, '100m': 100, '1g': 1_000, '10g': 10_000, '20g': 20_000, '25g': 25_000, '40g': 40_000, '50g': 50_000, '56g': 56_000, '100g': 100_000 }

export interface InterfaceRef {
  readonly sign: '' | '+' | '-' | '?'
  readonly speed: ConduitSpeed
  /** 0 is the first interface of that speed. */
  readonly index: number
}

export type Resolved<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly message: string }

const REF = /^([-+?]?)(\d{1,3}[mg])(\d{1,2})$/
/** At most this many interfaces in one bond. */
const MAX_BOND = 8

/** `1g0`, `+10g1`, `1g0,1g1`: the references of a conduit, or what is wrong with it. */
export function parseConduit(text: string): Resolved<InterfaceRef[]> {
  const parts = text.split(',').map((p) => p.trim())
  if (parts.length === 0 || parts.some((p) => p === '')) return { ok: false, message: `conduit "${text}" is empty or has an empty part: use e.g. 1g0, or 1g0,1g1 for a bond` }
  if (parts.length > MAX_BOND) return { ok: false, message: `conduit "${text}" bonds ${parts.length} interfaces: at most ${MAX_BOND}` }
  const refs: InterfaceRef[] = []
  for (const part of parts) {
    const m = REF.exec(part)
    const speed = CONDUIT_SPEEDS.find((s) => s === m?.[2])
    if (!m || !speed) return { ok: false, message: `"${part}" in conduit "${text}" is not an interface reference: a speed (${CONDUIT_SPEEDS.join(', ')}) and an index, e.g. 1g0 or ?10g1` }
    refs.push({ sign: (m[1] ?? '') as InterfaceRef['sign'], speed, index: Number(m[3]) })
  }
  return { ok: true, value: refs }
}

/**
 * The speed class a NIC counts under: its link speed's, rounded down to a conduit speed. A NIC
 * that reports no speed (no link yet, a virtual NIC) counts as 1 Gb/s, as Crowbar's inventory did.
 */
export function speedClassOf(nic: DiscoveredNic): ConduitSpeed {
  const mbps = nic.speed_mbps
  if (mbps === null || !Number.isFinite(mbps) || mbps <= 0) return '1g'
  let found: ConduitSpeed = '10m'
  for (const s of CONDUIT_SPEEDS) if (SPEED_MBPS[s] <= mbps) found = s
  return found
}

/** The NICs in bus order: a matching interface map's paths first (in its order), then by PCI path, then by name. */
export function busOrder(nics: readonly DiscoveredNic[], model?: string, maps: readonly InterfaceMap[] = []): DiscoveredNic[] {
  const map = model === undefined ? undefined : maps.find((m) => safeMatch(m.pattern, model))
  const rank = (n: DiscoveredNic): number => {
    const at = map && n.bus_path !== null ? map.bus_order.indexOf(n.bus_path) : -1
    return at >= 0 ? at : Number.MAX_SAFE_INTEGER
  }
  return [...nics].sort((a, b) => rank(a) - rank(b) || compareText(a.bus_path ?? '\uffff', b.bus_path ?? '\uffff') || compareText(a.name, b.name))
}

export interface ResolvedConduit {
  /** The interfaces, in the conduit's order; more than one: a bond of them. */
  readonly interfaces: readonly string[]
  readonly bond: boolean
}

export interface ConduitContext {
  readonly nodeName: string
  readonly network: string
  readonly model?: string | undefined
  readonly interfaceMaps?: readonly InterfaceMap[] | undefined
}

/** The node's interfaces a conduit names, or a message naming the node and the interfaces it has. */
export function resolveConduit(conduit: string, nics: readonly DiscoveredNic[], ctx: ConduitContext): Resolved<ResolvedConduit> {
  const parsed = parseConduit(conduit)
  if (!parsed.ok) return { ok: false, message: `network ${ctx.network}: ${parsed.message}` }
  const ordered = busOrder(nics, ctx.model, ctx.interfaceMaps)
  const bySpeed = new Map<ConduitSpeed, DiscoveredNic[]>()
  for (const nic of ordered) {
    const speed = speedClassOf(nic)
    bySpeed.set(speed, [...(bySpeed.get(speed) ?? []), nic])
  }
  const names: string[] = []
  for (const ref of parsed.value) {
    const nic = pick(ref, bySpeed)
    if (!nic) {
      return { ok: false, message: `network ${ctx.network}: conduit ${conduit} names ${refText(ref)}, which node ${ctx.nodeName} does not have; it has ${describe(ordered)}` }
    }
    if (names.includes(nic.name)) return { ok: false, message: `network ${ctx.network}: conduit ${conduit} names ${nic.name} twice on node ${ctx.nodeName} (${describe(ordered)})` }
    names.push(nic.name)
  }
  return { ok: true, value: { interfaces: names, bond: names.length > 1 } }
}

function pick(ref: InterfaceRef, bySpeed: ReadonlyMap<ConduitSpeed, readonly DiscoveredNic[]>): DiscoveredNic | undefined {
  const at = CONDUIT_SPEEDS.indexOf(ref.speed)
  const faster = CONDUIT_SPEEDS.slice(at)
  const slower = CONDUIT_SPEEDS.slice(0, at + 1).reverse()
  const order = ref.sign === '+' ? faster : ref.sign === '-' ? slower : ref.sign === '?' ? [...faster, ...slower.slice(1)] : [ref.speed]
  for (const speed of order) {
    const nic = bySpeed.get(speed)?.[ref.index]
    if (nic) return nic
  }
  return undefined
}

function refText(ref: InterfaceRef): string {
  const nth = `${ref.index + 1}${ordinal(ref.index + 1)}`
  const which = ref.sign === '+' ? `of at least ${ref.speed}` : ref.sign === '-' ? `of at most ${ref.speed}` : ref.sign === '?' ? `of ${ref.speed} or faster, else slower` : `of ${ref.speed}`
  return `${ref.sign}${ref.speed}${ref.index} (the ${nth} interface ${which})`
}

function ordinal(n: number): string {
  if (n % 100 >= 11 && n % 100 <= 13) return 'th'
  return n % 10 === 1 ? 'st' : n % 10 === 2 ? 'nd' : n % 10 === 3 ? 'rd' : 'th'
}

function describe(nics: readonly DiscoveredNic[]): string {
  if (nics.length === 0) return 'no network interfaces in its inventory'
  return nics.map((n) => `${n.name} (${speedClassOf(n)}${n.speed_mbps === null ? ', speed unknown' : ''}${n.bus_path ? `, ${n.bus_path}` : ''})`).join(', ')
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}

function safeMatch(pattern: string, text: string): boolean {
  try {
    return new RegExp(pattern).test(text)
  } catch {
    return false
  }
}
