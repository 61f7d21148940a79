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

export interface StoredSeries {
  seriesKey: string;
  /** The named dimensions its key is made of (series.dimensions), null for a source that names none. */
  dimensions: Record<string, string> | null;
}

/**
 * The series of a dataset version, by key; with `where`, only those whose named dimensions include it,
 * e.g. { country: "BEN" } (the GIN index on series.dimensions), so nobody parses keys to filter.
 */
export async function seriesOf(
  pool: Pool,
  datasetVersionId: number,
  where?: Record<string, string>,
): Promise<StoredSeries[]> {
  const { rows } = await pool.query<StoredSeries>(
    `SELECT series_key AS "seriesKey", dimensions FROM series
      WHERE dataset_version_id = $1 AND ($2::jsonb IS NULL OR dimensions @> $2::jsonb)
      ORDER BY series_key`,
    [datasetVersionId, where ? JSON.stringify(where) : null],
  );
  return rows;
}
