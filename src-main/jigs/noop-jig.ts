// The noop jig: succeeds at once with an empty wall. For logical roles that only order others.
import type { Jig, JigOutcome } from './jig'

export class NoopJig implements Jig {
  readonly name = 'noop'
  async run(): Promise<JigOutcome> {
    return { ok: true, wall: {}, log: '' }
  }
}
