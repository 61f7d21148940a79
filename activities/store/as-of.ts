// Reading the versioned store: the observations of a dataset version as they were at revision N.
import type { Pool } from 'pg';

export interface StoredObservation {
  seriesKey: string;
  period: string;
  value: string | null;
  unit: string | null;
}

/** Observations current at `revision` (latest when omitted), optionally for one series. */
export async function observationsAsOf(
  pool: Pool,
  datasetVersionId: number,
  opts: { revision?: number; seriesKey?: string } = {},
): Promise<StoredObservation[]> {
  const { rows } = await pool.query<StoredObservation>(
    `SELECT series_key AS "seriesKey", period, value::text AS value, unit
       FROM observations
      WHERE dataset_version_id = $1
        AND valid_from <= coalesce($2, 2147483647)
        AND (valid_to IS NULL OR valid_to > coalesce($2, 2147483647))
        AND ($3::text IS NULL OR series_key = $3)
      ORDER BY series_key, period`,
    [datasetVersionId, opts.revision ?? null, opts.seriesKey ?? null],
  );
  return rows;
}
