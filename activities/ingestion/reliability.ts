// A version's reliability score: the share of its last RELIABILITY_WINDOW finished ingestions that did not
// fail (success and no_change both count as reliable; skipped runs say nothing about the source). A version
// with no finished ingestion has no score (NULL, shown "n/a"), never a default of 1 next to "failed".
// Recomputed for its version when each ingestion finishes, and for all by the daily schedule.
import type { Database } from '../../lib/db';

/** How many recent finished ingestions a reliability score looks at. */
export const RELIABILITY_WINDOW = 20;

/** Recomputes the score of one version, or of every version (`null`); returns how many changed. */
export async function recomputeReliability(db: Database, datasetVersionId: number | null): Promise<number> {
  const res = await db.pool.query(
    `WITH recent AS (
       SELECT dataset_version_id, status,
              row_number() OVER (PARTITION BY dataset_version_id ORDER BY started_at DESC, id DESC) AS n
         FROM ingestion_logs
        WHERE status IN ('success', 'no_change', 'failed') AND ($2::int IS NULL OR dataset_version_id = $2)
     ), scores AS (
       SELECT dataset_version_id, round(avg(CASE WHEN status = 'failed' THEN 0 ELSE 1 END)::numeric, 4)::float8 AS score
         FROM recent WHERE n <= $1 GROUP BY dataset_version_id
     )
     UPDATE dataset_versions v SET source_reliability_score = s.score, updated_at = now()
       FROM scores s WHERE s.dataset_version_id = v.id AND v.source_reliability_score IS DISTINCT FROM s.score`,
    [RELIABILITY_WINDOW, datasetVersionId],
  );
  return res.rowCount ?? 0;
}
