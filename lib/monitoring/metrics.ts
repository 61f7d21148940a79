// TEDI's own Prometheus metrics, recorded through the Temporal runtime's metric meter so they are served
// on the same /metrics endpoint as the SDK's temporal_* series (TEDI_METRICS_BIND). Activities record
// with `metricMeter` from @temporalio/activity (which adds namespace, task_queue and activity_type);
// the monitoring job sets the gauges with the runtime's meter. Names carry no prefix: the SDK's
// metricPrefix applies to its own metrics only.
import type { MetricMeter } from '@temporalio/common';
import { VERTICALS, type Vertical } from '../verticals';

export const METRIC = {
  rowsLoaded: 'tedi_rows_loaded_total',
  bytesFetched: 'tedi_bytes_fetched_total',
  ingestionDuration: 'tedi_ingestion_duration_seconds',
  ingestions: 'tedi_ingestions_total',
  noChangeRatio: 'tedi_no_change_ratio',
  openBreakers: 'tedi_open_breakers',
  overdueVersions: 'tedi_overdue_versions',
  missedMasterTicks: 'tedi_missed_master_ticks',
} as const;

/** Ingestions run from seconds to hours; the SDK's default buckets are for milliseconds. */
export const METRIC_BUCKETS: Record<string, number[]> = {
  [METRIC.ingestionDuration]: [1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200, 14400],
};

export interface IngestionOutcome {
  source: string;
  vertical: string;
  /** success | no_change | failed | skipped */
  status: string;
  durationSeconds: number;
  recordsAdded: number;
  recordsUpdated: number;
  recordsRemoved: number;
}

/** One finished ingestion: its count, duration and the rows it changed. */
export function recordIngestion(meter: MetricMeter, o: IngestionOutcome): void {
  const byStatus = { source: o.source, status: o.status };
  meter
    .createCounter(
      METRIC.ingestions,
      undefined,
      'Finished ingestions by source and status (no-change ratio = no_change / (success + no_change))',
    )
    .add(1, byStatus);
  meter
    .createHistogram(METRIC.ingestionDuration, 'float', 's', 'Ingestion wall time from start to finish, in seconds')
    .record(Math.max(0, o.durationSeconds), byStatus);
  const rows = meter.createCounter(METRIC.rowsLoaded, undefined, 'Observation rows changed in the versioned store');
  const kinds = { added: o.recordsAdded, updated: o.recordsUpdated, removed: o.recordsRemoved };
  for (const [kind, n] of Object.entries(kinds)) rows.add(n, { source: o.source, vertical: o.vertical, kind });
}

/** Bytes read from a source, retries included: it is what the source served us. */
export function recordBytesFetched(meter: MetricMeter, source: string, bytes: number): void {
  meter.createCounter(METRIC.bytesFetched, 'By', 'Bytes downloaded from sources').add(bytes, { source });
}

export interface HealthGauges {
  openBreakers: Record<Vertical, number>;
  overdueVersions: Record<Vertical, number>;
  noChangeRatio: Array<{ source: string; ratio: number }>;
}

/** Sets every vertical's gauges, zeros included, so a breaker that closes is seen to close. */
export function publishHealth(meter: MetricMeter, g: HealthGauges): void {
  const open = meter.createGauge(
    METRIC.openBreakers,
    'int',
    undefined,
    'Dataset versions whose circuit breaker is open',
  );
  const overdue = meter.createGauge(
    METRIC.overdueVersions,
    'int',
    undefined,
    'Dataset versions with no successful check within their expected cadence plus grace',
  );
  for (const vertical of VERTICALS) {
    open.set(g.openBreakers[vertical], { vertical });
    overdue.set(g.overdueVersions[vertical], { vertical });
  }
  const ratio = meter.createGauge(
    METRIC.noChangeRatio,
    'float',
    undefined,
    'Share of completed checks in the recent window that found nothing new',
  );
  // A gauge series cannot be removed: a source with no check left in the window keeps its last ratio.
  for (const r of g.noChangeRatio) ratio.set(r.ratio, { source: r.source });
}

export function publishMissedTicks(meter: MetricMeter, count: number): void {
  meter
    .createGauge(
      METRIC.missedMasterTicks,
      'int',
      undefined,
      'tedi-master schedule ticks in the recent window with no run',
    )
    .set(count);
}
