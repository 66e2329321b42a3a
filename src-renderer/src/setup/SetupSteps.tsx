// The install wizard's four steps: the interface, the admin network, the names, and the review of
// what will be created. Each input has its label, and the API's message for it right below.
import type { ReactNode } from 'react'
import type { SetupPlan, SetupState } from '../../../src-main/model'
import type { FieldErrors, SetupField, SetupForm, V6Mode } from './setup-form'

interface StepProps {
  readonly form: SetupForm
  readonly errors: FieldErrors
  readonly set: (change: Partial<SetupForm>) => void
}

const fieldId = (field: SetupField): string => `setup-${field}`

function FieldError({ field, errors }: { field: SetupField; errors: FieldErrors }) {
  const message = errors[field]
  if (!message) return null
  return (
    <p id={`${fieldId(field)}-error`} className="field-error" data-testid={`setup-error-${field}`}>
      {message}
    </p>
  )
}

function TextField(props: StepProps & { field: SetupField & keyof SetupForm; label: string; hint?: string; placeholder?: string }) {
  const { field, label, hint, placeholder, form, errors, set } = props
  const id = fieldId(field)
  const described = [errors[field] ? `${id}-error` : null, hint ? `${id}-hint` : null].filter(Boolean).join(' ')
  return (
    <div className="setup-field">
      <label htmlFor={id}>{label}</label>
      <input
        id={id}
        value={form[field]}
        onChange={(e) => set({ [field]: e.target.value })}
        aria-invalid={errors[field] ? true : undefined}
        aria-describedby={described || undefined}
        placeholder={placeholder}
        spellCheck={false}
        autoComplete="off"
      />
      {hint && (
        <p id={`${id}-hint`} className="hint">
          {hint}
        </p>
      )}
      <FieldError field={field} errors={errors} />
    </div>
  )
}

export function InterfaceStep({ form, errors, interfaces, choose }: StepProps & { interfaces: SetupState['interfaces']; choose: (name: string) => void }) {
  return (
    <fieldset className="setup-choices" aria-describedby={errors.interface ? 'setup-interface-error' : undefined}>
      <legend>Interface that faces the rack</legend>
      <p className="hint">The boot services (DHCP, TFTP, HTTP boot, DNS) will run on it. Choosing one fills in its subnet on the next step.</p>
      {interfaces
        .filter((i) => !i.loopback)
        .map((i) => (
          <label key={i.name} className="setup-choice">
            <input type="radio" name="setup-interface" value={i.name} checked={form.interface === i.name} disabled={i.unusable !== null} onChange={() => choose(i.name)} />
            <span>
              <strong>{i.name}</strong> {i.addresses.map((a) => `${a.address}/${a.prefix_length}`).join(', ')}
              {i.unusable && <span className="hint"> — {i.unusable}</span>}
            </span>
          </label>
        ))}
      <label className="setup-choice">
        <input type="radio" name="setup-interface" value="none" checked={form.interface === 'none'} onChange={() => choose('none')} />
        <span>
          <strong>None</strong> <span className="hint">— no boot services: the API and this window only</span>
        </span>
      </label>
      <FieldError field="interface" errors={errors} />
    </fieldset>
  )
}

const V6_CHOICES: ReadonlyArray<[V6Mode, string]> = [
  ['auto', 'Automatic: a unique-local /64 (fd…) chosen once for this installation'],
  ['none', 'None: IPv4 only'],
  ['given', 'This /64:']
]

export function NetworkStep(props: StepProps) {
  const { form, errors, set } = props
  return (
    <>
      <TextField {...props} field="v4_subnet" label="IPv4 subnet" placeholder="192.168.124.0/24" hint="The router is its first address; the admin node takes the admin range, known nodes the host range." />
      <TextField {...props} field="dhcp_first" label="DHCP range first address" hint="Unknown machines get an address from the DHCP range while they are discovered." />
      <TextField {...props} field="dhcp_last" label="DHCP range last address" />
      <fieldset className="setup-choices" aria-describedby={errors.v6prefix ? 'setup-v6prefix-error' : undefined}>
        <legend>IPv6 prefix</legend>
        {V6_CHOICES.map(([mode, text]) => (
          <label key={mode} className="setup-choice">
            <input type="radio" name="setup-v6mode" value={mode} checked={form.v6mode === mode} onChange={() => set({ v6mode: mode })} />
            <span>{text}</span>
          </label>
        ))}
        <input
          id="setup-v6prefix"
          aria-label="IPv6 prefix (/64)"
          value={form.v6given}
          placeholder="2001:db8:1:2::/64"
          disabled={form.v6mode !== 'given'}
          aria-invalid={errors.v6prefix ? true : undefined}
          onChange={(e) => set({ v6given: e.target.value })}
          spellCheck={false}
          autoComplete="off"
        />
        <FieldError field="v6prefix" errors={errors} />
      </fieldset>
    </>
  )
}

export function NamesStep(props: StepProps) {
  return (
    <>
      <TextField {...props} field="domain" label="Cluster domain" placeholder="crowbar.lab" hint="Every node's name ends in it; the embedded DNS answers for it." />
      <TextField {...props} field="admin_name" label="Admin node name" hint="This machine. A bare host name gets the cluster domain appended." />
    </>
  )
}

export function Row({ term, children }: { term: string; children: ReactNode }) {
  return (
    <>
      <dt>{term}</dt>
      <dd>{children}</dd>
    </>
  )
}

export function ReviewStep({ plan, children }: { plan: SetupPlan; children?: ReactNode }) {
  const range = (name: string) => {
    const r = plan.ranges.find((x) => x.name === name)
    return r ? (r.first === r.last ? r.first : `${r.first} – ${r.last}`) : 'none'
  }
  return (
    <>
      <p>Nothing has been created yet. Confirm creates the admin network and the admin node and commits them in the system deployment.</p>
      <dl className="setup-review" data-testid="setup-review">
        <Row term="Interface">{plan.interface === 'none' ? 'none (no boot services)' : plan.interface}</Row>
        <Row term="IPv4 subnet">{plan.v4_subnet}</Row>
        <Row term="Router">{plan.router}</Row>
        <Row term="Admin range">{range('admin')}</Row>
        <Row term="Host range">{range('host')}</Row>
        <Row term="DHCP range">{range('dhcp')}</Row>
        <Row term="IPv6 prefix">{plan.v6prefix === null ? 'none' : plan.v6prefix === 'auto' ? 'automatic (unique-local /64)' : plan.v6prefix}</Row>
        <Row term="Cluster domain">{plan.domain}</Row>
        <Row term="Admin node">
          {plan.admin_name}
          {plan.admin_address ? ` at ${plan.admin_address}` : ''}
        </Row>
        {children}
      </dl>
    </>
  )
}
