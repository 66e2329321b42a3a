// Boot progress (DESIGN.md §6.2), pure: how far one machine's boot got, from its flight-recorder
// timeline: PXE → discovery → install → local disk → alive. The timeline readers are diagnosis's.
import type { BootEvent, BootPhase, BootProgress } from '../../model'
import type { BootEventKinds } from '../../store/boot-progress-events'
import { BOOTENVS_WITHOUT_INSTALL, discoveryNames, fileOf, INSTALLER_KERNELS, isFetched, isKernel, num, ordered, str, type BootFacts, type Timed } from './boot-diagnosis'

/** The events bootProgress reads: a store query for many nodes selects only these. */
export const PROGRESS_EVENT_KINDS: BootEventKinds = {
  sources: ['api', 'install'],
  events: [
    ['dhcp', 'discover'],
    ['tftp', 'transfer_complete'],
    ['http', 'http_get']
  ]
}

export function isProgressEvent(e: Pick<BootEvent, 'source' | 'event'>): boolean {
  return PROGRESS_EVENT_KINDS.sources.includes(e.source) || PROGRESS_EVENT_KINDS.events.some(([source, event]) => e.source === source && e.event === event)
}

function installStepText(detail: BootEvent['detail']): string | null {
  const step = str(detail.step)
  if (!step) return null
  const percent = num(detail.percent)
  return percent !== undefined ? `${step} ${percent}%` : step
}

function isInstallerBootenv(t: Timed): boolean {
  const env = str(t.e.detail.bootenv)
  return t.e.source === 'api' && t.e.event === 'bootenv' && env !== undefined && !BOOTENVS_WITHOUT_INSTALL.has(env)
}

function isInstallDone(t: Timed): boolean {
  return (
    (t.e.source === 'install' && t.e.event === 'install_step' && t.e.detail.step === 'done') ||
    (t.e.source === 'api' && t.e.event === 'bootenv' && t.e.detail.bootenv === 'local')
  )
}

/**
 * How far one machine's boot got: PXE (first DISCOVER) → discovery (registered, or the discovery
 * kernel fetched) → install (the installer reporting, or the bootenv set to an installer) → local
 * disk (its first DHCP or alive after the install finished) → alive (reported alive after that, or
 * after discovery when nothing was installed). Reads only isProgressEvent events, plus the newest
 * event's time (`lastEventAt`, when the caller read only those).
 */
export function bootProgress(
  events: readonly BootEvent[],
  base: { readonly node_id?: number | null; readonly mac?: string | null; readonly lastEventAt?: string | null } = {},
  facts: Pick<BootFacts, 'discovery'> = {}
): BootProgress {
  const timeline = ordered(events)
  const names = discoveryNames(facts)
  const phases: Partial<Record<BootPhase, string>> = {}
  let installStep: string | null = null
  let installDone = false
  for (const t of timeline) {
    const { e } = t
    if (!isProgressEvent(e)) continue
    if (e.source === 'install' && e.event === 'install_step') installStep = installStepText(e.detail) ?? installStep
    if (!phases.pxe && e.source === 'dhcp' && e.event === 'discover') phases.pxe = e.t
    if (!phases.discovery && !phases.install) {
      const discoveryKernel = isFetched(t) && isKernel(fileOf(t) ?? '', names) && !INSTALLER_KERNELS.some((k) => (fileOf(t) ?? '').endsWith(k))
      if ((e.source === 'api' && e.event === 'register') || discoveryKernel) phases.discovery = e.t
    }
    if (!phases.install && (e.source === 'install' || isInstallerBootenv(t))) {
      phases.install = e.t
      // Alive in the discovery image is not the installed system alive.
      delete phases.alive
    }
    if (phases.install && !installDone && isInstallDone(t)) {
      installDone = true
      continue
    }
    if (installDone && !phases.local_disk && ((e.source === 'dhcp' && e.event === 'discover') || (e.source === 'api' && e.event === 'alive'))) {
      phases.local_disk = e.t
    }
    if (!phases.alive && e.source === 'api' && e.event === 'alive' && e.detail.alive === true && (phases.install ? phases.local_disk : phases.discovery)) {
      phases.alive = e.t
    }
  }
  const reached = (['alive', 'local_disk', 'install', 'discovery', 'pxe'] as const).find((p) => phases[p] !== undefined) ?? null
  const newest = timeline.at(-1)
  return {
    node_id: base.node_id ?? newest?.e.node_id ?? null,
    mac: base.mac ?? newest?.e.mac ?? null,
    phase: reached,
    phases,
    install_step: installStep,
    last_event_at: base.lastEventAt ?? newest?.e.t ?? null
  }
}
