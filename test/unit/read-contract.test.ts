// The read contract (schema tedi_read, prisma/migrations/*_read_contract) and the query layer over it
// (activities/store/read.ts), on a real PostgreSQL: a store built through the real merge, three revisions
// that add, update and remove observations of series with named dimensions, read through every view, as of
// a revision and of a date, diffed, paged, filtered; bad input as typed errors; the read-only role; the
// indexes the as-of read uses; and a 200k-row stream with bounded heap growth.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import v8 from 'node:v8';
import vm from 'node:vm';
import {
  countObservations,
  diff,
  listRevisions,
  listSeries,
  listSources,
  MAX_LIMIT,
  type ObservationRow,
  observations,
  ReadError,
  streamObservations,
} from '../../activities/store/read';
import { type Database, openDatabase } from '../../lib/db';
import { freshnessOf } from '../../lib/scheduling/freshness';
import type { ObservationRow as Row } from '../../sources/kit/types';
import { indicatorRow, REV1, REV2, rev3, T1, T2, T3 } from '../fixtures/indicator-store';
import { startTestDatabase, type TestDatabase } from '../helpers/database';
import { catalogVersion as catalogVersionOf, loadRevision } from '../helpers/store';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tedi-read-contract-'));
let database: TestDatabase;
let db: Database;
let alpha: number;
let beta: number;

const row = indicatorRow;
const REV3 = rev3('%');

const catalogVersion = (name: string, frequency = 'annual') => catalogVersionOf(db, name, frequency);
const load = (versionId: number, key: string, rows: Row[], at: Date, probeToken: string) =>
  loadRevision(db, tmp, versionId, key, rows, at, probeToken);

/** Writes `n` observations straight into the store as revision 1 of a new version: for volume, not for merge. */
async function bulkVersion(name: string, seriesCount: number, periods: number): Promise<void> {
  const v = await catalogVersion(name);
  await db.pool.query(
    `INSERT INTO series (dataset_version_id, series_key, dimensions)
     SELECT $1, 'S' || lpad(i::text, 6, '0') || '|C' || (i % 10), jsonb_build_object('country', 'C' || (i % 10), 'code', 'S' || lpad(i::text, 6, '0'))
       FROM generate_series(1, $2) i`,
    [v, seriesCount],
  );
  await db.pool.query(
    `INSERT INTO observation_labels (dataset_version_id, digest, unit, attributes)
     VALUES ($1, '\\x01', 'kg', '{"note": "a fairly long attribute note to give the rows some weight"}')`,
    [v],
  );
  await db.pool.query(
    `INSERT INTO observations (series_id, labels_id, dataset_version_id, valid_from, period, value, row_hash)
     SELECT s.id, l.id, $1, 1, (1990 + p)::text, (s.id * 10 + p)::numeric / 7, '\\x00'
       FROM series s CROSS JOIN generate_series(1, $2) p
       JOIN observation_labels l ON l.dataset_version_id = $1
      WHERE s.dataset_version_id = $1`,
    [v, periods],
  );
  await db.pool.query(
    `INSERT INTO dataset_revisions (dataset_version_id, revision, checksum, record_count, ingest_key)
     VALUES ($1, 1, 'bulk', $2, $3)`,
    [v, seriesCount * periods, `bulk/${name}`],
  );
  await db.pool.query('UPDATE dataset_versions SET current_revision = 1 WHERE id = $1', [v]);
  await db.pool.query('ANALYZE series; ANALYZE observations; ANALYZE dataset_revisions');
}

before(async () => {
  database = await startTestDatabase();
  db = openDatabase(database.url);
  alpha = await catalogVersion('alpha');
  beta = await catalogVersion('beta', 'on_event');
  await catalogVersion('gamma_empty');
  await load(alpha, 'alpha/1', REV1, T1, 'release-1');
  await load(alpha, 'alpha/2', REV2, T2, 'release-2');
  await load(alpha, 'alpha/3', REV3, T3, 'release-3');
  // Another source with the same series key: series belong to their version.
  await load(beta, 'beta/1', [row('AG', 'BEN', '2000', '99')], T1, 'beta-1');
});

after(async () => {
  await db?.close();
  await database?.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
});

const sql = async <T = Record<string, unknown>>(text: string, params: unknown[] = []) =>
  (await db.pool.query(text, params)).rows as T[];
const brief = (rows: { series_key: string; period: string; value: string | null }[]) =>
  rows.map((r) => `${r.series_key} ${r.period}=${r.value}`);

describe('the tedi_read views', () => {
  test('sources: one row per version with cadence, revision, freshness and breaker', async () => {
    const rows = await sql(
      'SELECT source, title, vertical, connector, cadence, is_active, version, current_revision, freshness, breaker_state, due_by FROM tedi_read.sources ORDER BY source',
    );
    assert.deepEqual(
      rows.map((r) => [r.source, r.cadence, r.version, r.current_revision, r.freshness, r.breaker_state]),
      [
        ['alpha', 'annual', 'current', 3, 'never_checked', 'closed'],
        ['beta', 'on_event', 'current', 1, 'on_event', 'closed'],
        ['gamma_empty', 'annual', 'current', 0, 'never_checked', 'closed'],
      ],
    );
    assert.equal(rows[0]!.title, 'alpha title');
    assert.equal(rows[0]!.connector, 'test-connector');
    // The view's freshness is lib/scheduling/freshness.ts's, for a success long ago and with an open breaker.
    const lastSuccess = new Date('2024-01-01T00:00:00Z');
    await db.pool.query(
      'UPDATE dataset_versions SET last_success_at = $2, breaker_opened_at = now(), consecutive_failures = 5 WHERE id = $1',
      [alpha, lastSuccess],
    );
    try {
      const [a] = await sql<{ freshness: string; due_by: Date; breaker_state: string; consecutive_failures: number }>(
        "SELECT * FROM tedi_read.sources WHERE source = 'alpha'",
      );
      const expected = freshnessOf(
        {
          frequency: 'annual',
          active: true,
          checkEnabled: true,
          lastSuccessAt: lastSuccess,
          createdAt: new Date(),
          lastCheckedAt: null,
          nextCheckAt: null,
          probeEveryTick: false,
          lastRevisionAt: null,
        },
        new Date(),
      );
      assert.equal(a!.freshness, 'overdue');
      assert.equal(a!.freshness, expected.state);
      assert.equal(a!.due_by.toISOString(), expected.dueBy?.toISOString());
      assert.equal(a!.breaker_state, 'open');
      assert.equal(a!.consecutive_failures, 5);
    } finally {
      await db.pool.query(
        'UPDATE dataset_versions SET last_success_at = NULL, breaker_opened_at = NULL, consecutive_failures = 0 WHERE id = $1',
        [alpha],
      );
    }
  });

  test('sources (#11): freshness on day one and for cheap probes as freshnessOf says, the observed release interval, the next half-open probe', async () => {
    // alpha's revisions came 31 and 28 days apart: the median of two gaps; beta has one revision, no gap.
    const intervals = await sql<{ source: string; observed: string | null }>(
      "SELECT source, observed_release_interval::text AS observed FROM tedi_read.sources WHERE source IN ('alpha', 'beta') ORDER BY source",
    );
    assert.deepEqual(
      intervals.map((r) => [r.source, r.observed]),
      [
        ['alpha', '29 days 12:00:00'],
        ['beta', null],
      ],
    );
    const gamma = (
      await sql<{ id: number }>("SELECT version_id AS id FROM tedi_read.sources WHERE source = 'gamma_empty'")
    )[0]!.id;
    type ViewRow = {
      freshness: string;
      due_by: Date;
      created_at: Date;
      last_success_at: Date | null;
      next_check_at: Date | null;
      last_checked_at: Date | null;
    };
    const viewOf = async (name: string) =>
      (
        await sql<ViewRow>(
          `SELECT s.freshness, s.due_by, v.created_at, s.last_success_at, s.next_check_at, s.last_checked_at
             FROM tedi_read.sources s JOIN dataset_versions v ON v.id = s.version_id WHERE s.source = $1`,
          [name],
        )
      )[0]!;
    const agrees = async (
      name: string,
      frequency: 'annual' | 'monthly',
      probeEveryTick: boolean,
      lastRevisionAt: Date | null,
      want: string,
    ) => {
      const r = await viewOf(name);
      const expected = freshnessOf(
        {
          frequency,
          active: true,
          checkEnabled: true,
          lastSuccessAt: r.last_success_at,
          createdAt: r.created_at,
          lastCheckedAt: r.last_checked_at,
          nextCheckAt: r.next_check_at,
          probeEveryTick,
          lastRevisionAt,
        },
        new Date(),
      );
      assert.equal(r.freshness, want, `${name}: view`);
      assert.equal(expected.state, want, `${name}: freshnessOf`);
      assert.equal(r.due_by.toISOString(), expected.dueBy?.toISOString());
    };
    try {
      // Never loaded: overdue 12 h after its first due tick (its creation), not a cadence later.
      await db.pool.query("UPDATE dataset_versions SET created_at = now() - interval '11 hours' WHERE id = $1", [
        gamma,
      ]);
      await agrees('gamma_empty', 'annual', false, null, 'never_checked');
      await db.pool.query("UPDATE dataset_versions SET created_at = now() - interval '13 hours' WHERE id = $1", [
        gamma,
      ]);
      await agrees('gamma_empty', 'annual', false, null, 'overdue');
      // Its first next_check_at, later than its creation and nothing run yet, is its first due tick.
      await db.pool.query("UPDATE dataset_versions SET next_check_at = now() - interval '11 hours' WHERE id = $1", [
        gamma,
      ]);
      await agrees('gamma_empty', 'annual', false, null, 'never_checked');

      // Checked an hour ago, last release T3: fresh on a monthly cadence, unless probed at every tick (no new
      // release within 31 days + 12 h: overdue).
      await db.pool.query(
        "UPDATE dataset_versions SET last_success_at = now() - interval '1 hour', last_checked_at = now() - interval '1 hour' WHERE id = $1",
        [alpha],
      );
      await db.pool.query("UPDATE data_sources SET update_frequency = 'monthly' WHERE name = 'alpha'");
      await agrees('alpha', 'monthly', false, T3, 'fresh');
      await db.pool.query("UPDATE data_sources SET probe_every_tick = true WHERE name = 'alpha'");
      await agrees('alpha', 'monthly', true, T3, 'overdue');

      // An open breaker's next half-open probe: the source's cool-down (default 360 min) after the opening,
      // or after the last failed probe.
      await db.pool.query(
        "INSERT INTO data_source_configs (data_source_id, base_url, updated_at) SELECT data_source_id, 'http://127.0.0.1:9', now() FROM dataset_versions WHERE id = $1",
        [gamma],
      );
      await db.pool.query(
        "UPDATE dataset_versions SET breaker_opened_at = '2026-05-01T00:00:00Z', consecutive_failures = 5 WHERE id = $1",
        [gamma],
      );
      const probeAt = async () =>
        (
          await sql<{ at: Date | null }>(
            "SELECT next_breaker_probe_at AS at FROM tedi_read.sources WHERE source = 'gamma_empty'",
          )
        )[0]!.at?.toISOString();
      assert.equal(await probeAt(), '2026-05-01T06:00:00.000Z');
      await db.pool.query("UPDATE dataset_versions SET breaker_probed_at = '2026-05-01T07:00:00Z' WHERE id = $1", [
        gamma,
      ]);
      assert.equal(await probeAt(), '2026-05-01T13:00:00.000Z');
    } finally {
      await db.pool.query(
        'UPDATE dataset_versions SET created_at = now(), next_check_at = NULL, breaker_opened_at = NULL, breaker_probed_at = NULL, consecutive_failures = 0 WHERE id = $1',
        [gamma],
      );
      await db.pool.query('UPDATE dataset_versions SET last_success_at = NULL, last_checked_at = NULL WHERE id = $1', [
        alpha,
      ]);
      await db.pool.query(
        "UPDATE data_sources SET update_frequency = 'annual', probe_every_tick = false WHERE name = 'alpha'",
      );
      await db.pool.query(
        'DELETE FROM data_source_configs WHERE data_source_id = (SELECT data_source_id FROM dataset_versions WHERE id = $1)',
        [gamma],
      );
    }
  });

  test('revisions: counts, dates, checksum and the source release token', async () => {
    const rows = await sql(
      "SELECT revision, created_at, record_count, records_added, records_updated, records_removed, checksum, probe_token, accepted_override FROM tedi_read.revisions WHERE source = 'alpha' ORDER BY revision",
    );
    assert.deepEqual(
      rows.map((r) => [
        r.revision,
        r.record_count,
        r.records_added,
        r.records_updated,
        r.records_removed,
        r.probe_token,
      ]),
      [
        [1, 4, 4, 0, 0, 'release-1'],
        [2, 3, 0, 1, 1, 'release-2'],
        [3, 3, 1, 1, 1, 'release-3'],
      ],
    );
    assert.deepEqual(
      rows.map((r) => (r.created_at as Date).toISOString()),
      [T1, T2, T3].map((t) => t.toISOString()),
    );
    assert.equal(rows[0]!.checksum, 'sum-alpha/1');
    assert.equal(rows[0]!.accepted_override, null);
  });

  test('series: every series ever stored, with its dimensions', async () => {
    const rows = await sql("SELECT series_key, dimensions FROM tedi_read.series WHERE source = 'alpha' ORDER BY 1");
    assert.deepEqual(rows, [
      { series_key: 'AG|BEN', dimensions: { indicator: 'AG', country: 'BEN' } },
      { series_key: 'AG|TGO', dimensions: { indicator: 'AG', country: 'TGO' } },
      { series_key: 'EM|BEN', dimensions: { indicator: 'EM', country: 'BEN' } },
      { series_key: 'EM|TGO', dimensions: { indicator: 'EM', country: 'TGO' } },
    ]);
  });

  test('observations_current: the latest revision, with dimensions, unit, attributes and valid_from', async () => {
    const rows = await sql(
      "SELECT series_key, dimensions, period, value::text, unit, attributes, valid_from FROM tedi_read.observations_current WHERE source = 'alpha' ORDER BY series_key, period",
    );
    assert.deepEqual(rows, [
      {
        series_key: 'AG|BEN',
        dimensions: { indicator: 'AG', country: 'BEN' },
        period: '2000',
        value: '1',
        unit: 't',
        attributes: { flag: 'E' },
        valid_from: 3,
      },
      {
        series_key: 'AG|BEN',
        dimensions: { indicator: 'AG', country: 'BEN' },
        period: '2001',
        value: '3',
        unit: 't',
        attributes: { flag: 'A' },
        valid_from: 2,
      },
      {
        series_key: 'EM|TGO',
        dimensions: { indicator: 'EM', country: 'TGO' },
        period: '2000',
        value: '9',
        unit: '%',
        attributes: null,
        valid_from: 3,
      },
    ]);
  });

  test('observation_history: every value with its revision range and the dates of both ends', async () => {
    const rows = await sql<{ r: string; valid_from_at: Date; valid_to_at: Date | null }>(
      `SELECT series_key || ' ' || period || '=' || value || ' [' || valid_from || ',' || coalesce(valid_to::text, '') || ')' AS r,
              valid_from_at, valid_to_at
         FROM tedi_read.observation_history WHERE source = 'alpha' ORDER BY series_key, period, valid_from`,
    );
    assert.deepEqual(
      rows.map((r) => r.r),
      [
        'AG|BEN 2000=1 [1,3)',
        'AG|BEN 2000=1 [3,)',
        'AG|BEN 2001=2 [1,2)',
        'AG|BEN 2001=3 [2,)',
        'AG|TGO 2000=5 [1,2)',
        'EM|BEN 2000=7 [1,3)',
        'EM|TGO 2000=9 [3,)',
      ],
    );
    assert.equal(rows[2]!.valid_from_at.toISOString(), T1.toISOString());
    assert.equal(rows[2]!.valid_to_at?.toISOString(), T2.toISOString());
    assert.equal(rows[3]!.valid_to_at, null);
  });

  test('every view and column of tedi_read is documented', async () => {
    const undocumented = await sql<{ name: string }>(
      `SELECT c.relname || coalesce('.' || a.attname, '') AS name
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
        WHERE n.nspname = 'tedi_read' AND c.relkind = 'v'
          AND (obj_description(c.oid, 'pg_class') IS NULL OR (a.attnum IS NOT NULL AND col_description(c.oid, a.attnum) IS NULL))`,
    );
    assert.deepEqual(undocumented, []);
    const functions = await sql<{ proname: string; provolatile: string; documented: boolean }>(
      `SELECT p.proname, p.provolatile, obj_description(p.oid, 'pg_proc') IS NOT NULL AS documented
         FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'tedi_read' ORDER BY 1`,
    );
    assert.deepEqual(
      functions.map((f) => [f.proname, f.provolatile, f.documented]),
      [
        ['diff', 's', true],
        ['observations_as_of', 's', true],
        ['observations_as_of_date', 's', true],
        ['revision_at', 's', true],
      ],
    );
  });
});

describe('the tedi_read functions', () => {
  const asOf = async (revision: number) =>
    brief(
      await sql(
        "SELECT series_key, period, value::text FROM tedi_read.observations_as_of('alpha', 'current', $1) ORDER BY 1, 2",
        [revision],
      ),
    );
  const asOfDate = async (at: string) =>
    brief(
      await sql(
        "SELECT series_key, period, value::text FROM tedi_read.observations_as_of_date('alpha', 'current', $1) ORDER BY 1, 2",
        [at],
      ),
    );

  test('observations_as_of: each revision as it was; 0 is empty; other sources apart', async () => {
    assert.deepEqual(await asOf(1), ['AG|BEN 2000=1', 'AG|BEN 2001=2', 'AG|TGO 2000=5', 'EM|BEN 2000=7']);
    assert.deepEqual(await asOf(2), ['AG|BEN 2000=1', 'AG|BEN 2001=3', 'EM|BEN 2000=7']);
    assert.deepEqual(await asOf(3), ['AG|BEN 2000=1', 'AG|BEN 2001=3', 'EM|TGO 2000=9']);
    assert.deepEqual(await asOf(0), []);
    const betaRows = await sql("SELECT value::text FROM tedi_read.observations_as_of('beta', 'current', 1)");
    assert.deepEqual(betaRows, [{ value: '99' }]);
  });

  test('observations_as_of_date: the latest revision created at or before the instant', async () => {
    assert.deepEqual(await asOfDate('2026-01-01T00:00:00Z'), [], 'before the first revision: nothing');
    assert.deepEqual(await asOfDate(T1.toISOString()), await asOf(1), 'at the instant of revision 1');
    assert.deepEqual(await asOfDate('2026-02-09T23:59:59Z'), await asOf(1));
    assert.deepEqual(await asOfDate('2026-03-01T00:00:00Z'), await asOf(2), 'what TEDI held on 2026-03-01');
    assert.deepEqual(await asOfDate('2030-01-01T00:00:00Z'), await asOf(3));
  });

  test('diff: added, updated old -> new, removed; unchanged rows are not listed; both directions', async () => {
    const d = async (from: number, to: number) =>
      (
        await sql<Record<string, string | null>>(
          "SELECT series_key, period, change, old_value::text, new_value::text, old_attributes, new_attributes, old_unit, new_unit FROM tedi_read.diff('alpha', 'current', $1, $2) ORDER BY 1, 2",
          [from, to],
        )
      ).map((r) => `${r.series_key} ${r.period} ${r.change} ${r.old_value}->${r.new_value}`);
    assert.deepEqual(await d(1, 2), ['AG|BEN 2001 updated 2->3', 'AG|TGO 2000 removed 5->null']);
    assert.deepEqual(await d(2, 3), [
      'AG|BEN 2000 updated 1->1',
      'EM|BEN 2000 removed 7->null',
      'EM|TGO 2000 added null->9',
    ]);
    assert.deepEqual(await d(1, 3), [
      'AG|BEN 2000 updated 1->1',
      'AG|BEN 2001 updated 2->3',
      'AG|TGO 2000 removed 5->null',
      'EM|BEN 2000 removed 7->null',
      'EM|TGO 2000 added null->9',
    ]);
    assert.deepEqual(await d(3, 1), [
      'AG|BEN 2000 updated 1->1',
      'AG|BEN 2001 updated 3->2',
      'AG|TGO 2000 added null->5',
      'EM|BEN 2000 added null->7',
      'EM|TGO 2000 removed 9->null',
    ]);
    assert.deepEqual(await d(0, 1), [
      'AG|BEN 2000 added null->1',
      'AG|BEN 2001 added null->2',
      'AG|TGO 2000 added null->5',
      'EM|BEN 2000 added null->7',
    ]);
    assert.deepEqual(await d(2, 2), []);
    const [attrs] = await sql(
      "SELECT old_attributes, new_attributes, old_unit, new_unit FROM tedi_read.diff('alpha', 'current', 2, 3) WHERE series_key = 'AG|BEN'",
    );
    assert.deepEqual(attrs, {
      old_attributes: { flag: 'A' },
      new_attributes: { flag: 'E' },
      old_unit: 't',
      new_unit: 't',
    });
  });
});

describe('the tedi_reader role', () => {
  test('exists, cannot log in, reads tedi_read, and reads or writes nothing else', async () => {
    const [role] = await sql<{ rolcanlogin: boolean }>(
      "SELECT rolcanlogin FROM pg_roles WHERE rolname = 'tedi_reader'",
    );
    assert.equal(role?.rolcanlogin, false);
    const client = await db.pool.connect();
    const asReader = async (statement: string) => {
      await client.query('BEGIN');
      try {
        await client.query('SET LOCAL ROLE tedi_reader');
        return (await client.query(statement)).rows;
      } finally {
        await client.query('ROLLBACK');
      }
    };
    try {
      for (const view of ['sources', 'revisions', 'series', 'observations_current', 'observation_history']) {
        assert.ok((await asReader(`SELECT * FROM tedi_read.${view}`)).length > 0, view);
      }
      assert.equal((await asReader("SELECT * FROM tedi_read.observations_as_of('alpha', 'current', 1)")).length, 4);
      assert.equal(
        (await asReader("SELECT * FROM tedi_read.observations_as_of_date('alpha', 'current', '2026-03-01')")).length,
        3,
      );
      assert.equal((await asReader("SELECT * FROM tedi_read.diff('alpha', 'current', 1, 3)")).length, 5);
      for (const denied of [
        'SELECT * FROM public.observations',
        'SELECT * FROM public.data_sources',
        'SELECT * FROM public.data_source_configs',
        'DELETE FROM public.observations',
        "UPDATE public.data_sources SET title = 'x'",
        "INSERT INTO public.dataset_revisions (dataset_version_id, revision, checksum, record_count, ingest_key) VALUES (1, 9, 'x', 0, 'x')",
        'CREATE TABLE tedi_read.mine (x int)',
        'CREATE TABLE public.mine (x int)',
        'CREATE TABLE tedi_staging.mine (x int)',
      ]) {
        await assert.rejects(asReader(denied), /permission denied/, denied);
      }
      // The views join tables, so PostgreSQL refuses writes through them outright, whoever asks.
      for (const write of [
        "DELETE FROM tedi_read.series WHERE source = 'alpha'",
        "UPDATE tedi_read.sources SET title = 'x'",
      ]) {
        await assert.rejects(asReader(write), /permission denied|cannot (delete from|update) view/, write);
      }
      const [writable] = await asReader(
        `SELECT count(*)::int AS n FROM information_schema.table_privileges
          WHERE grantee = 'tedi_reader' AND privilege_type <> 'SELECT'`,
      );
      assert.equal(writable!.n, 0, 'no privilege but SELECT anywhere');
    } finally {
      client.release();
    }
  });

  test('creating it again is a no-op: the migration tolerates a role another database already made', async () => {
    const migration = fs
      .readdirSync(path.join(__dirname, '..', '..', 'prisma', 'migrations'))
      .find((n) => n.endsWith('_read_contract'));
    const text = fs.readFileSync(
      path.join(__dirname, '..', '..', 'prisma', 'migrations', migration!, 'migration.sql'),
      'utf8',
    );
    const block = /DO \$\$[\s\S]*?END\n\$\$;/.exec(text)?.[0];
    assert.ok(block, 'the role is created in a DO block');
    await db.pool.query(block);
  });
});

describe('the indexes', () => {
  before(async () => bulkVersion('bulk_small', 500, 10));

  test('as of a revision, one series is an index scan (no sequential scan of observations or series)', async () => {
    for (const query of [
      "SELECT * FROM tedi_read.observations_as_of('bulk_small', 'current', 1) WHERE series_key = 'S000042|C2'",
      "SELECT * FROM tedi_read.observations_as_of_date('bulk_small', 'current', now()) WHERE series_key = 'S000042|C2'",
    ]) {
      const plan = (await sql<{ 'QUERY PLAN': string }>(`EXPLAIN ${query}`)).map((r) => r['QUERY PLAN']).join('\n');
      assert.doesNotMatch(plan, /Seq Scan on (observations|series)\b/, `${query}\n${plan}`);
      assert.match(plan, /Index (Only )?Scan using (observations_pkey|observations_current_key)/, `${query}\n${plan}`);
      assert.match(plan, /Index Scan using series_dataset_version_id_series_key_key/, `${query}\n${plan}`);
    }
    // The view read directly: the current rows come through observations_current_key (with a table this
    // small the planner may find the series by a scan; the functions above find the version first).
    const current = (
      await sql<{ 'QUERY PLAN': string }>(
        "EXPLAIN SELECT * FROM tedi_read.observations_current WHERE source = 'bulk_small' AND version = 'current' AND series_key = 'S000042|C2'",
      )
    )
      .map((r) => r['QUERY PLAN'])
      .join('\n');
    assert.match(current, /Index Scan using observations_current_key/, current);
    assert.doesNotMatch(current, /Seq Scan on observations\b/, current);
    const [counted] = await sql<{ n: string }>(
      "SELECT count(*) AS n FROM tedi_read.observations_as_of('bulk_small', 'current', 1) WHERE series_key = 'S000042|C2'",
    );
    assert.equal(Number(counted?.n), 10);
  });
});

describe('the query layer', () => {
  test('listSources and listRevisions', async () => {
    const sources = await listSources(db.pool);
    assert.deepEqual(
      sources.map((s) => [s.source, s.version, s.currentRevision, s.freshness, s.breakerState]),
      [
        ['alpha', 'current', 3, 'never_checked', 'closed'],
        ['beta', 'current', 1, 'on_event', 'closed'],
        ['bulk_small', 'current', 1, 'never_checked', 'closed'],
        ['gamma_empty', 'current', 0, 'never_checked', 'closed'],
      ],
    );
    const revisions = await listRevisions(db.pool, 'alpha', 'current');
    assert.deepEqual(
      revisions.map((r) => [
        r.revision,
        r.recordCount,
        r.recordsAdded,
        r.recordsUpdated,
        r.recordsRemoved,
        r.probeToken,
      ]),
      [
        [1, 4, 4, 0, 0, 'release-1'],
        [2, 3, 0, 1, 1, 'release-2'],
        [3, 3, 1, 1, 1, 'release-3'],
      ],
    );
    assert.equal(revisions[1]!.createdAt.toISOString(), T2.toISOString());
  });

  test('observations as of a revision, a date, or the latest; filtered by series, dimensions and period', async () => {
    const keys = (rows: ObservationRow[]) => rows.map((r) => `${r.seriesKey} ${r.period}=${r.value}`);
    const latest = await observations(db.pool, { source: 'alpha' });
    assert.equal(latest.revision, 3);
    assert.deepEqual(keys(latest.rows), ['AG|BEN 2000=1', 'AG|BEN 2001=3', 'EM|TGO 2000=9']);
    assert.deepEqual(latest.rows[0], {
      seriesKey: 'AG|BEN',
      dimensions: { indicator: 'AG', country: 'BEN' },
      period: '2000',
      value: '1',
      unit: 't',
      attributes: { flag: 'E' },
      validFrom: 3,
    });
    assert.equal(latest.next, null);
    const one = await observations(db.pool, { source: 'alpha', asOf: 1 });
    assert.deepEqual(keys(one.rows), ['AG|BEN 2000=1', 'AG|BEN 2001=2', 'AG|TGO 2000=5', 'EM|BEN 2000=7']);
    const onDate = await observations(db.pool, { source: 'alpha', asOf: '2026-03-01' });
    assert.equal(onDate.revision, 2);
    assert.deepEqual(keys(onDate.rows), ['AG|BEN 2000=1', 'AG|BEN 2001=3', 'EM|BEN 2000=7']);
    const byDate = await observations(db.pool, { source: 'alpha', asOf: new Date('2025-12-31T00:00:00Z') });
    assert.deepEqual([byDate.revision, byDate.rows], [0, []], 'before the first revision: nothing, not an error');
    const benin = await observations(db.pool, { source: 'alpha', asOf: 1, dimensions: { country: 'BEN' } });
    assert.deepEqual(keys(benin.rows), ['AG|BEN 2000=1', 'AG|BEN 2001=2', 'EM|BEN 2000=7']);
    const agBenin = await observations(db.pool, {
      source: 'alpha',
      asOf: 1,
      dimensions: { country: 'BEN', indicator: 'AG' },
    });
    assert.deepEqual(keys(agBenin.rows), ['AG|BEN 2000=1', 'AG|BEN 2001=2']);
    const series = await observations(db.pool, { source: 'alpha', asOf: 1, series: ['AG|TGO', 'EM|BEN'] });
    assert.deepEqual(keys(series.rows), ['AG|TGO 2000=5', 'EM|BEN 2000=7']);
    const period = await observations(db.pool, { source: 'alpha', asOf: 1, periodFrom: '2001', periodTo: '2001' });
    assert.deepEqual(keys(period.rows), ['AG|BEN 2001=2']);
    const counted = await countObservations(db.pool, { source: 'alpha', asOf: 1, dimensions: { country: 'BEN' } });
    assert.deepEqual([counted.revision, counted.count], [1, 3]);
  });

  test('keyset paging: every row once, none skipped, and the pages keep their revision', async () => {
    const all = await observations(db.pool, { source: 'bulk_small', limit: MAX_LIMIT });
    assert.equal(all.rows.length, 5000);
    const seen: string[] = [];
    let after: string | undefined;
    let pages = 0;
    do {
      const page = await observations(db.pool, { source: 'bulk_small', limit: 777, after });
      seen.push(...page.rows.map((r) => `${r.seriesKey} ${r.period}`));
      after = page.next ?? undefined;
      pages++;
    } while (after);
    assert.equal(pages, Math.ceil(5000 / 777));
    assert.deepEqual(
      seen,
      all.rows.map((r) => `${r.seriesKey} ${r.period}`),
    );
    assert.equal(new Set(seen).size, seen.length, 'no row twice');

    // A cursor from revision 1 keeps reading revision 1 after revision 2 of alpha-like data lands.
    const first = await observations(db.pool, { source: 'alpha', asOf: 1, limit: 2 });
    assert.ok(first.next);
    const rest = await observations(db.pool, { source: 'alpha', limit: 10, after: first.next });
    assert.equal(rest.revision, 1, 'the cursor pins the revision of the first page');
    assert.deepEqual(
      [...first.rows, ...rest.rows].map((r) => `${r.seriesKey} ${r.period}=${r.value}`),
      ['AG|BEN 2000=1', 'AG|BEN 2001=2', 'AG|TGO 2000=5', 'EM|BEN 2000=7'],
    );

    // Series pages the same way, filtered by dimension and prefix.
    const c3: string[] = [];
    let sAfter: string | undefined;
    do {
      const page = await listSeries(db.pool, {
        source: 'bulk_small',
        dimensions: { country: 'C3' },
        limit: 7,
        after: sAfter,
      });
      c3.push(...page.rows.map((s) => s.seriesKey));
      sAfter = page.next ?? undefined;
    } while (sAfter);
    assert.equal(c3.length, 50);
    assert.ok(c3.every((k) => k.endsWith('|C3')));
    assert.deepEqual(c3, [...c3].sort());
    const prefixed = await listSeries(db.pool, { source: 'bulk_small', prefix: 'S00001', limit: 100 });
    assert.equal(prefixed.rows.length, 10, 'S000010..S000019');
    const alphaSeries = await listSeries(db.pool, { source: 'alpha', dimensions: { country: 'TGO' } });
    assert.deepEqual(alphaSeries.rows, [
      { seriesKey: 'AG|TGO', dimensions: { indicator: 'AG', country: 'TGO' } },
      { seriesKey: 'EM|TGO', dimensions: { indicator: 'EM', country: 'TGO' } },
    ]);
  });

  test('diff through the query layer, paged', async () => {
    const page1 = await diff(db.pool, { source: 'alpha', from: 1, to: 3, limit: 2 });
    const page2 = await diff(db.pool, { source: 'alpha', from: 1, to: 3, limit: 10, after: page1.next ?? undefined });
    assert.equal(page2.next, null);
    assert.deepEqual(
      [...page1.rows, ...page2.rows].map((r) => `${r.seriesKey} ${r.period} ${r.change} ${r.oldValue}->${r.newValue}`),
      [
        'AG|BEN 2000 updated 1->1',
        'AG|BEN 2001 updated 2->3',
        'AG|TGO 2000 removed 5->null',
        'EM|BEN 2000 removed 7->null',
        'EM|TGO 2000 added null->9',
      ],
    );
    assert.deepEqual([page1.rows[0]!.oldAttributes, page1.rows[0]!.newAttributes], [{ flag: 'A' }, { flag: 'E' }]);
  });

  test('the page-size cap is 10,000: exactly the cap is a page, one more is refused (below)', async () => {
    const page = await observations(db.pool, { source: 'alpha', limit: 10_000 });
    assert.ok(page.rows.length > 0 && page.rows.length <= 10_000);
    await assert.rejects(observations(db.pool, { source: 'alpha', limit: 10_001 }), ReadError);
  });

  test('bad input: a ReadError naming the parameter and the fix', async () => {
    const cases: [() => Promise<unknown>, string, string, RegExp][] = [
      [
        () => observations(db.pool, { source: 'nope' }),
        'source',
        'unknown_source',
        /no source named "nope". Sources: alpha, beta/,
      ],
      [() => observations(db.pool, { source: 'Bad Name' }), 'source', 'invalid', /catalog name/],
      [
        () => observations(db.pool, { source: 'alpha', version: '2019' }),
        'version',
        'unknown_version',
        /source "alpha" has no version "2019". Versions: current/,
      ],
      [
        () => observations(db.pool, { source: 'alpha', asOf: 4 }),
        'asOf',
        'revision_out_of_range',
        /alpha\/current has revisions 1 to 3/,
      ],
      [() => observations(db.pool, { source: 'alpha', asOf: 0 }), 'asOf', 'revision_out_of_range', /1 to 3/],
      [
        () => observations(db.pool, { source: 'gamma_empty', asOf: 1 }),
        'asOf',
        'revision_out_of_range',
        /has no revisions yet/,
      ],
      [
        () => observations(db.pool, { source: 'alpha', asOf: '2026-02-30' }),
        'asOf',
        'bad_date',
        /not an ISO date.*2026-03-01/,
      ],
      [() => observations(db.pool, { source: 'alpha', asOf: new Date('nope') }), 'asOf', 'bad_date', /not an ISO date/],
      [
        () => observations(db.pool, { source: 'alpha', limit: 10_001 }),
        'limit',
        'limit_too_large',
        /above the cap of 10000/,
      ],
      [() => observations(db.pool, { source: 'alpha', limit: 0 }), 'limit', 'invalid', /from 1 to 10000/],
      [() => observations(db.pool, { source: 'alpha', after: 'garbage!' }), 'after', 'bad_cursor', /not a cursor/],
      [
        () => listSeries(db.pool, { source: 'alpha', after: Buffer.from('["o",1,"a","b"]').toString('base64url') }),
        'after',
        'bad_cursor',
        /not a cursor of this list/,
      ],
      [
        () => diff(db.pool, { source: 'alpha', from: 1, to: 9 }),
        'to',
        'revision_out_of_range',
        /0 \(before the first\) to 3/,
      ],
      [() => listRevisions(db.pool, 'alpha', 'nope'), 'version', 'unknown_version', /no version "nope"/],
    ];
    const first = await observations(db.pool, { source: 'alpha', asOf: 1, limit: 1 });
    cases.push([
      () => observations(db.pool, { source: 'alpha', asOf: 2, after: first.next ?? undefined }),
      'after',
      'bad_cursor',
      /made reading revision 1, not 2/,
    ]);
    for (const [promise, parameter, code, message] of cases) {
      await assert.rejects(promise(), (err: unknown) => {
        assert.ok(err instanceof ReadError, String(err));
        assert.equal(err.parameter, parameter, err.message);
        assert.equal(err.code, code, err.message);
        assert.match(err.detail, message);
        assert.ok(err.message.startsWith(`${parameter}: `));
        return true;
      });
    }
  });
});

describe('streaming', () => {
  before(async () => bulkVersion('bulk_large', 20_000, 10));

  test('200k rows through streamObservations, in order, with bounded heap growth', async () => {
    // Retained heap, measured after a full garbage collection at every 20,000th row: what the stream holds,
    // not garbage waiting for the collector. Buffered, these 200k rows (dimensions, attributes, exact values)
    // retain well over 100 MB; the stream holds one batch of 2,000. The bound is generous (32 MB) so that
    // a busy machine's allocator noise never fails it, yet a stream that buffered the result would.
    const BOUND_MB = 32;
    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc') as () => void;
    gc();
    const before = process.memoryUsage().heapUsed;
    let peak = before;
    let n = 0;
    let last = '';
    let ordered = true;
    const stream = streamObservations(db.pool, { source: 'bulk_large', dimensions: undefined });
    for await (const r of stream) {
      const key = `${r.seriesKey}\u0000${r.period}`;
      if (key <= last) ordered = false;
      last = key;
      n++;
      if (n % 20_000 === 0) {
        gc();
        peak = Math.max(peak, process.memoryUsage().heapUsed);
      }
    }
    const growthMb = (peak - before) / 1024 / 1024;
    assert.equal(n, 200_000);
    assert.ok(ordered, 'in (series, period) order');
    assert.equal((await stream.ready).revision, 1);
    assert.ok(growthMb < BOUND_MB, `heap grew ${growthMb.toFixed(1)} MB while streaming (bound ${BOUND_MB} MB)`);
    console.log(`streamed ${n} rows, peak heap growth ${growthMb.toFixed(1)} MB (bound ${BOUND_MB} MB)`);
  });

  test('a selective dimension filter uses the GIN index of series.dimensions', async () => {
    const query = `SELECT * FROM tedi_read.observations_as_of('bulk_large', 'current', 1) WHERE dimensions @> '{"code": "S004242"}'`;
    const plan = (await sql<{ 'QUERY PLAN': string }>(`EXPLAIN ${query}`)).map((r) => r['QUERY PLAN']).join('\n');
    assert.match(plan, /series_dimensions_idx/, plan);
    assert.doesNotMatch(plan, /Seq Scan on (observations|series)\b/, plan);
    assert.equal((await sql(query)).length, 10);
  });

  test('stopping early gives the connection back; filters apply in SQL', async () => {
    let n = 0;
    for await (const _ of streamObservations(db.pool, { source: 'bulk_large' })) {
      if (++n === 5) break;
    }
    assert.equal(db.pool.totalCount - db.pool.idleCount, 0, 'no connection left checked out');
    const c1: ObservationRow[] = [];
    for await (const r of streamObservations(db.pool, {
      source: 'bulk_large',
      dimensions: { country: 'C1' },
      periodFrom: '1995',
      limit: 25,
    })) {
      c1.push(r);
    }
    assert.equal(c1.length, 25);
    assert.ok(c1.every((r) => r.dimensions?.country === 'C1' && r.period >= '1995'));
    await assert.rejects(
      (async () => {
        for await (const _ of streamObservations(db.pool, { source: 'nope' })) break;
      })(),
      (err: unknown) => err instanceof ReadError && err.code === 'unknown_source',
    );
  });
});
