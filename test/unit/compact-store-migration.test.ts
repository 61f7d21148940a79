// The compact-store migration (issue #8) preserves every revision: a store written on the old layout
// (series key, unit, attributes and a hex row hash on every observation) reads the same as of every
// revision after the migration, keeps every row's revision range, and the next load on the new layout compares by the
// migrated hashes (the same snapshot again is no change; one changed value is one new revision).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { Client } from 'pg';
import { rowHash } from '../../activities/ingestion/row-hash';
import { observationsAsOf } from '../../activities/store/as-of';
import { type Database, openDatabase } from '../../lib/db';
import { applyMigrations } from '../../prisma/migrator';
import type { ObservationRow } from '../../sources/kit/types';
import { startTestDatabase, type TestDatabase } from '../helpers/database';
import { loadRevision } from '../helpers/store';

const MIGRATIONS = path.join(__dirname, '..', '..', 'prisma', 'migrations');
const COMPACT = fs.readdirSync(MIGRATIONS).find((name) => name.endsWith('_compact_store')) ?? '';
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tedi-compact-migration-'));

let database: TestDatabase;
let db: Database;
let faostat: number;
let worldBank: number;

/** An old-layout row: what the store held before the migration, one revision range. */
interface OldRow extends ObservationRow {
  validFrom: number;
  validTo: number | null;
  /** The stored hash when it is not the row's own (a hand-edited row). */
  storedHash?: string;
}

const row = (
  seriesKey: string,
  period: string,
  value: string | null,
  unit: string | null,
  attributes: Record<string, unknown> | null,
  validFrom: number,
  validTo: number | null = null,
): OldRow => ({ seriesKey, period, value, unit, attributes, validFrom, validTo });

// Three revisions of FAOSTAT: revision 2 changes S1/2001 and removes S3; revision 3 adds S4.
const FAOSTAT_ROWS: OldRow[] = [
  row('QCL|4|5510|15', '2000', '1', 't', { flag: 'A' }, 1),
  row('QCL|4|5510|15', '2001', '2', 't', { flag: 'A' }, 1, 2),
  row('QCL|4|5510|15', '2001', '3', 't', { flag: 'A' }, 2),
  { ...row('QCL|4|5312|15', '2000', '5', null, null, 1), storedHash: 'legacy, not hex' },
  row('QCL|4|5510|27', '2000', '7.25', 't', { area: 'Bénin', flag: 'E' }, 1, 2),
  row('QCL|4|5510|44', '2000', null, null, { note: 'not reported' }, 3),
];
// Another version with a series key FAOSTAT also has: series belong to their version.
const WORLD_BANK_ROWS: OldRow[] = [row('QCL|4|5510|15', '2000', '99', '%', null, 1)];

/** Every stored row as "version series period [from,to)", before and after the migration. */
const RANGES_BEFORE = `SELECT dataset_version_id || ' ' || series_key || ' ' || period || ' [' || valid_from || ',' ||
                              coalesce(valid_to::text, '') || ')' AS range
                         FROM observations ORDER BY 1`;
const RANGES_AFTER = `SELECT o.dataset_version_id || ' ' || s.series_key || ' ' || o.period || ' [' || o.valid_from || ',' ||
                             coalesce(o.valid_to::text, '') || ')' AS range
                        FROM observations o JOIN series s ON s.id = o.series_id ORDER BY 1`;

/** The old layout's as-of query, verbatim from before the migration. */
async function oldAsOf(client: Client, versionId: number, revision: number) {
  const { rows } = await client.query(
    `SELECT series_key AS "seriesKey", period, value::text AS value, unit, attributes
       FROM observations
      WHERE dataset_version_id = $1 AND valid_from <= $2 AND (valid_to IS NULL OR valid_to > $2)
      ORDER BY series_key, period`,
    [versionId, revision],
  );
  return rows;
}

before(async () => {
  database = await startTestDatabase();
  const client = new Client({ connectionString: database.url });
  await client.connect();
  try {
    await client.query('DROP SCHEMA public CASCADE; CREATE SCHEMA public;');
    await client.query('DROP SCHEMA IF EXISTS tedi_staging CASCADE');
  } finally {
    await client.end();
  }
  // The migrations up to, not including, the compact store: the old layout.
  const before = path.join(tmp, 'migrations-before');
  fs.mkdirSync(before);
  for (const name of fs.readdirSync(MIGRATIONS)) {
    if (name < COMPACT) fs.cpSync(path.join(MIGRATIONS, name), path.join(before, name), { recursive: true });
  }
  await applyMigrations(database.url, { migrationsDir: before });
  // Two catalog entries written with the old layout's own columns (today's catalog loader needs columns
  // that later migrations add).
  const sql = new Client({ connectionString: database.url });
  await sql.connect();
  try {
    const versionOf = async (name: string, vertical: string) => {
      const source = await sql.query(
        `INSERT INTO data_sources (name, title, url, organization, vertical, connector, update_frequency, updated_at)
         VALUES ($1, $1, 'http://127.0.0.1:9', 'test', $2, $1, 'annual', now()) RETURNING id`,
        [name, vertical],
      );
      const dataset = await sql.query(
        'INSERT INTO datasets (slug, title, vertical, data_source_id) VALUES ($1, $1, $2, $3) RETURNING id',
        [name, vertical, source.rows[0].id],
      );
      const version = await sql.query(
        `INSERT INTO dataset_versions (dataset_id, data_source_id, version, updated_at)
         VALUES ($1, $2, 'v1', now()) RETURNING id`,
        [dataset.rows[0].id, source.rows[0].id],
      );
      return version.rows[0].id as number;
    };
    faostat = await versionOf('faostat', 'agriculture');
    worldBank = await versionOf('world_bank_agriculture', 'agriculture');
  } finally {
    await sql.end();
  }
  db = openDatabase(database.url);
});

after(async () => {
  await db?.close();
  await database?.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
});

async function writeOldLayout(client: Client, versionId: number, rows: OldRow[], revisions: number) {
  for (const r of rows) {
    await client.query(
      `INSERT INTO observations (dataset_version_id, series_key, period, value, unit, attributes, row_hash, valid_from, valid_to)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
      [
        versionId,
        r.seriesKey,
        r.period,
        r.value,
        r.unit,
        r.attributes,
        r.storedHash ?? rowHash(r),
        r.validFrom,
        r.validTo,
      ],
    );
  }
  for (let revision = 1; revision <= revisions; revision++) {
    await client.query(
      `INSERT INTO dataset_revisions (dataset_version_id, revision, checksum, record_count, ingest_key)
       VALUES ($1, $2, $3, 0, $4)`,
      [versionId, revision, `old-${revision}`, `old/${versionId}/${revision}`],
    );
  }
  await client.query('UPDATE dataset_versions SET current_revision = $2 WHERE id = $1', [versionId, revisions]);
}

/** Stages `rows` and merges them as one load on the new layout (test/helpers/store.ts). */
const load = (key: string, rows: ObservationRow[]) => loadRevision(db, tmp, faostat, key, rows, new Date());

test('a store written on the old layout reads the same as of every revision after the migration', async () => {
  assert.match(COMPACT, /^\d{14}_compact_store$/, 'the compact-store migration exists');
  const client = new Client({ connectionString: database.url });
  await client.connect();
  let oldRanges: string[];
  const expected = new Map<string, unknown[]>();
  try {
    await writeOldLayout(client, faostat, FAOSTAT_ROWS, 3);
    await writeOldLayout(client, worldBank, WORLD_BANK_ROWS, 1);
    for (const revision of [1, 2, 3]) expected.set(`faostat@${revision}`, await oldAsOf(client, faostat, revision));
    expected.set('world_bank@1', await oldAsOf(client, worldBank, 1));
    oldRanges = (await client.query(RANGES_BEFORE)).rows.map((r) => r.range);
  } finally {
    await client.end();
  }
  assert.equal(expected.get('faostat@2')?.length, 3, 'revision 2 of the old layout: S3 removed, S1/2001 changed');

  const migrated = await applyMigrations(database.url);
  assert.equal(migrated.applied[0], COMPACT, 'the compact store is the first migration applied now');
  assert.deepEqual(migrated.applied, migrated.applied.slice().sort(), 'later migrations follow it, in order');

  for (const revision of [1, 2, 3]) {
    assert.deepEqual(
      await observationsAsOf(db.pool, faostat, { revision }),
      expected.get(`faostat@${revision}`),
      `faostat as of revision ${revision}`,
    );
  }
  assert.deepEqual(await observationsAsOf(db.pool, worldBank, { revision: 1 }), expected.get('world_bank@1'));
  assert.deepEqual(await observationsAsOf(db.pool, faostat), expected.get('faostat@3'), 'the latest revision');

  // Every stored row is kept with its revision range, the key once per (version, series), each label set
  // once per version.
  const ranges = await db.pool.query(RANGES_AFTER);
  assert.deepEqual(
    ranges.rows.map((r) => r.range),
    oldRanges,
  );
  assert.equal(oldRanges.length, FAOSTAT_ROWS.length + WORLD_BANK_ROWS.length);
  const count = async (sql: string, params: unknown[]) => (await db.pool.query(sql, params)).rows[0].n;
  assert.equal(await count('SELECT count(*)::int AS n FROM series WHERE dataset_version_id = $1', [faostat]), 4);
  assert.equal(await count('SELECT count(*)::int AS n FROM series WHERE dataset_version_id = $1', [worldBank]), 1);
  assert.equal(
    await count('SELECT count(*)::int AS n FROM observation_labels WHERE dataset_version_id = $1', [faostat]),
    3,
    '{t, flag A}, {t, area + flag E}, {note}: the unlabelled row has none',
  );
  assert.equal(await count('SELECT count(*)::int AS n FROM observations WHERE labels_id IS NULL', []), 1);
  const hashes = await db.pool.query<{ len: number }>(
    'SELECT DISTINCT octet_length(row_hash) AS len FROM observations',
  );
  assert.deepEqual(
    hashes.rows.map((r) => r.len),
    [16],
    'every hash is 16 bytes',
  );
});

test('the next load compares by the migrated hashes: the same snapshot is no change, one changed value one revision', async () => {
  const currentRows = FAOSTAT_ROWS.filter((r) => r.validTo === null).map(
    ({ seriesKey, period, value, unit, attributes }) => ({ seriesKey, period, value, unit, attributes }),
  );
  const same = await load('after-migration/same', currentRows);
  assert.equal(same.changed, false);
  assert.equal(same.recordsUnchanged, currentRows.length, 'the legacy-hash row is unchanged by content');
  const legacy = await db.pool.query<{ h: string }>(
    `SELECT encode(o.row_hash, 'hex') AS h FROM observations o JOIN series s ON s.id = o.series_id
      WHERE s.series_key = 'QCL|4|5312|15'`,
  );
  assert.equal(legacy.rows[0]?.h, rowHash(currentRows.find((r) => r.seriesKey === 'QCL|4|5312|15') as ObservationRow));

  const changed = currentRows.map((r) =>
    r.period === '2000' && r.seriesKey === 'QCL|4|5510|15' ? { ...r, value: '1.5' } : r,
  );
  const next = await load('after-migration/changed', changed);
  assert.deepEqual([next.revision, next.recordsUpdated, next.recordsUnchanged], [4, 1, currentRows.length - 1]);
  const asOf3 = await observationsAsOf(db.pool, faostat, { revision: 3 });
  assert.equal(asOf3.find((r) => r.seriesKey === 'QCL|4|5510|15' && r.period === '2000')?.value, '1');
  const latest = await observationsAsOf(db.pool, faostat);
  assert.equal(latest.find((r) => r.seriesKey === 'QCL|4|5510|15' && r.period === '2000')?.value, '1.5');
  // The changed row reuses its label set; no new series.
  assert.equal(
    (await db.pool.query('SELECT count(*)::int AS n FROM observation_labels WHERE dataset_version_id = $1', [faostat]))
      .rows[0].n,
    3,
  );
  const closed = await db.pool.query(
    `${RANGES_AFTER.replace('ORDER BY', "WHERE s.series_key = 'QCL|4|5510|15' ORDER BY")}`,
  );
  assert.deepEqual(
    closed.rows.map((r) => r.range),
    [
      `${faostat} QCL|4|5510|15 2000 [1,4)`,
      `${faostat} QCL|4|5510|15 2000 [4,)`,
      `${faostat} QCL|4|5510|15 2001 [1,2)`,
      `${faostat} QCL|4|5510|15 2001 [2,)`,
      `${worldBank} QCL|4|5510|15 2000 [1,)`,
    ].sort(),
    'the migrated row was closed at revision 4 and its successor inserted',
  );
});

test('a series keeps its named dimensions when a later snapshot names none (a spec that stopped naming them)', async () => {
  const key = 'QCL|4|5510|15';
  const current = await observationsAsOf(db.pool, faostat);
  const rows = current.map(({ seriesKey, period, value, unit, attributes }) => ({
    seriesKey,
    period,
    value,
    unit,
    attributes,
  }));
  const dimensions = { area: '4', element: '5510', item: '15' };
  const named = rows.map((r) => (r.seriesKey === key ? { ...r, dimensions } : r));
  await load('dimensions/named', named);
  const stored = async () =>
    (
      await db.pool.query('SELECT dimensions FROM series WHERE dataset_version_id = $1 AND series_key = $2', [
        faostat,
        key,
      ])
    ).rows[0]?.dimensions;
  assert.deepEqual(await stored(), dimensions, 'named by the snapshot: stored once with the series');
  await load('dimensions/unnamed', rows);
  assert.deepEqual(await stored(), dimensions, 'a snapshot without dimensions leaves them as they were');
});
