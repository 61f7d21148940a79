// Queries for the status page (api/status): the runs of a dataset version, the run that made each
// revision, and a series' values as of each revision (its vintages). Like read.ts they read only the
// tedi_read contract (runs and revision_runs: prisma/migrations/*_status_runs), and take their source and
// version through resolveVersion, so bad input is the same ReadError naming the parameter.
import { resolveVersion } from './read';

type Queryable = Parameters<typeof resolveVersion>[0];

export interface RunRow {
  workflowId: string;
  runId: string;
  status: 'running' | 'success' | 'no_change' | 'failed' | 'skipped';
  trigger: string;
  startedAt: Date;
  finishedAt: Date | null;
  durationMs: number | null;
  revision: number | null;
  recordsAdded: number;
  recordsUpdated: number;
  recordsRemoved: number;
  recordsRejected: number;
  errorClass: string | null;
  errorMessage: string | null;
}

/** The most recent runs of a dataset version, newest first. */
export async function listRuns(pool: Queryable, source: string, version = 'current', limit = 20): Promise<RunRow[]> {
  const v = await resolveVersion(pool, source, version);
  const { rows } = await pool.query<RunRow>(
    `SELECT workflow_id AS "workflowId", run_id AS "runId", status, trigger, started_at AS "startedAt",
            finished_at AS "finishedAt", duration_ms AS "durationMs", revision, records_added AS "recordsAdded",
            records_updated AS "recordsUpdated", records_removed AS "recordsRemoved",
            records_rejected AS "recordsRejected", error_class AS "errorClass", error_message AS "errorMessage"
       FROM tedi_read.runs WHERE source = $1 AND version = $2
      ORDER BY started_at DESC, workflow_id DESC LIMIT $3`,
    [v.source, v.version, limit],
  );
  return rows;
}

export interface RevisionRun {
  workflowId: string;
  /** Null when the revision's key names no run (made outside a workflow). */
  runId: string | null;
}

/** The run that made each revision of a dataset version, by revision number. */
export async function revisionRuns(
  pool: Queryable,
  source: string,
  version = 'current',
): Promise<Map<number, RevisionRun>> {
  const v = await resolveVersion(pool, source, version);
  const { rows } = await pool.query<RevisionRun & { revision: number }>(
    `SELECT revision, workflow_id AS "workflowId", run_id AS "runId"
       FROM tedi_read.revision_runs WHERE source = $1 AND version = $2`,
    [v.source, v.version],
  );
  return new Map(rows.map((r) => [r.revision, { workflowId: r.workflowId, runId: r.runId }]));
}

export interface Vintage {
  revision: number;
  createdAt: Date;
  /** The series' value at each of `periods` as of this revision: exact decimal text, null where none. */
  values: (string | null)[];
}

export interface SeriesVintages {
  seriesKey: string;
  unit: string | null;
  /** Every period the series had in any of the vintages, in the contract's text order. */
  periods: string[];
  /** Oldest first; the last is the latest revision. */
  vintages: Vintage[];
}

/**
 * How a series was revised: its values as of each of the last `maxVintages` revisions, from one read of
 * its history (each stored value with its revision range) rather than one as-of query per revision.
 */
export async function seriesVintages(
  pool: Queryable,
  source: string,
  version: string,
  seriesKey: string,
  maxVintages = 12,
): Promise<SeriesVintages> {
  const v = await resolveVersion(pool, source, version);
  const revisions = await pool.query<{ revision: number; createdAt: Date }>(
    `SELECT revision, created_at AS "createdAt" FROM tedi_read.revisions
      WHERE source = $1 AND version = $2 ORDER BY revision DESC LIMIT $3`,
    [v.source, v.version, maxVintages],
  );
  const shown = revisions.rows.reverse();
  const first = shown[0]?.revision ?? 1;
  const history = await pool.query<{
    period: string;
    value: string | null;
    unit: string | null;
    validFrom: number;
    validTo: number | null;
  }>(
    `SELECT period, value::text AS value, unit, valid_from AS "validFrom", valid_to AS "validTo"
       FROM tedi_read.observation_history
      WHERE source = $1 AND version = $2 AND series_key = $3 AND (valid_to IS NULL OR valid_to > $4)
      ORDER BY period, valid_from`,
    [v.source, v.version, seriesKey, first],
  );
  const heldAt = (revision: number) =>
    history.rows.filter((h) => h.validFrom <= revision && (h.validTo === null || h.validTo > revision));
  const periods = [...new Set(shown.flatMap((r) => heldAt(r.revision).map((h) => h.period)))].sort((a, b) =>
    // Code-point order: periods are labels compared as text (2023, 2023-Q1, 2023-07), never as numbers.
    a < b ? -1 : a > b ? 1 : 0,
  );
  const vintages = shown.map((r) => {
    const byPeriod = new Map(heldAt(r.revision).map((h) => [h.period, h.value]));
    return { revision: r.revision, createdAt: r.createdAt, values: periods.map((p) => byPeriod.get(p) ?? null) };
  });
  const latest = history.rows.filter((h) => h.validTo === null);
  return { seriesKey, unit: latest[0]?.unit ?? history.rows[0]?.unit ?? null, periods, vintages };
}
