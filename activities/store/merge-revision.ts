// Merges one ingestion's staged rows into the versioned store (slowly changing rows, "type 2"):
// - an observation whose content is unchanged keeps its row; nothing is copied;
// - a changed or vanished observation gets valid_to = N (it stays readable as of earlier revisions);
// - a new or changed observation is inserted with valid_from = N.
// All of it set-based SQL inside the caller's transaction, so a crash leaves the previous revision intact.
//
// Three rules keep the store from losing or inventing data, each decided here and nowhere else:
// - the snapshot guards (snapshot-guard.ts) run before anything is written;
// - "unchanged" means the same content, not the same spelling: a stored value that differs from the
//   incoming one only in how the number is written (12.50 vs 12.5, from before values had one canonical
//   spelling) is unchanged; its row hash is brought up to date in place, and no revision is made for it;
// - when the snapshot had rejected rows, a current row missing from it may be one of the rejected rows, so
//   it is kept at its last good value (counted as `recordsKept`), never closed.
import type { PoolClient } from 'pg';
import type { LoadSummary } from '../ingestion/types';
import { judgeSnapshot, refuseDuplicateKeys, type SnapshotPolicy, suspiciousSnapshot } from './snapshot-guard';

export interface MergeInput {
  ingestKey: string;
  datasetVersionId: number;
  sourceName: string;
  checksum: string;
  probeToken: string | null;
  /** Rows the transform stage staged: anything else in staging means staging was lost or tampered with. */
  expectedRows: number;
  /** Rows the transform stage rejected: absent current rows are then kept, not removed. */
  rejectedRows: number;
  policy: SnapshotPolicy;
  acceptRemovals: boolean;
}

/** Raised when staging holds other than what the transform stage recorded (see FailureType.StagingLost). */
export class StagingMismatch extends Error {
  override name = 'StagingMismatch';
}

/** Content equality of a current row `c` and an incoming row `i`, whatever the spelling of the value. */
const SAME_CONTENT = `(c.row_hash = i.row_hash OR (c.value IS NOT DISTINCT FROM i.value
                       AND c.unit IS NOT DISTINCT FROM i.unit AND c.attributes IS NOT DISTINCT FROM i.attributes))`;

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
    `SELECT revision, record_count, records_added, records_updated, records_removed, records_kept, accepted_override
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
      recordsUnchanged: r.record_count - r.records_added - r.records_updated - r.records_kept,
      recordsKept: r.records_kept,
      acceptedOverride: r.accepted_override,
    };
  }

  // The incoming snapshot, one row per (series, period). Repeated keys are refused below, unless the
  // connector declared identical repeats harmless; then any of the identical rows stands for all.
  await client.query(
    `CREATE TEMP TABLE incoming ON COMMIT DROP AS
       SELECT DISTINCT ON (series_key, period) series_key, period, value, unit, attributes, row_hash
         FROM staged_observations WHERE ingest_key = $1
        ORDER BY series_key, period, seq`,
    [ingestKey],
  );
  const staged = await client.query<{ n: string; keys: string }>(
    'SELECT (SELECT count(*) FROM staged_observations WHERE ingest_key = $1) AS n, (SELECT count(*) FROM incoming) AS keys',
    [ingestKey],
  );
  const stagedRows = Number(staged.rows[0]?.n ?? 0);
  if (stagedRows !== input.expectedRows) {
    throw new StagingMismatch(
      `staging holds ${stagedRows} rows for this run but the transform stage staged ${input.expectedRows}`,
    );
  }
  await refuseDuplicateKeys(client, {
    ingestKey,
    sourceName: input.sourceName,
    rule: input.policy.duplicateKeys,
    stagedRows,
    distinctKeys: Number(staged.rows[0]?.keys ?? 0),
  });
  await client.query('CREATE UNIQUE INDEX ON incoming (series_key, period)');
  await client.query('ANALYZE incoming');

  const keepAbsent = input.rejectedRows > 0;
  const diff = await client.query<{
    total: string;
    current: string;
    added: string;
    updated: string;
    unchanged: string;
    respelled: string;
    absent: string;
  }>(
    `WITH cur AS (SELECT series_key, period, value, unit, attributes, row_hash
                    FROM observations WHERE dataset_version_id = $1 AND valid_to IS NULL)
     SELECT (SELECT count(*) FROM incoming) AS total,
            (SELECT count(*) FROM cur) AS current,
            count(*) FILTER (WHERE c.row_hash IS NULL) AS added,
            count(*) FILTER (WHERE c.row_hash IS NOT NULL AND NOT ${SAME_CONTENT}) AS updated,
            count(*) FILTER (WHERE c.row_hash IS NOT NULL AND ${SAME_CONTENT}) AS unchanged,
            count(*) FILTER (WHERE c.row_hash IS NOT NULL AND c.row_hash <> i.row_hash AND ${SAME_CONTENT}) AS respelled,
            (SELECT count(*) FROM cur WHERE NOT EXISTS
               (SELECT 1 FROM incoming x WHERE x.series_key = cur.series_key AND x.period = cur.period)) AS absent
       FROM incoming i LEFT JOIN cur c ON c.series_key = i.series_key AND c.period = i.period`,
    [v],
  );
  const d = diff.rows[0]!;
  const absent = Number(d.absent);
  const counts = {
    recordsAdded: Number(d.added),
    recordsUpdated: Number(d.updated),
    recordsUnchanged: Number(d.unchanged),
    recordsRemoved: keepAbsent ? 0 : absent,
    recordsKept: keepAbsent ? absent : 0,
  };

  const verdict = judgeSnapshot(
    { incoming: Number(d.total), current: Number(d.current), removed: counts.recordsRemoved },
    input.policy,
    input.acceptRemovals,
  );
  if (!verdict.ok) throw suspiciousSnapshot(input.sourceName, verdict.message);
  const acceptedOverride = verdict.accepted;

  if (Number(d.respelled) > 0) {
    // Same value written another way: bring the stored hash up to date so later loads compare by hash.
    await client.query(
      `UPDATE observations c SET row_hash = i.row_hash
         FROM incoming i
        WHERE c.dataset_version_id = $1 AND c.valid_to IS NULL
          AND c.series_key = i.series_key AND c.period = i.period
          AND c.row_hash <> i.row_hash AND ${SAME_CONTENT}`,
      [v],
    );
  }

  if (counts.recordsAdded + counts.recordsUpdated + counts.recordsRemoved === 0) {
    // Same content (perhaps reordered, respelled, or a new probe token): remember the signals, no revision.
    await client.query(
      'UPDATE dataset_versions SET last_checksum = $2, last_probe_token = $3, updated_at = now() WHERE id = $1',
      [v, input.checksum, input.probeToken],
    );
    return { changed: false, revision: null, ...counts, acceptedOverride };
  }

  const revision = current + 1;
  // Close changed rows, and (unless rows were rejected) vanished ones.
  const closeVanished = keepAbsent
    ? `EXISTS (SELECT 1 FROM incoming i WHERE i.series_key = c.series_key AND i.period = c.period AND NOT ${SAME_CONTENT})`
    : `NOT EXISTS (SELECT 1 FROM incoming i WHERE i.series_key = c.series_key AND i.period = c.period AND ${SAME_CONTENT})`;
  await client.query(
    `UPDATE observations c SET valid_to = $2
      WHERE c.dataset_version_id = $1 AND c.valid_to IS NULL AND ${closeVanished}`,
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
                                    records_added, records_updated, records_removed, ingest_key,
                                    records_kept, accepted_override)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
    [
      v,
      revision,
      input.checksum,
      input.probeToken,
      // Rows current in the new revision: the snapshot's, plus the absent rows kept at their last good value.
      Number(d.total) + counts.recordsKept,
      counts.recordsAdded,
      counts.recordsUpdated,
      counts.recordsRemoved,
      ingestKey,
      counts.recordsKept,
      acceptedOverride,
    ],
  );
  await client.query(
    `UPDATE dataset_versions SET current_revision = $2, last_checksum = $3, last_probe_token = $4, updated_at = now()
      WHERE id = $1`,
    [v, revision, input.checksum, input.probeToken],
  );
  return { changed: true, revision, ...counts, acceptedOverride };
}
