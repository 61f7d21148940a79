// Housekeeping the seed ran as Celery tasks: old log rows out, reliability scores recomputed.
import type { ActivityDeps } from '../deps';
import { deleteOldLogs } from '../ingestion/audit-log';

/** How many recent finished ingestions a reliability score looks at. */
export const RELIABILITY_WINDOW = 20;

export function maintenanceActivities(deps: ActivityDeps) {
  /** Deletes log rows older than `retentionDays`; returns how many went. */
  async function cleanupOldLogs(input: { retentionDays: number; now?: string }): Promise<{ deleted: number }> {
    return { deleted: await deleteOldLogs(deps.db, input.retentionDays, input.now) };
  }

  /**
   * Score = share of the last RELIABILITY_WINDOW finished ingestions that did not fail (success and
   * no_change both count as reliable; skipped runs say nothing about the source). No history: 1.
   */
  async function updateReliabilityScores(): Promise<{ updated: number }> {
    const res = await deps.db.pool.query(
      `WITH recent AS (
         SELECT dataset_version_id, status,
                row_number() OVER (PARTITION BY dataset_version_id ORDER BY started_at DESC) AS n
           FROM ingestion_logs WHERE status IN ('success', 'no_change', 'failed')
       ), scores AS (
         SELECT dataset_version_id, avg(CASE WHEN status = 'failed' THEN 0 ELSE 1 END)::float8 AS score
           FROM recent WHERE n <= $1 GROUP BY dataset_version_id
       )
       UPDATE dataset_versions v SET source_reliability_score = round(s.score::numeric, 4)::float8, updated_at = now()
         FROM scores s WHERE s.dataset_version_id = v.id AND v.source_reliability_score IS DISTINCT FROM round(s.score::numeric, 4)::float8`,
      [RELIABILITY_WINDOW],
    );
    return { updated: res.rowCount ?? 0 };
  }

  return { cleanupOldLogs, updateReliabilityScores };
}
