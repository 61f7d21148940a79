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
import { recordRevisionCreated } from '../feed/outbox';
import type { LoadSummary } from '../ingestion/types';
import { judgeSnapshot, refuseDuplicateKeys, type SnapshotPolicy, suspiciousSnapshot } from './snapshot-guard';
import { stagedRowCount } from './staging';

export interface MergeInput {
  ingestKey: string;
  /** The run's staging table (staging.ts). */
  stagingTable: string;
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

/** Memory for the merge's sorts and hash joins (per operation, inside the merge's transaction only). */
const MERGE_WORK_MEM = '256MB';

/**
 * The digest that names a unit + attribute set in `observation_labels` (SHA-256 of it as jsonb text);
 * the compact-store migration (prisma/migrations/*_compact_store) computed the same for existing rows.
 * Equal sets always get the same digest, so each set is stored once per dataset version.
 */
export function labelsDigest(alias: string): string {
  return `sha256(convert_to(jsonb_build_array(${alias}.unit, ${alias}.attributes)::text, 'UTF8'))`;
}

/** The current stored row `o` of the key in `alias` ($1 is the dataset version): observations_current_key. */
const CURRENT_ROW_OF = (alias: string) =>
  `o.dataset_version_id = $1 AND o.series_id = ${alias}.series_id AND o.period = ${alias}.period AND o.valid_to IS NULL`;

/** Content equality of a current row `c` (labels `l`) and an incoming row `i`, whatever the spelling of the value. */
const SAME_CONTENT = `(c.row_hash = i.row_hash OR (c.value IS NOT DISTINCT FROM i.value
                       AND l.unit IS NOT DISTINCT FROM i.unit AND l.attributes IS NOT DISTINCT FROM i.attributes))`;

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

  // Staging holds exactly what the stage wrote, or it was lost (a crash empties UNLOGGED tables).
  const stagedRows = await stagedRowCount(client, input.stagingTable);
  if (stagedRows !== input.expectedRows) {
    throw new StagingMismatch(
      stagedRows === null
        ? `the staging table ${input.stagingTable} does not exist`
        : `staging holds ${stagedRows} rows for this run but the stage wrote ${input.expectedRows}`,
    );
  }
  // Big sorts and hashes stay in memory rather than spilling (PostgreSQL's default work_mem is 4 MB).
  await client.query(`SET LOCAL work_mem = '${MERGE_WORK_MEM}'`);
  // Every series of the snapshot has its row (new keys are added; series are never deleted), so the rest
  // of the merge joins on integer ids. Inside the transaction: a refused snapshot leaves no series behind.
  // Its named dimensions are derived from the key by the source's spec, so they are kept current in place
  // (a spec that names them anew renames them), never versioned; an unchanged series is not written, and a
  // snapshot that names none (any_value skips NULLs) never erases them.
  const newSeries = await client.query(
    `INSERT INTO series AS s (dataset_version_id, series_key, dimensions)
     SELECT $1, series_key, any_value(dimensions) FROM ${input.stagingTable} GROUP BY series_key
     ON CONFLICT (dataset_version_id, series_key) DO UPDATE SET dimensions = EXCLUDED.dimensions
      WHERE EXCLUDED.dimensions IS NOT NULL AND s.dimensions IS DISTINCT FROM EXCLUDED.dimensions`,
    [v],
  );
  await refreshStatisticsIfGrown(client, 'series', newSeries.rowCount ?? 0);
  // The incoming snapshot, one row per (series, period). Repeated keys are refused below, unless the
  // connector declared identical repeats harmless; then any of the identical rows stands for all.
  await client.query(
    `CREATE TEMP TABLE incoming ON COMMIT DROP AS
       SELECT DISTINCT ON (st.series_key, st.period)
              s.id AS series_id, st.period, st.value, st.unit, st.attributes, decode(st.row_hash, 'hex') AS row_hash
         FROM ${input.stagingTable} st
         JOIN series s ON s.dataset_version_id = $1 AND s.series_key = st.series_key
        ORDER BY st.series_key, st.period, st.seq`,
    [v],
  );
  const distinct = await client.query<{ keys: string }>('SELECT count(*) AS keys FROM incoming');
  await refuseDuplicateKeys(client, {
    stagingTable: input.stagingTable,
    sourceName: input.sourceName,
    rule: input.policy.duplicateKeys,
    stagedRows,
    distinctKeys: Number(distinct.rows[0]?.keys ?? 0),
  });
  await client.query('ANALYZE incoming');

  const keepAbsent = input.rejectedRows > 0;
  // The diff is computed between two analyzed temp tables, never as an anti-join against `observations`
  // itself: planned while that table looks empty (a first load, or after a vacuum truncated it), such a
  // join becomes a nested loop over a seq scan of the table being written, ~600 rows/s. A FULL JOIN is
  // always a hash or merge join, whatever the statistics say. Closing then finds each row by its key
  // through observations_current_key, after the store's statistics were made true (below).
  await client.query(
    `CREATE TEMP TABLE cur ON COMMIT DROP AS
       SELECT series_id, period, value, labels_id, row_hash
         FROM observations WHERE dataset_version_id = $1 AND valid_to IS NULL`,
    [v],
  );
  await client.query('ANALYZE cur');
  // The labels digest is computed only for the rows that may be inserted (new or different by hash).
  await client.query(
    `CREATE TEMP TABLE diff ON COMMIT DROP AS
       SELECT coalesce(i.series_id, c.series_id) AS series_id, coalesce(i.period, c.period) AS period,
              i.value, i.unit, i.attributes, i.row_hash,
              CASE WHEN (c.series_id IS NULL OR c.row_hash <> i.row_hash) AND (i.unit IS NOT NULL OR i.attributes IS NOT NULL)
                   THEN ${labelsDigest('i')} END AS labels_digest,
              CASE WHEN c.series_id IS NULL THEN 'added'
                   WHEN i.series_id IS NULL THEN 'absent'
                   WHEN c.row_hash = i.row_hash THEN 'unchanged'
                   WHEN ${SAME_CONTENT} THEN 'respelled'
                   ELSE 'updated' END AS change
         FROM incoming i
         FULL JOIN cur c ON c.series_id = i.series_id AND c.period = i.period
         LEFT JOIN observation_labels l ON l.id = c.labels_id`,
  );
  await client.query('ANALYZE diff');
  const diff = await client.query<{ change: string; n: string }>(
    'SELECT change, count(*) AS n FROM diff GROUP BY change',
  );
  const n = (change: string) => Number(diff.rows.find((r) => r.change === change)?.n ?? 0);
  const absent = n('absent');
  const incomingRows = n('added') + n('unchanged') + n('respelled') + n('updated');
  const currentRows = incomingRows - n('added') + absent;
  const counts = {
    recordsAdded: n('added'),
    recordsUpdated: n('updated'),
    recordsUnchanged: n('unchanged') + n('respelled'),
    recordsRemoved: keepAbsent ? 0 : absent,
    recordsKept: keepAbsent ? absent : 0,
  };

  const verdict = judgeSnapshot(
    { incoming: incomingRows, current: currentRows, removed: counts.recordsRemoved },
    input.policy,
    input.acceptRemovals,
  );
  if (!verdict.ok) throw suspiciousSnapshot(input.sourceName, verdict.message);
  const acceptedOverride = verdict.accepted;

  // Both updates below find rows by key in `observations`; its statistics must know how big it is.
  await keepStoreStatisticsTrue(client, currentRows);
  if (n('respelled') > 0) {
    // Same value written another way: bring the stored hash up to date so later loads compare by hash.
    await client.query(
      `UPDATE observations o SET row_hash = d.row_hash FROM diff d
        WHERE d.change = 'respelled' AND ${CURRENT_ROW_OF('d')}`,
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
  // Close changed rows, and (unless rows were rejected) vanished ones; insert new and changed rows.
  const closing = keepAbsent ? `('updated')` : `('updated', 'absent')`;
  await client.query(
    `UPDATE observations o SET valid_to = $2 FROM diff d WHERE d.change IN ${closing} AND ${CURRENT_ROW_OF('d')}`,
    [v, revision],
  );
  // Each unit + attribute set once per dataset version (grouped by digest in a hash table of the distinct
  // sets, not a sort of every row); the new rows point at theirs. Inserted in key
  // order, both indexes grow at their right edge instead of being written at random pages.
  const newLabels = await client.query(
    `INSERT INTO observation_labels (dataset_version_id, digest, unit, attributes)
     SELECT $1, d.labels_digest, any_value(d.unit), any_value(d.attributes)
       FROM diff d WHERE d.change IN ('added', 'updated') AND d.labels_digest IS NOT NULL
      GROUP BY d.labels_digest
     ON CONFLICT (dataset_version_id, digest) DO NOTHING`,
    [v],
  );
  await refreshStatisticsIfGrown(client, 'observation_labels', newLabels.rowCount ?? 0);
  const inserted = await client.query(
    `INSERT INTO observations (dataset_version_id, series_id, labels_id, period, value, row_hash, valid_from)
     SELECT $1, d.series_id, l.id, d.period, d.value, d.row_hash, $2
       FROM diff d
       LEFT JOIN observation_labels l ON l.dataset_version_id = $1 AND l.digest = d.labels_digest
      WHERE d.change IN ('added', 'updated')
      ORDER BY d.series_id, d.period`,
    [v, revision],
  );
  // A load that grew the store by a tenth or more refreshes its statistics for the next one and for readers.
  await refreshStatisticsIfGrown(client, 'observations', inserted.rowCount ?? 0);
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
      incomingRows + counts.recordsKept,
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
  // The change feed's event, in this transaction: consumers hear of the revision exactly when it commits.
  await recordRevisionCreated(client, v, revision);
  return { changed: true, revision, ...counts, acceptedOverride };
}

/** The planner's row count of a store table (0 before its first ANALYZE). */
async function rowEstimate(client: PoolClient, table: StoreTable): Promise<number> {
  const { rows } = await client.query<{ n: number }>(
    'SELECT reltuples::float8 AS n FROM pg_class WHERE oid = $1::regclass',
    [table],
  );
  return Math.max(0, rows[0]?.n ?? 0);
}

type StoreTable = 'observations' | 'series' | 'observation_labels';

/** A table that grew by a tenth or more of what the planner thinks it holds gets fresh statistics. */
async function refreshStatisticsIfGrown(client: PoolClient, table: StoreTable, added: number): Promise<void> {
  if (added > 0 && added >= (await rowEstimate(client, table)) / 10) await client.query(`ANALYZE ${table}`);
}

/**
 * Statistics that claim the store is smaller than the rows this version alone has current (never
 * analyzed, or a large load since) would let the planner scan `observations` inside a nested loop;
 * ANALYZE samples a fixed number of rows, so refreshing them costs about the same at any size.
 */
async function keepStoreStatisticsTrue(client: PoolClient, currentRows: number): Promise<void> {
  if ((await rowEstimate(client, 'observations')) < currentRows) await client.query('ANALYZE observations');
}
