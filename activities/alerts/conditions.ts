// What TEDI alerts on, decided from its own state in one place: each condition is a query over the
// catalog, the breaker, the read contract's freshness and the audit log. The evaluator (evaluate.ts)
// compares what holds now with the open incidents: a condition that starts to hold opens an incident (one
// "opened" alert), one that stops holding resolves it (one "resolved" alert). Nothing else raises alerts,
// so no code path can forget to, and a condition that holds across many checks alerts once.
//
// Notices are one-off: series that appeared or vanished in a revision open an incident that is resolved at
// once (an "opened" alert only).
import type { PoolClient } from 'pg';

export const ALERT_KINDS = [
  'breaker_open',
  'consecutive_failures',
  'overdue',
  'never_loaded',
  'snapshot_refused',
  'series_added',
  'series_vanished',
] as const;
export type AlertKind = (typeof ALERT_KINDS)[number];

export const NOTICE_KINDS: readonly AlertKind[] = ['series_added', 'series_vanished'];

/**
 * Failed checks in a row that raise `consecutive_failures` while the breaker is still closed (the breaker
 * itself opens later and is its own alert): 3 alerts, 2 does not.
 */
export const FAILURES_ALERT_THRESHOLD = 3;

/** Series keys listed in a series notice (the count is always exact). */
export const LISTED_SERIES = 20;

export interface Condition {
  kind: AlertKind;
  datasetVersionId: number;
  sourceName: string;
  subject: string;
  summary: string;
  details: Record<string, unknown>;
}

const iso = 'to_char(%s AT TIME ZONE \'UTC\', \'YYYY-MM-DD"T"HH24:MI:SS"Z"\')';
const isoOf = (column: string) => iso.replace('%s', column);

/** Every state condition (not notices) that holds now. */
export async function currentConditions(client: PoolClient): Promise<Condition[]> {
  const rows = await client.query<Condition>(
    `WITH v AS (
       SELECT v.id, ds.name, v.version, v.breaker_opened_at, v.consecutive_failures, v.current_revision,
              s.freshness, s.due_by,
              (SELECT jsonb_build_object('status', l.status, 'errorClass', l.error_class, 'error', l.error_message,
                                         'finishedAt', l.finished_at, 'workflowId', l.workflow_id)
                 FROM ingestion_logs l WHERE l.dataset_version_id = v.id AND l.status IN ('success', 'no_change', 'failed')
                ORDER BY l.started_at DESC LIMIT 1) AS last,
              -- The latest refused snapshot; it stands until a check succeeds after it (a later failure of
              -- another kind, or a half-open probe that loads nothing, does not clear it).
              (SELECT jsonb_build_object('errorClass', l.error_class, 'error', l.error_message,
                                         'finishedAt', l.finished_at, 'workflowId', l.workflow_id)
                 FROM ingestion_logs l
                WHERE l.dataset_version_id = v.id AND l.status = 'failed'
                  AND l.error_class IN ('TooManyRejects', 'SuspiciousSnapshot')
                  AND l.finished_at > coalesce(v.last_success_at, '-infinity'::timestamptz)
                ORDER BY l.started_at DESC LIMIT 1) AS refused
         FROM dataset_versions v
         JOIN data_sources ds ON ds.id = v.data_source_id
         JOIN tedi_read.sources s ON s.version_id = v.id
        WHERE ds.is_active)
     SELECT 'breaker_open' AS kind, id AS "datasetVersionId", name AS "sourceName", '' AS subject,
            format('%s/%s: circuit breaker open since %s after %s failed checks in a row%s', name, version,
                   ${isoOf('breaker_opened_at')}, consecutive_failures,
                   coalesce(': ' || (last->>'error'), '')) AS summary,
            jsonb_build_object('since', breaker_opened_at, 'failures', consecutive_failures, 'lastRun', last) AS details
       FROM v WHERE breaker_opened_at IS NOT NULL
     UNION ALL
     SELECT 'consecutive_failures', id, name, '',
            format('%s/%s: %s failed checks in a row%s', name, version, consecutive_failures,
                   coalesce(': ' || (last->>'error'), '')),
            jsonb_build_object('failures', consecutive_failures, 'lastRun', last)
       FROM v WHERE breaker_opened_at IS NULL AND consecutive_failures >= $1
     UNION ALL
     SELECT CASE WHEN current_revision = 0 THEN 'never_loaded' ELSE 'overdue' END, id, name, '',
            CASE WHEN current_revision = 0
                 THEN format('%s/%s: never loaded, and due since %s', name, version, ${isoOf('due_by')})
                 ELSE format('%s/%s: overdue since %s (no successful check within its cadence)', name, version, ${isoOf('due_by')})
            END,
            jsonb_build_object('dueBy', due_by, 'lastRun', last)
       FROM v WHERE freshness = 'overdue'
     UNION ALL
     SELECT 'snapshot_refused', id, name, '',
            format('%s/%s: a snapshot was refused (%s): %s', name, version, refused->>'errorClass', refused->>'error'),
            jsonb_build_object('refused', refused, 'lastRun', last)
       FROM v WHERE refused IS NOT NULL`,
    [FAILURES_ALERT_THRESHOLD],
  );
  return rows.rows;
}

/** Revisions of one version looked at per evaluation: a backlog is worked off a few at a time. */
const SERIES_REVISIONS_PER_EVALUATION = 5;

/**
 * Series that appeared in or vanished from each revision not looked at yet, every one of them in order
 * (two loads between evaluations are both told), one pass over the version's observations per revision;
 * then marks the revisions looked at. The migration marks every revision that existed before alerts did,
 * so a deployment does not tell old news.
 */
export async function seriesNotices(client: PoolClient): Promise<Condition[]> {
  const pending = await client.query<{ id: number; name: string; version: string; checked: number; current: number }>(
    `SELECT v.id, ds.name, v.version, coalesce(c.revision, 0) AS checked, v.current_revision AS current
       FROM dataset_versions v
       JOIN data_sources ds ON ds.id = v.data_source_id
       LEFT JOIN alert_series_checks c ON c.dataset_version_id = v.id
      WHERE ds.is_active AND v.current_revision > coalesce(c.revision, 0)`,
  );
  const notices: Condition[] = [];
  for (const v of pending.rows) {
    const last = Math.min(v.current, v.checked + SERIES_REVISIONS_PER_EVALUATION);
    // The first revision adds every series: nothing to tell. Later ones compare with the revision before.
    for (let revision = Math.max(v.checked + 1, 2); revision <= last; revision++) {
      notices.push(...(await seriesChangesOf(client, v, revision)));
    }
    await client.query(
      `INSERT INTO alert_series_checks (dataset_version_id, revision) VALUES ($1, $2)
       ON CONFLICT (dataset_version_id) DO UPDATE SET revision = EXCLUDED.revision`,
      [v.id, last],
    );
  }
  return notices;
}

async function seriesChangesOf(
  client: PoolClient,
  v: { id: number; name: string; version: string },
  revision: number,
): Promise<Condition[]> {
  const changed = await client.query<{ added: string[]; vanished: string[]; n_added: number; n_vanished: number }>(
    `WITH live AS (
       SELECT o.series_id,
              bool_or(o.valid_from <= $2 - 1 AND (o.valid_to IS NULL OR o.valid_to > $2 - 1)) AS before,
              bool_or(o.valid_from <= $2 AND (o.valid_to IS NULL OR o.valid_to > $2)) AS after
         FROM observations o
        WHERE o.dataset_version_id = $1 AND o.valid_from <= $2 AND (o.valid_to IS NULL OR o.valid_to >= $2)
        GROUP BY o.series_id)
     SELECT (array_agg(s.series_key ORDER BY s.series_key) FILTER (WHERE after AND NOT before))[1:$3] AS added,
            (array_agg(s.series_key ORDER BY s.series_key) FILTER (WHERE before AND NOT after))[1:$3] AS vanished,
            count(*) FILTER (WHERE after AND NOT before)::int AS n_added,
            count(*) FILTER (WHERE before AND NOT after)::int AS n_vanished
       FROM live JOIN series s ON s.id = live.series_id`,
    [v.id, revision, LISTED_SERIES],
  );
  const c = changed.rows[0];
  const notices: Condition[] = [];
  for (const [kind, count, keys, verb] of [
    ['series_added', c?.n_added ?? 0, c?.added ?? [], 'appeared'],
    ['series_vanished', c?.n_vanished ?? 0, c?.vanished ?? [], 'vanished'],
  ] as const) {
    if (count === 0) continue;
    const listed = keys.join(', ') + (count > keys.length ? `, … (${count - keys.length} more)` : '');
    notices.push({
      kind,
      datasetVersionId: v.id,
      sourceName: v.name,
      subject: `r${revision}`,
      summary: `${v.name}/${v.version}: ${count} series ${verb} in revision ${revision}: ${listed}`,
      details: { revision, count, series: keys },
    });
  }
  return notices;
}
