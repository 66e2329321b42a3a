// A node's boot page: what the diagnosis rules make of its timeline on top (each finding with its
// supporting events highlighted on request), then the timeline itself grouped by boot phase, live
// and paged, and its packets as a pcap download.
import { useEffect, useRef, useState } from 'react'
import type { BootEvent, BootFinding, BootProgress } from '../../../src-main/model'
import { errorText } from '../errors/error-text'
import { ErrorAlert } from '../errors/ErrorAlert'
import { useClient } from '../live/LiveContext'
import { formatTime } from '../time-format'
import { bootEventSummary, formatEventTime, groupByPhase, isTroubleEvent, PHASE_LABELS } from './boot-event-text'
import { BootProgressSteps } from './BootProgressSteps'
import { downloadBase64 } from './pcap-download'
import { useBootTimeline } from './use-boot-timeline'
import './boot.css'

interface Props {
  readonly nodeId: number
  readonly nodeName: string
  /** From the nodes table's progress, until the diagnosis brings its own. */
  readonly progress: BootProgress | undefined
  readonly onClose: () => void
}

interface Evidence {
  readonly key: string
  readonly ids: ReadonlySet<number>
}

const findingKey = (f: BootFinding): string => `${f.rule}:${f.at}`

function Finding({ finding, shown, loaded, onToggle }: { finding: BootFinding; shown: boolean; loaded: number; onToggle: () => void }) {
  const missing = finding.event_ids.length - loaded
  return (
    <li className={`boot-finding boot-finding-${finding.severity}`} data-testid="boot-finding" data-rule={finding.rule}>
      <div className="boot-finding-head">
        <strong>{finding.title}</strong>
        <span className="muted">{formatTime(finding.at)}</span>
      </div>
      <p>{finding.text}</p>
      {finding.event_ids.length > 0 && (
        <div className="inline">
          <button type="button" aria-pressed={shown} onClick={onToggle}>
            {shown ? 'Hide evidence' : `Show evidence (${finding.event_ids.length} event${finding.event_ids.length === 1 ? '' : 's'})`}
          </button>
          {shown && missing > 0 && <span className="hint">{missing} of them are older than the events loaded: load older events below.</span>}
        </div>
      )}
    </li>
  )
}

function EventRow({ event, highlighted }: { event: BootEvent; highlighted: boolean }) {
  const summary = bootEventSummary(event)
  const classes = ['boot-event', isTroubleEvent(event) ? 'trouble' : '', highlighted ? 'evidence' : ''].filter(Boolean).join(' ')
  return (
    <li className={classes} data-testid={`boot-event-${event.event}`} data-event-id={event.id} aria-current={highlighted ? 'true' : undefined}>
      <time dateTime={event.t} title={event.t}>
        {formatEventTime(event.t)}
      </time>
      <span className={`boot-source boot-source-${event.source}`}>{event.source}</span>
      <strong className="boot-event-name">{event.event}</strong>
      <span className="boot-detail">{summary}</span>
      {highlighted && <span className="sr-only">(evidence)</span>}
    </li>
  )
}

export function BootPanel({ nodeId, nodeName, progress, onClose }: Props) {
  const client = useClient()
  const timeline = useBootTimeline(nodeId)
  const [evidence, setEvidence] = useState<Evidence | null>(null)
  const [pcapBusy, setPcapBusy] = useState(false)
  const [pcapError, setPcapError] = useState<string | null>(null)
  const [pcapNote, setPcapNote] = useState<string | null>(null)
  const section = useRef<HTMLElement>(null)
  const list = useRef<HTMLDivElement>(null)

  // A block body: Chromium's scrollIntoView now returns a promise, which React would take for the
  // effect's cleanup and call on unmount (the page then goes blank).
  useEffect(() => {
    section.current?.scrollIntoView({ block: 'nearest' })
  }, [nodeId])
  useEffect(() => {
    if (evidence) list.current?.querySelector('.boot-event.evidence')?.scrollIntoView({ block: 'nearest' })
  }, [evidence])

  const shownProgress = timeline.diagnosis?.progress ?? progress
  const events = timeline.events
  const groups = events ? groupByPhase(events, shownProgress?.phases ?? null) : []
  const hasPhases = groups.some((g) => g.phase !== null)

  const downloadPcap = (): void => {
    setPcapBusy(true)
    setPcapError(null)
    setPcapNote(null)
    client.api
      .exportBootPcap({ node_id: nodeId })
      .then((pcap) => {
        downloadBase64(pcap.filename, pcap.pcap_base64)
        setPcapNote(`Saved ${pcap.filename}: ${pcap.packets} packet${pcap.packets === 1 ? '' : 's'}.`)
      })
      .catch((err: unknown) => setPcapError(`Cannot export the packets of ${nodeName}: ${errorText(err)}`))
      .finally(() => setPcapBusy(false))
  }

  const findings = timeline.diagnosis?.findings ?? []
  const loadedIds = new Set((events ?? []).map((e) => e.id))
  return (
    <section ref={section} className="boot-panel" aria-labelledby="boot-panel-title" data-testid="boot-panel">
      <div className="boot-head">
        <h3 id="boot-panel-title">Boot timeline of {nodeName}</h3>
        <BootProgressSteps progress={shownProgress} nodeName={`${nodeName}-panel`} />
        <div className="boot-actions">
          <button type="button" onClick={downloadPcap} disabled={pcapBusy}>
            {pcapBusy ? 'Exporting…' : 'Download pcap'}
          </button>
          <button type="button" onClick={onClose}>
            Close
          </button>
        </div>
      </div>
      <ErrorAlert messages={pcapError ? [pcapError] : []} onDismiss={() => setPcapError(null)} testId="boot-pcap-error" />
      {pcapNote && (
        <p className="status" role="status" data-testid="boot-pcap-saved">
          {pcapNote}
        </p>
      )}

      <div className="boot-findings" aria-label="Diagnosis">
        <ErrorAlert messages={timeline.diagnosisError ? [`Cannot diagnose the boot of ${nodeName}: ${timeline.diagnosisError}`] : []} testId="boot-diagnosis-error" />
        {findings.length > 0 && (
          <ul className="boot-finding-list">
            {findings.map((f) => {
              const key = findingKey(f)
              return (
                <Finding
                  key={key}
                  finding={f}
                  shown={evidence?.key === key}
                  loaded={f.event_ids.filter((id) => loadedIds.has(id)).length}
                  onToggle={() => setEvidence((e) => (e?.key === key ? null : { key, ids: new Set(f.event_ids) }))}
                />
              )
            })}
          </ul>
        )}
        {timeline.diagnosis && findings.length === 0 && events && events.length > 0 && <p className="muted">No likely problem found in this timeline.</p>}
      </div>

      <ErrorAlert messages={timeline.error ? [timeline.error] : []} testId="boot-timeline-error" />
      {events === null && !timeline.error && <p className="loading">Loading the boot timeline…</p>}
      {events !== null && events.length === 0 && (
        <p className="empty" data-testid="boot-empty">
          No boot events yet: the machine has not PXE booted against this laptop.
        </p>
      )}
      {events !== null && events.length > 0 && (
        <div className="boot-timeline" ref={list} data-testid="boot-timeline">
          {timeline.hasOlder && (
            <button type="button" className="boot-older" onClick={timeline.loadOlder} disabled={timeline.loadingOlder}>
              {timeline.loadingOlder ? 'Loading…' : 'Load older events'}
            </button>
          )}
          {groups.map((g) => (
            <section key={`${g.phase ?? 'none'}-${g.events[0]?.id ?? 0}`} className="boot-phase" aria-label={g.phase ? `phase ${PHASE_LABELS[g.phase]}` : 'events'}>
              {hasPhases && <h4>{g.phase ? PHASE_LABELS[g.phase] : 'before PXE'}</h4>}
              <ol className="boot-events">
                {g.events.map((e) => (
                  <EventRow key={e.id} event={e} highlighted={evidence?.ids.has(e.id) ?? false} />
                ))}
              </ol>
            </section>
          ))}
        </div>
      )}
    </section>
  )
}
