// What the status templates show, computed here so the templates (api/status/views) only lay it out: times
// as ISO UTC, counts as short text, links already built (the template engine escapes every value it prints).
import type { RevisionRow, SourceRow } from '../../activities/store/read';
import type { RevisionRun, RunRow, SeriesVintages } from '../../activities/store/status';

/** Where the Temporal Web UI is and which namespace TEDI's workflows live in. */
export interface TemporalUi {
  url: string;
  namespace: string;
}

/** ISO 8601 in UTC to the second (`2026-03-10T00:00:00Z`): one spelling an operator can compare across pages. */
export function iso(at: Date | null | undefined): string {
  return at ? at.toISOString().replace(/\.\d{3}Z$/, 'Z') : '—';
}

/** The page of one run in the Web UI (its event history). */
export function runUrl(ui: TemporalUi, workflowId: string, runId: string): string {
  return `${ui.url.replace(/\/+$/, '')}/namespaces/${encodeURIComponent(ui.namespace)}/workflows/${encodeURIComponent(workflowId)}/${encodeURIComponent(runId)}/history`;
}

/** The Web UI's workflow list filtered to one source's runs (the TediSource search attribute). */
export function sourceRunsUrl(ui: TemporalUi, source: string): string {
  const query = encodeURIComponent(`TediSource="${source}"`);
  return `${ui.url.replace(/\/+$/, '')}/namespaces/${encodeURIComponent(ui.namespace)}/workflows?query=${query}`;
}

/** The source page's address; the version only when it is not the default, so links stay short. */
export function sourcePageUrl(source: string, version: string | null, extra: Record<string, string> = {}): string {
  const params = new URLSearchParams();
  if (version && version !== 'current') params.set('version', version);
  for (const [k, v] of Object.entries(extra)) params.set(k, v);
  const query = params.toString();
  return `/status/sources/${encodeURIComponent(source)}${query ? `?${query}` : ''}`;
}

/** `+added ~updated −removed`, the shape of a revision's change at a glance. */
export function counts(r: { recordsAdded: number; recordsUpdated: number; recordsRemoved: number }): string {
  return `+${r.recordsAdded} ~${r.recordsUpdated} −${r.recordsRemoved}`;
}

export interface OverviewRow {
  source: SourceRow;
  href: string;
  lastSuccess: string;
  dueBy: string;
  /** The newest few revisions, newest first. */
  recent: { revision: number; createdAt: string; counts: string }[];
}

export function overviewRow(source: SourceRow, revisions: RevisionRow[], shown = 3): OverviewRow {
  return {
    source,
    href: sourcePageUrl(source.source, source.version),
    lastSuccess: iso(source.lastSuccessAt),
    dueBy: iso(source.dueBy),
    recent: revisions
      .slice(-shown)
      .reverse()
      .map((r) => ({ revision: r.revision, createdAt: iso(r.createdAt), counts: counts(r) })),
  };
}

export interface RevisionLine {
  revision: RevisionRow;
  createdAt: string;
  /** The run that committed it, in the Web UI; null when its key names no run. */
  runHref: string | null;
  workflowId: string | null;
}

export function revisionLines(
  ui: TemporalUi,
  revisions: RevisionRow[],
  runs: Map<number, RevisionRun>,
): RevisionLine[] {
  return [...revisions].reverse().map((revision) => {
    const run = runs.get(revision.revision);
    return {
      revision,
      createdAt: iso(revision.createdAt),
      runHref: run?.runId ? runUrl(ui, run.workflowId, run.runId) : null,
      workflowId: run?.workflowId ?? null,
    };
  });
}

export interface RunLine {
  run: RunRow;
  startedAt: string;
  duration: string;
  counts: string;
  href: string;
}

export function runLines(ui: TemporalUi, runs: RunRow[]): RunLine[] {
  return runs.map((run) => ({
    run,
    startedAt: iso(run.startedAt),
    duration: run.durationMs === null ? '—' : `${(run.durationMs / 1000).toFixed(1)} s`,
    counts: counts(run),
    href: runUrl(ui, run.workflowId, run.runId),
  }));
}

/**
 * The chart's data as JSON text for a `<script type="application/json">` element. The template prints it
 * raw (an HTML-escaped `&lt;` would not be decoded inside a script element), so every character that
 * could end the element or start markup is written as a JSON \u escape instead: still the same JSON.
 */
export function chartJson(v: SeriesVintages): string {
  const data = {
    seriesKey: v.seriesKey,
    unit: v.unit,
    periods: v.periods,
    vintages: v.vintages.map((x) => ({
      revision: x.revision,
      createdAt: iso(x.createdAt),
      // Chart.js plots numbers; the exact decimals are in the table under the chart.
      values: x.values.map((value) => (value === null ? null : Number(value))),
    })),
  };
  return JSON.stringify(data).replace(
    /[<>&\u2028\u2029]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}
