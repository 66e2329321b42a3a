// The install wizard's form: its fields as typed, the steps that hold them, and the API's
// validation message split into one message per field so each shows next to its input.
import type { SetupInput } from '../../../src-main/model'

export const SETUP_FIELDS = ['interface', 'v4_subnet', 'dhcp_first', 'dhcp_last', 'v6prefix', 'domain', 'admin_name'] as const
export type SetupField = (typeof SETUP_FIELDS)[number]
export type FieldErrors = Partial<Record<SetupField, string>>

export const STEPS = [
  { title: 'Interface', fields: ['interface'] },
  { title: 'Admin network', fields: ['v4_subnet', 'dhcp_first', 'dhcp_last', 'v6prefix'] },
  { title: 'Names', fields: ['domain', 'admin_name'] },
  { title: 'Review', fields: [] }
] as const satisfies ReadonlyArray<{ title: string; fields: readonly SetupField[] }>
export const REVIEW_STEP = STEPS.length - 1

export type V6Mode = 'auto' | 'none' | 'given'

export interface SetupForm {
  interface: string
  v4_subnet: string
  dhcp_first: string
  dhcp_last: string
  v6mode: V6Mode
  v6given: string
  domain: string
  admin_name: string
}

export function formFromProposal(p: SetupInput): SetupForm {
  const v6mode: V6Mode = p.v6prefix === null ? 'none' : p.v6prefix === 'auto' ? 'auto' : 'given'
  return { ...p, v6mode, v6given: v6mode === 'given' ? (p.v6prefix ?? '') : '' }
}

/** Choosing an interface takes its proposed network (its subnet, the dhcp range in it); names stay as typed. */
export function withInterface(form: SetupForm, proposal: SetupInput): SetupForm {
  return { ...form, interface: proposal.interface, v4_subnet: proposal.v4_subnet, dhcp_first: proposal.dhcp_first, dhcp_last: proposal.dhcp_last }
}

export function inputFromForm(form: SetupForm): SetupInput {
  return {
    interface: form.interface,
    v4_subnet: form.v4_subnet.trim(),
    dhcp_first: form.dhcp_first.trim(),
    dhcp_last: form.dhcp_last.trim(),
    v6prefix: form.v6mode === 'auto' ? 'auto' : form.v6mode === 'none' ? null : form.v6given.trim(),
    domain: form.domain.trim(),
    admin_name: form.admin_name.trim()
  }
}

const FIELD_START = new RegExp(`(?:^|; )(${SETUP_FIELDS.join('|')}): `, 'g')

/**
 * "setup is not valid: v4_subnet: ...; dhcp_last: ..." → one message per field; what names no
 * field stays whole in `other`. Messages may contain "; " themselves, so a new part starts only
 * where a field name follows.
 */
export function fieldErrors(message: string): { fields: FieldErrors; other: string | null } {
  const body = message.replace(/^(setup is not valid|invalid input for \w+): /, '')
  const starts = [...body.matchAll(FIELD_START)]
  if (starts.length === 0) return { fields: {}, other: message }
  const fields: FieldErrors = {}
  starts.forEach((m, i) => {
    const field = m[1] as SetupField
    const text = body.slice((m.index ?? 0) + m[0].length, starts[i + 1]?.index ?? body.length)
    fields[field] = fields[field] ? `${fields[field]}; ${text}` : text
  })
  const before = body.slice(0, starts[0]?.index ?? 0).trim()
  return { fields, other: before === '' ? null : before }
}

/** The first step that holds a field with an error (the review step if none does). */
export function firstStepWithError(errors: FieldErrors): number {
  const index = STEPS.findIndex((s) => (s.fields as readonly SetupField[]).some((f) => errors[f] !== undefined))
  return index < 0 ? REVIEW_STEP : index
}
