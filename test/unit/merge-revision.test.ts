// The merge on real PostgreSQL at a size where a bad plan shows: 200,000 rows into an `observations`
// table that was emptied and vacuumed (relpages = 0), the state in which an anti-join against the store
// used to be planned as a nested loop over a seq scan (~600 rows/s: over five minutes for these rows).
// The statement timeout turns such a plan into a failure; the merge must also stay exact.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { rowHash } from '../../activities/ingestion/row-hash';
import { mergeStagedRevision } from '../../activities/store/merge-revision';
import { DEFAULT_MAX_REMOVED_RATIO } from '../../activities/store/snapshot-guard';
import { SpoolWriter } from '../../activities/store/spool-writer';
import { dropStaging, stageFromSpool, stagingRow, stagingTableFor } from '../../activities/store/staging';
import { loadCatalog } from '../../catalog/load';
import { type Database, openDatabase } from '../../lib/db';
import { startTestDatabase, type TestDatabase } from '../helpers/database';

const ROWS = 200_000;
/** Generous for 200,000 rows on two busy cores; the old plan needed minutes. */
const STATEMENT_TIMEOUT = '120s';

let database: TestDatabase;
let db: Database;
let versionId: number;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tedi-merge-test-'));

before(async () => {
  database = await startTestDatabase();
  db = openDatabase(database.url);
  await loadCatalog(db.prisma, { worldBankBaseUrl: 'http://127.0.0.1:9', worldBankCountries: ['BJ'] });
  versionId = (await db.prisma.datasetVersion.findFirstOrThrow({ where: { dataSource: { name: 'faostat' } } })).id;
});
after(async () => {
  await db?.close();
  await database?.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** Stages ROWS rows (every 100th value changed when `revision` > 1) and merges them as one load. */
async function load(revision: number) {
  const key = `merge-test/${revision}`;
  const spool = new SpoolWriter(path.join(tmp, `rows-${revision}.copy`));
  for (let i = 0; i < ROWS; i++) {
    const row = {
      seriesKey: `S${i % 1000}|BEN`,
      period: String(1000 + Math.floor(i / 1000)),
      value: String(i + (revision > 1 && i % 100 === 0 ? 0.5 : 0)),
      unit: 't',
      attributes: null,
    };
    await spool.write(stagingRow(i + 1, i + 1, row, rowHash(row)));
  }
  await spool.close();
  const table = stagingTableFor(key);
  const client = await db.pool.connect();
  try {
    await client.query('BEGIN');
    await stageFromSpool(client, table, spool.file);
    await client.query('COMMIT');
    await client.query('BEGIN');
    await client.query(`SET LOCAL statement_timeout = '${STATEMENT_TIMEOUT}'`);
    const result = await mergeStagedRevision(client, {
      ingestKey: key,
      stagingTable: table,
      datasetVersionId: versionId,
      sourceName: 'faostat',
      checksum: `c${revision}`,
      probeToken: null,
      expectedRows: ROWS,
      rejectedRows: 0,
      policy: { allowEmpty: false, maxRemovedRatio: DEFAULT_MAX_REMOVED_RATIO, duplicateKeys: 'fail' },
      acceptRemovals: false,
    });
    await client.query('COMMIT');
    await dropStaging(client, table);
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}

test('200,000 rows into an emptied, vacuumed store: merged within the statement timeout, exactly', async () => {
  // The state of the bug: rows written and removed, then VACUUM truncates the table to zero pages.
  await db.pool.query(
    `INSERT INTO series (dataset_version_id, series_key) SELECT $1, 'x' || g FROM generate_series(1, 50000) g`,
    [versionId],
  );
  await db.pool.query(
    `INSERT INTO observations (dataset_version_id, series_id, period, value, row_hash, valid_from)
     SELECT $1, id, '2000', 1, '\\x00'::bytea, 1 FROM series WHERE dataset_version_id = $1`,
    [versionId],
  );
  await db.pool.query('DELETE FROM observations');
  await db.pool.query('DELETE FROM series');
  await db.pool.query('VACUUM observations');
  await db.pool.query('VACUUM series');
  const pages = await db.pool.query("SELECT relpages FROM pg_class WHERE relname = 'observations'");
  assert.equal(pages.rows[0].relpages, 0, 'the store looks empty to the planner');

  const first = await load(1);
  assert.equal(first.revision, 1);
  assert.equal(first.recordsAdded, ROWS);

  // A second load on the now-full store with 1 % changed values: the stale statistics are refreshed.
  const second = await load(2);
  assert.equal(second.revision, 2);
  assert.equal(second.recordsUpdated, ROWS / 100);
  assert.equal(second.recordsAdded, 0);
  assert.equal(second.recordsUnchanged, ROWS - ROWS / 100);
  const current = await db.pool.query(
    'SELECT count(*)::int AS n FROM observations WHERE dataset_version_id = $1 AND valid_to IS NULL',
    [versionId],
  );
  assert.equal(current.rows[0].n, ROWS);
});
