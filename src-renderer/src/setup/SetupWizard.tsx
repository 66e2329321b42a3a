// The install wizard (DESIGN.md §8): interface (with its network preflight), admin network, names,
// review. Each Next asks the API to check the choices (it writes nothing) and stays with the API's
// messages shown by their fields; only Confirm creates anything.
import { useEffect, useRef, useState, type FormEvent } from 'react'
import type { SetupInput, SetupPlan, SetupState } from '../../../src-main/model'
import { errorText } from '../errors/error-text'
import { ErrorAlert } from '../errors/ErrorAlert'
import { useClient } from '../live/LiveContext'
import { fieldErrors, firstStepWithError, formFromProposal, inputFromForm, REVIEW_STEP, STEPS, withInterface, type FieldErrors, type SetupForm } from './setup-form'
import { PreflightReport, type DhcpMode } from './PreflightReport'
import { InterfaceStep, NamesStep, NetworkStep, ReviewStep, Row } from './SetupSteps'
import { usePreflight } from './use-preflight'

interface Props {
  readonly setup: SetupState
  /** After Confirm succeeded (or found the setup already done): show the main window. */
  readonly onDone: () => void
}

export function SetupWizard({ setup, onDone }: Props) {
  const client = useClient()
  const [step, setStep] = useState(0)
  const [form, setForm] = useState<SetupForm>(() => formFromProposal(setup.proposal))
  const [errors, setErrors] = useState<FieldErrors>({})
  const [other, setOther] = useState<string | null>(null)
  const [plan, setPlan] = useState<SetupPlan | null>(null)
  const [busy, setBusy] = useState(false)
  // The preflight of the chosen interface, the DHCP mode (its recommendation until changed), and
  // the operator's word that an interface holding the default route may be served.
  const { preflight, check } = usePreflight(form.interface)
  const [dhcpMode, setDhcpMode] = useState<DhcpMode | null>(null)
  const [confirmed, setConfirmed] = useState(false)
  const [officeRefused, setOfficeRefused] = useState(false)
  const report = preflight?.iface === form.interface ? preflight.report : null
  const recommended = report?.recommendation.dhcp ?? null
  // Each move (Next, Back, a refusal) counts as a visit: focus follows visits, never typing.
  const [visit, setVisit] = useState(0)
  const heading = useRef<HTMLHeadingElement>(null)
  const focusField = useRef<string | null>(null)

  // Keyboard and screen-reader users land on the new step's title, or on the field to correct.
  useEffect(() => {
    if (visit === 0) return
    const target = (focusField.current && document.getElementById(focusField.current)) || heading.current
    focusField.current = null
    target?.focus()
  }, [visit])

  const set = (change: Partial<SetupForm>): void => {
    setForm((f) => ({ ...f, ...change }))
    // A changed field's old message no longer applies.
    setErrors((e) => {
      const next = { ...e }
      for (const key of Object.keys(change)) delete next[(key === 'v6mode' || key === 'v6given' ? 'v6prefix' : key) as keyof FieldErrors]
      return next
    })
  }

  useEffect(() => setDhcpMode(recommended), [recommended])

  const choose = (name: string): void => {
    if (name !== form.interface) {
      check(name)
      setConfirmed(false)
      setOfficeRefused(false)
      setOther(null)
    }
    const proposal = name === 'none' ? setup.proposal : setup.interfaces.find((i) => i.name === name)?.proposal
    if (proposal) setForm((f) => withInterface(f, proposal))
    setErrors((e) => ({ ...e, interface: undefined, v4_subnet: undefined, dhcp_first: undefined, dhcp_last: undefined }))
  }

  /** Shows the API's refusal by its fields; returns the fields it named. */
  const refused = (err: unknown): FieldErrors => {
    const split = fieldErrors(errorText(err))
    if (errorText(err).includes('confirm_default_route')) setOfficeRefused(true)
    setErrors(split.fields)
    setOther(split.other)
    return split.fields
  }

  const go = (to: number, fields: FieldErrors = {}): void => {
    const field = STEPS[to]?.fields.find((f) => fields[f] !== undefined)
    focusField.current = field ? `setup-${field}` : null
    setStep(to)
    setVisit((v) => v + 1)
  }

  const next = async (): Promise<void> => {
    try {
      const checked = await client.api.checkSetup(input())
      setErrors({})
      setOther(null)
      setPlan(checked)
      go(step + 1)
    } catch (err) {
      const fields = refused(err)
      const first = firstStepWithError(fields)
      // This step's (or an earlier one's) problems are shown there; a later step's wait for it.
      if (Object.keys(fields).length === 0 || first <= step) go(Math.min(first, step), fields)
      else go(step + 1, fields)
    }
  }

  const confirm = async (): Promise<void> => {
    try {
      await client.api.completeSetup(input())
      onDone()
    } catch (err) {
      const fields = refused(err)
      if (Object.keys(fields).length > 0) go(firstStepWithError(fields), fields)
      else if (errorText(err).includes('confirm_default_route')) go(0)
    }
  }

  const input = (): SetupInput => ({
    ...inputFromForm(form),
    ...(confirmed ? { confirm_default_route: true } : {}),
    ...(dhcpMode && form.interface !== 'none' ? { dhcp_mode: dhcpMode } : {})
  })
  const officeNetwork = form.interface !== 'none' && (report?.default_route === true || officeRefused)
  const listening = step === 0 && preflight?.iface === form.interface && preflight.running
  const blocked = listening || (officeNetwork && !confirmed)

  const submit = (e: FormEvent): void => {
    e.preventDefault()
    if (blocked) return
    setBusy(true)
    void (step === REVIEW_STEP ? confirm() : next()).finally(() => setBusy(false))
  }

  const title = STEPS[step]?.title ?? ''
  return (
    <main className="setup">
      <form className="setup-card" onSubmit={submit} aria-labelledby="setup-title" noValidate>
        <h1 id="setup-title">Set up Crowbar Desktop</h1>
        <ol className="setup-steps" aria-label="Steps">
          {STEPS.map((s, i) => (
            <li key={s.title} aria-current={i === step ? 'step' : undefined} className={i < step ? 'done' : undefined}>
              {s.title}
            </li>
          ))}
        </ol>
        <h2 ref={heading} tabIndex={-1}>
          Step {step + 1} of {STEPS.length}: {title}
        </h2>
        {step === 0 && <InterfaceStep form={form} errors={errors} set={set} interfaces={setup.interfaces} choose={choose} />}
        {step === 0 && preflight?.iface === form.interface && (
          <PreflightReport preflight={preflight} mode={dhcpMode} onMode={setDhcpMode} officeNetwork={officeNetwork} confirmed={confirmed} onConfirm={setConfirmed} />
        )}
        {step === 1 && <NetworkStep form={form} errors={errors} set={set} />}
        {step === 2 && <NamesStep form={form} errors={errors} set={set} />}
        {step === REVIEW_STEP && plan && (
          <ReviewStep plan={plan}>
            {plan.interface !== 'none' && dhcpMode && <Row term="DHCP mode">{dhcpMode === 'full' ? 'full DHCP' : 'proxyDHCP'}</Row>}
            {confirmed && <Row term="Office network">confirmed: served although it holds the default route</Row>}
          </ReviewStep>
        )}
        <ErrorAlert messages={other ? [other] : []} testId="setup-error" />
        <div className="actions">
          <button type="button" disabled={step === 0 || busy} onClick={() => go(step - 1)}>
            Back
          </button>
          <button type="submit" className="primary" disabled={busy || blocked}>
            {step === REVIEW_STEP ? 'Confirm' : 'Next'}
          </button>
          {busy && <span role="status">{step === REVIEW_STEP ? 'Creating…' : 'Checking…'}</span>}
          {!busy && listening && <span className="hint">Waiting for the network check…</span>}
          {!busy && !listening && officeNetwork && !confirmed && <span className="hint">Confirm the office network above to go on.</span>}
        </div>
      </form>
    </main>
  )
}
