// The network preflight of the interface the wizard has chosen: run when it is chosen (it listens
// on the link for about 2 s), its report kept for that interface; a later choice wins over an
// earlier one still listening.
import { useCallback, useEffect, useRef, useState } from 'react'
import type { PreflightReport } from '../../../src-main/model'
import { errorText } from '../errors/error-text'
import { useClient } from '../live/LiveContext'

export interface Preflight {
  readonly iface: string
  readonly running: boolean
  readonly report: PreflightReport | null
  readonly error: string | null
}

export function usePreflight(initial: string): { preflight: Preflight | null; check: (iface: string) => void } {
  const client = useClient()
  const [preflight, setPreflight] = useState<Preflight | null>(null)
  const latest = useRef(0)
  const mounted = useRef(true)

  useEffect(() => {
    mounted.current = true
    return () => {
      mounted.current = false
    }
  }, [])

  const check = useCallback(
    (iface: string) => {
      const ask = ++latest.current
      if (iface === 'none') {
        setPreflight(null)
        return
      }
      setPreflight({ iface, running: true, report: null, error: null })
      client.api.preflight({ interface: iface }).then(
        (report) => mounted.current && ask === latest.current && setPreflight({ iface, running: false, report, error: null }),
        (err: unknown) => mounted.current && ask === latest.current && setPreflight({ iface, running: false, report: null, error: errorText(err) })
      )
    },
    [client]
  )

  // The interface proposed at the start is checked as if chosen.
  const first = useRef(initial)
  useEffect(() => check(first.current), [check])

  return { preflight, check }
}
