// One node's BMC as the server holds it (never with its password): loaded when the node's page
// opens, replaced by what each change returns.
import { useCallback, useEffect, useState } from 'react'
import type { NodeBmc } from '../../../src-main/model'
import { errorText } from '../errors/error-text'
import { useClient } from '../live/LiveContext'

export interface NodeBmcState {
  /** undefined while loading; null: the node has no BMC. */
  readonly bmc: NodeBmc | null | undefined
  readonly error: string | null
  /** What a change answered: setNodeBmc's BMC, or null after deleteNodeBmc. */
  readonly replace: (bmc: NodeBmc | null) => void
  readonly reload: () => void
}

export function useNodeBmc(nodeId: number): NodeBmcState {
  const client = useClient()
  const [bmc, setBmc] = useState<NodeBmc | null | undefined>(undefined)
  const [error, setError] = useState<string | null>(null)
  const [generation, setGeneration] = useState(0)

  useEffect(() => {
    let active = true
    client.api.getNodeBmc({ id: nodeId }).then(
      (b) => {
        if (!active) return
        setBmc(b)
        setError(null)
      },
      (err: unknown) => active && setError(`Cannot read the BMC: ${errorText(err)}`)
    )
    return () => {
      active = false
    }
  }, [client, nodeId, generation])

  const replace = useCallback((b: NodeBmc | null) => {
    setBmc(b)
    setError(null)
  }, [])
  const reload = useCallback(() => setGeneration((g) => g + 1), [])
  return { bmc, error, replace, reload }
}
