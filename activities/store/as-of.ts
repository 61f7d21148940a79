// Reading the versioned store: the observations of a dataset version as they were at revision N.
// The store is compact (series keys and label sets stored once, see prisma/schema.prisma); this is the
// one query that puts an observation back together.
import type { Pool } from 'pg';

export interface StoredObservation {
  seriesKey: string;
  period: string;
  value: string | null;
  unit: string | null;
  attributes: Record<string, unknown> | null;
}

/** Observations current at `revision` (latest when omitted), optionally for one series. */
export async function observationsAsOf(
  pool: Pool,
  datasetVersionId: number,
  opts: { revision?: number; seriesKey?: string } = {},
): Promise<StoredObservation[]> {
  const { rows } = await pool.query<StoredObservation>(
    `SELECT s.series_key AS "seriesKey", o.period, o.value::text AS value, l.unit, l.attributes
       FROM observations o
       JOIN series s ON s.id = o.series_id
       LEFT JOIN observation_labels l ON l.id = o.labels_id
      WHERE o.dataset_version_id = $1
        AND o.valid_from <= coalesce($2, 2147483647)
        AND (o.valid_to IS NULL OR o.valid_to > coalesce($2, 2147483647))
        AND ($3::text IS NULL OR s.series_key = $3)
      ORDER BY s.series_key, o.period`,
    [datasetVersionId, opts.revision ?? null, opts.seriesKey ?? null],
  );
  return rows;
}
