// Shows the install wizard while the setup is pending, the main window once it is done (here or in
// another window: the 'setup' change says so), and why the boot services did not start, if so.
import { useCallback, useEffect, useRef, useState, type ReactNode } from 'react'
import type { SetupState } from '../../../src-main/model'
import { errorText } from '../errors/error-text'
import { ErrorAlert } from '../errors/ErrorAlert'
import { useClient, useLiveChanges } from '../live/LiveContext'
import { SetupWizard } from './SetupWizard'

export function SetupGate({ children }: { children: ReactNode }) {
  const client = useClient()
  const changes = useLiveChanges()
  const [setup, setSetup] = useState<SetupState | null>(null)
  const [error, setError] = useState<string | null>(null)
  const [dismissed, setDismissed] = useState(false)
  const active = useRef(true)

  const load = useCallback(() => {
    client.api.getSetup({}).then(
      (state) => {
        if (!active.current) return
        setSetup(state)
        setError(null)
      },
      (err: unknown) => active.current && setError(errorText(err))
    )
  }, [client])

  // Loaded at once, not when the change stream connects: with the stream down the main window
  // must still show (and say the stream is lost); the stream only tells of a setup done elsewhere.
  useEffect(() => {
    active.current = true
    load()
    const stop = changes.listen({ onChange: (e) => e.kind === 'setup' && load(), onConnected: load })
    return () => {
      active.current = false
      stop()
    }
  }, [changes, load])

  if (setup === null) return error ? <ErrorAlert messages={[error]} /> : <p className="loading">Loading…</p>
  if (setup.state === 'pending') return <SetupWizard setup={setup} onDone={load} />
  const boot = setup.boot
  return (
    <>
      {children}
      {boot.error && !dismissed && (
        <div className="setup-boot-alert">
          <ErrorAlert
            messages={[`The setup is done, but the boot services did not start on ${boot.interface ?? 'the interface'}: ${boot.error.replace(/\.$/, '')}. Fix that and start Crowbar again.`]}
            onDismiss={() => setDismissed(true)}
            testId="boot-error"
          />
        </div>
      )}
    </>
  )
}
