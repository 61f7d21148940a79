// Merges one ingestion's staged rows into the versioned store (slowly changing rows, "type 2"):
// - an observation whose content is unchanged keeps its row; nothing is copied;
// - a changed or vanished observation gets valid_to = N (it stays readable as of earlier revisions);
// - a new or changed observation is inserted with valid_from = N.
// All of it set-based SQL inside the caller's transaction, so a crash leaves the previous revision intact.
import type { PoolClient } from 'pg';
import type { LoadSummary } from '../ingestion/types';

interface MergeInput {
  ingestKey: string;
  datasetVersionId: number;
  checksum: string;
  probeToken: string | null;
}

export async function mergeStagedRevision(client: PoolClient, input: MergeInput): Promise<LoadSummary> {
  const { ingestKey, datasetVersionId: v } = input;
  // One load at a time per dataset version: revisions are numbered, so concurrent loads must queue.
  const locked = await client.query<{ current_revision: number }>(
    'SELECT current_revision FROM dataset_versions WHERE id = $1 FOR UPDATE',
    [v],
  );
  const current = locked.rows[0]?.current_revision ?? 0;

  // Idempotency: this run already committed its revision (the activity is being retried after a crash).
  const done = await client.query(
    `SELECT revision, record_count, records_added, records_updated, records_removed
       FROM dataset_revisions WHERE ingest_key = $1`,
    [ingestKey],
  );
  if (done.rows[0]) {
    const r = done.rows[0];
    return {
      changed: true,
      revision: r.revision,
      recordsAdded: r.records_added,
      recordsUpdated: r.records_updated,
      recordsRemoved: r.records_removed,
      recordsUnchanged: r.record_count - r.records_added - r.records_updated,
    };
  }

  // The incoming snapshot, one row per (series, period); if the source repeats a key, its last row wins.
  await client.query(
    `CREATE TEMP TABLE incoming ON COMMIT DROP AS
       SELECT DISTINCT ON (series_key, period) series_key, period, value, unit, attributes, row_hash
         FROM staged_observations WHERE ingest_key = $1
        ORDER BY series_key, period, seq DESC`,
    [ingestKey],
  );
  await client.query('CREATE UNIQUE INDEX ON incoming (series_key, period)');
  await client.query('ANALYZE incoming');

  const diff = await client.query<{
    total: string;
    added: string;
    updated: string;
    unchanged: string;
    removed: string;
  }>(
    `WITH cur AS (SELECT series_key, period, row_hash FROM observations WHERE dataset_version_id = $1 AND valid_to IS NULL)
     SELECT (SELECT count(*) FROM incoming) AS total,
            count(*) FILTER (WHERE c.row_hash IS NULL) AS added,
            count(*) FILTER (WHERE c.row_hash IS NOT NULL AND c.row_hash <> i.row_hash) AS updated,
            count(*) FILTER (WHERE c.row_hash = i.row_hash) AS unchanged,
            (SELECT count(*) FROM cur WHERE NOT EXISTS
               (SELECT 1 FROM incoming x WHERE x.series_key = cur.series_key AND x.period = cur.period)) AS removed
       FROM incoming i LEFT JOIN cur c ON c.series_key = i.series_key AND c.period = i.period`,
    [v],
  );
  const d = diff.rows[0]!;
  const counts = {
    recordsAdded: Number(d.added),
    recordsUpdated: Number(d.updated),
    recordsUnchanged: Number(d.unchanged),
    recordsRemoved: Number(d.removed),
  };

  if (counts.recordsAdded + counts.recordsUpdated + counts.recordsRemoved === 0) {
    // Same content (perhaps reordered, or a new probe token): remember the signals, make no revision.
    await client.query(
      'UPDATE dataset_versions SET last_checksum = $2, last_probe_token = $3, updated_at = now() WHERE id = $1',
      [v, input.checksum, input.probeToken],
    );
    return { changed: false, revision: null, ...counts };
  }

  const revision = current + 1;
  await client.query(
    `UPDATE observations o SET valid_to = $2
      WHERE o.dataset_version_id = $1 AND o.valid_to IS NULL
        AND NOT EXISTS (SELECT 1 FROM incoming i
                         WHERE i.series_key = o.series_key AND i.period = o.period AND i.row_hash = o.row_hash)`,
    [v, revision],
  );
  await client.query(
    `INSERT INTO observations (dataset_version_id, series_key, period, value, unit, attributes, row_hash, valid_from)
     SELECT $1, i.series_key, i.period, i.value, i.unit, i.attributes, i.row_hash, $2
       FROM incoming i
      WHERE NOT EXISTS (SELECT 1 FROM observations o
                         WHERE o.dataset_version_id = $1 AND o.valid_to IS NULL
                           AND o.series_key = i.series_key AND o.period = i.period)`,
    [v, revision],
  );
  await client.query(
    `INSERT INTO dataset_revisions (dataset_version_id, revision, checksum, probe_token, record_count,
                                    records_added, records_updated, records_removed, ingest_key)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
    [
      v,
      revision,
      input.checksum,
      input.probeToken,
      Number(d.total),
      counts.recordsAdded,
      counts.recordsUpdated,
      counts.recordsRemoved,
      ingestKey,
    ],
  );
  await client.query(
    `UPDATE dataset_versions SET current_revision = $2, last_checksum = $3, last_probe_token = $4, updated_at = now()
      WHERE id = $1`,
    [v, revision, input.checksum, input.probeToken],
  );
  return { changed: true, revision, ...counts };
}
