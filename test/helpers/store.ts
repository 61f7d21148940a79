// A versioned store built through the real merge, for tests that read it: catalog rows written in SQL, and
// loads that stage rows and merge them as one ingestion does (activities/store/merge-revision.ts).
import path from 'node:path';
import { rowHash } from '../../activities/ingestion/row-hash';
import { mergeStagedRevision } from '../../activities/store/merge-revision';
import { SpoolWriter } from '../../activities/store/spool-writer';
import { dropStaging, stageFromSpool, stagingRow, stagingTableFor } from '../../activities/store/staging';
import type { Database } from '../../lib/db';
import type { ObservationRow } from '../../sources/kit/types';

/** A catalog source with one dataset and its version `current`; returns the version's id. */
export async function catalogVersion(db: Database, name: string, frequency = 'annual'): Promise<number> {
  const source = await db.pool.query(
    `INSERT INTO data_sources (name, title, url, organization, vertical, connector, update_frequency, updated_at)
     VALUES ($1, $1 || ' title', 'http://127.0.0.1:9', 'test', 'agriculture', 'test-connector', $2, now()) RETURNING id`,
    [name, frequency],
  );
  const dataset = await db.pool.query(
    'INSERT INTO datasets (slug, title, vertical, data_source_id) VALUES ($1, $1, $2, $3) RETURNING id',
    [name, 'agriculture', source.rows[0].id],
  );
  const version = await db.pool.query(
    `INSERT INTO dataset_versions (dataset_id, data_source_id, version, updated_at)
     VALUES ($1, $2, 'current', now()) RETURNING id`,
    [dataset.rows[0].id, source.rows[0].id],
  );
  return version.rows[0].id as number;
}

/**
 * Stages `rows` and merges them as one load, then dates the new revision `at`. `rows` may be a generator:
 * they are spooled to disk one by one, so a million-row load never holds its rows in memory.
 */
export async function loadRevision(
  db: Database,
  spoolDir: string,
  versionId: number,
  key: string,
  rows: Iterable<ObservationRow>,
  at: Date,
  probeToken: string | null = null,
) {
  const spool = new SpoolWriter(path.join(spoolDir, `${key.replaceAll('/', '-')}.copy`));
  let staged = 0;
  for (const r of rows) {
    staged++;
    await spool.write(stagingRow(staged, staged, r, rowHash(r)));
  }
  await spool.close();
  const table = stagingTableFor(key);
  const client = await db.pool.connect();
  try {
    await client.query('BEGIN');
    await stageFromSpool(client, table, spool.file);
    const result = await mergeStagedRevision(client, {
      ingestKey: key,
      stagingTable: table,
      datasetVersionId: versionId,
      sourceName: 'test',
      checksum: `sum-${key}`,
      probeToken,
      expectedRows: staged,
      rejectedRows: 0,
      policy: { allowEmpty: false, maxRemovedRatio: 1, duplicateKeys: 'fail' },
      acceptRemovals: false,
    });
    await dropStaging(client, table);
    await client.query('UPDATE dataset_revisions SET created_at = $3 WHERE dataset_version_id = $1 AND revision = $2', [
      versionId,
      result.revision,
      at,
    ]);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}
