// The master's fan-out at scale, for test/workflows/fanout.test.ts and test/bench/fanout.bench.ts: many
// dataset versions made directly in PostgreSQL (a share of them due), and what every run of one master
// workflow (each continue-as-new run) recorded in its history.
import type { Client } from '@temporalio/client';
import type { temporal } from '@temporalio/proto';
import type { Harness } from './harness';
import { WB_SOURCES } from './harness';

/**
 * `total` extra versions spread over the World Bank sources' datasets (labels `fan00001`, ...), the first
 * `due` of them (by id) due at `asOf`, the rest not before a day later; every other version is quiet and
 * every non-World Bank source inactive, so exactly `due` versions are due. Returns the due versions' ids.
 */
export async function seedFanout(
  h: Pick<Harness, 'db'>,
  opts: { total: number; due: number; asOf: string },
): Promise<number[]> {
  const { pool } = h.db;
  // The World Bank's probe is cheap, so its versions are due at every tick; the fan-out is about versions
  // due by their schedule, so these are scheduled like any other source here.
  await pool.query(`UPDATE data_sources SET is_active = (connector = 'world-bank'), probe_every_tick = false`);
  await pool.query(`UPDATE dataset_versions SET next_check_at = $1::timestamptz + interval '1 day'`, [opts.asOf]);
  const { rows: datasets } = await pool.query<{ dataset_id: number; data_source_id: number }>(
    `SELECT d.id AS dataset_id, d.data_source_id FROM datasets d JOIN data_sources s ON s.id = d.data_source_id
      WHERE s.name = ANY($1) ORDER BY d.id`,
    [Object.keys(WB_SOURCES)],
  );
  if (datasets.length === 0) throw new Error('no World Bank datasets in the catalog');
  // Round-robin over the datasets, so every vertical queue gets its share of the due versions.
  const { rows } = await pool.query<{ id: number; due: boolean }>(
    `INSERT INTO dataset_versions (dataset_id, data_source_id, version, check_enabled, next_check_at, updated_at)
     SELECT (d.a)[1 + (i - 1) % cardinality(d.a)], (d.b)[1 + (i - 1) % cardinality(d.b)],
            'fan' || lpad(i::text, 5, '0'), true,
            CASE WHEN i <= $2 THEN $3::timestamptz - interval '1 second' ELSE $3::timestamptz + interval '1 day' END,
            now()
       FROM generate_series(1, $1) AS i, (SELECT $4::int[] AS a, $5::int[] AS b) d
      ORDER BY i
     RETURNING id, next_check_at <= $3::timestamptz AS due`,
    [opts.total, opts.due, opts.asOf, datasets.map((d) => d.dataset_id), datasets.map((d) => d.data_source_id)],
  );
  await pool.query('ANALYZE dataset_versions');
  return rows.filter((r) => r.due).map((r) => r.id);
}

export interface MasterRunStats {
  runId: string;
  events: number;
  /** Children started and not yet closed, at most, after any event of this run. */
  maxInFlight: number;
  /** Workflow ids of the children this run initiated (a duplicate would be a child started twice). */
  childIds: string[];
  closedBy: 'continued-as-new' | 'completed' | 'other';
}

/** Every run of `workflowId`, oldest first, read from each run's own history. */
export async function masterRuns(client: Client, workflowId: string, firstRunId: string): Promise<MasterRunStats[]> {
  const runs: MasterRunStats[] = [];
  const seen = new Set<string>();
  // Walk the chain from the first run: each continued-as-new event names the next run.
  let runId: string | undefined = firstRunId;
  while (runId && !seen.has(runId)) {
    seen.add(runId);
    const events = (await client.workflow.getHandle(workflowId, runId).fetchHistory()).events ?? [];
    let open = 0;
    let maxOpen = 0;
    const childIds: string[] = [];
    let next: string | undefined;
    let closedBy: MasterRunStats['closedBy'] = 'other';
    for (const e of events) {
      const initiated = e.startChildWorkflowExecutionInitiatedEventAttributes;
      if (initiated) {
        open++;
        childIds.push(initiated.workflowId ?? '');
      }
      if (closesChild(e)) open--;
      maxOpen = Math.max(maxOpen, open);
      if (e.workflowExecutionContinuedAsNewEventAttributes) {
        next = e.workflowExecutionContinuedAsNewEventAttributes.newExecutionRunId ?? undefined;
        closedBy = 'continued-as-new';
      }
      if (e.workflowExecutionCompletedEventAttributes) closedBy = 'completed';
    }
    runs.push({ runId, events: events.length, maxInFlight: maxOpen, childIds, closedBy });
    runId = next;
  }
  return runs;
}

/** True for a history event that ends a child the master started (or failed to start). */
export function closesChild(e: temporal.api.history.v1.IHistoryEvent): boolean {
  return Boolean(
    e.childWorkflowExecutionCompletedEventAttributes ||
      e.childWorkflowExecutionFailedEventAttributes ||
      e.childWorkflowExecutionCanceledEventAttributes ||
      e.childWorkflowExecutionTimedOutEventAttributes ||
      e.childWorkflowExecutionTerminatedEventAttributes ||
      e.startChildWorkflowExecutionFailedEventAttributes,
  );
}
