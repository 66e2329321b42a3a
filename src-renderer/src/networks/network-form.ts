// The network editor's form: text fields as typed, to and from the contract's network shapes.
// Only what a form cannot say is checked here (numbers); the API validates the rest and its
// messages are shown as they come.
import type { Network, NetworkInput } from '../../../src-main/model'

export interface RangeRow {
  name: string
  first: string
  last: string
}

export interface RouterRow {
  address: string
  pref: string
}

export interface NetworkForm {
  name: string
  category: Network['category']
  vlan: string
  v4_subnet: string
  v6prefix: string
  ranges: RangeRow[]
  routers: RouterRow[]
  bond: Network['bond']
}

export type NetworkSettings = Omit<NetworkInput, 'name'>

export function emptyForm(): NetworkForm {
  return { name: '', category: 'other', vlan: '0', v4_subnet: '', v6prefix: '', ranges: [], routers: [], bond: null }
}

export function formFromNetwork(n: Network): NetworkForm {
  return {
    name: n.name,
    category: n.category,
    vlan: String(n.vlan),
    v4_subnet: n.v4_subnet ?? '',
    v6prefix: n.v6prefix_setting ?? '',
    ranges: n.ranges.map((r) => ({ name: r.name, first: r.first, last: r.last })),
    routers: n.routers.map((r) => ({ address: r.address, pref: String(r.pref) })),
    bond: n.bond
  }
}

function wholeNumber(text: string, what: string, min: number, max: number): number {
  const t = text.trim()
  const n = Number(t)
  if (t === '' || !Number.isInteger(n) || n < min || n > max) throw new Error(`${what} must be a whole number from ${min} to ${max}`)
  return n
}

const orNull = (text: string): string | null => (text.trim() === '' ? null : text.trim())

/** The settings to send; throws with a message for fields that are not numbers where numbers go. */
export function settingsFromForm(form: NetworkForm): NetworkSettings {
  return {
    category: form.category,
    vlan: wholeNumber(form.vlan, 'VLAN', 0, 4094),
    bond: form.bond,
    v4_subnet: orNull(form.v4_subnet),
    v6prefix: orNull(form.v6prefix),
    ranges: form.ranges.map((r) => ({ name: r.name.trim(), first: r.first.trim(), last: r.last.trim() })),
    routers: form.routers.map((r, i) => ({ address: r.address.trim(), pref: wholeNumber(r.pref, `router ${i + 1}'s preference`, 0, 65535) }))
  }
}
