// `tedi data` and `tedi series` as operators run them (a child process), on a store built through the real
// merge: three revisions with dimensions and attributes, read as of a revision and of a date, filtered by
// dimension and period in SQL, paged, as CSV on stdout, and bad input exiting 2 naming the flag. Needs only
// PostgreSQL (the data commands never reach Temporal).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { parse } from 'csv-parse/sync';
import { csvField } from '../../activities/store/read';
import { type Database, openDatabase } from '../../lib/db';
import { indicatorRow } from '../fixtures/indicator-store';
import { type CliRun, runTedi, tediOk } from '../helpers/cli';
import { startTestDatabase, type TestDatabase } from '../helpers/database';
import { catalogVersion, loadRevision } from '../helpers/store';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tedi-cli-data-'));
let database: TestDatabase;
let db: Database;

/** An indicator × country row with the unit 't' (test/fixtures/indicator-store.ts). */
const row = (
  indicator: string,
  country: string,
  period: string,
  value: string,
  attributes?: Record<string, unknown> | null,
) => indicatorRow(indicator, country, period, value, 't', attributes);

before(async () => {
  database = await startTestDatabase();
  db = openDatabase(database.url);
  const v = await catalogVersion(db, 'alpha');
  await catalogVersion(db, 'empty_source');
  await loadRevision(
    db,
    tmp,
    v,
    'alpha/1',
    [
      row('AG', 'BEN', '2000', '1'),
      row('AG', 'BEN', '2001', '2'),
      row('AG', 'TGO', '2000', '5', { note: 'a, "quoted" note' }),
    ],
    new Date('2026-01-10T00:00:00Z'),
  );
  await loadRevision(
    db,
    tmp,
    v,
    'alpha/2',
    [
      row('AG', 'BEN', '2000', '1'),
      row('AG', 'BEN', '2001', '3'),
      row('AG', 'TGO', '2000', '5', { note: 'a, "quoted" note' }),
      row('EM', 'BEN', '2000', '7', null),
    ],
    new Date('2026-02-10T00:00:00Z'),
  );
});

after(async () => {
  await db?.close();
  await database?.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
});

type Run = CliRun;
const cliEnv = () => ({ ...process.env, DATABASE_URL: database.url, LOG_LEVEL: 'warn' });
const tedi = (args: string[]): Promise<Run> => runTedi(args, { env: cliEnv(), timeoutMs: 60_000 });
const ok = (args: string[]): Promise<Run> => tediOk(args, { env: cliEnv(), timeoutMs: 60_000 });

type Data = {
  revision: number;
  total: number;
  next: string | null;
  observations: { seriesKey: string; period: string; value: string; attributes: unknown; dimensions: unknown }[];
};
const json = async (args: string[]) => JSON.parse((await ok([...args, '--json'])).stdout) as Data;
const brief = (d: Data) => d.observations.map((o) => `${o.seriesKey} ${o.period}=${o.value}`);

test('data: latest, --revision, --as-of, --where, --from/--to, attributes, paging with --after', async () => {
  const [latest, rev1, onDate, benin, period, table] = await Promise.all([
    json(['data', 'alpha']),
    json(['data', 'alpha', '--revision', '1']),
    json(['data', 'alpha', '--as-of', '2026-02-01']),
    json(['data', 'alpha', '--where', 'country=BEN', '--where', 'indicator=AG']),
    json(['data', 'alpha', '--from', '2001', '--to', '2001']),
    ok(['data', 'alpha', '--limit', '2']),
  ]);
  assert.equal(latest.revision, 2);
  assert.equal(latest.total, 4);
  assert.deepEqual(brief(latest), ['AG|BEN 2000=1', 'AG|BEN 2001=3', 'AG|TGO 2000=5', 'EM|BEN 2000=7']);
  assert.deepEqual(latest.observations[2]!.attributes, { note: 'a, "quoted" note' });
  assert.deepEqual(latest.observations[0]!.dimensions, { indicator: 'AG', country: 'BEN' });
  assert.deepEqual(brief(rev1), ['AG|BEN 2000=1', 'AG|BEN 2001=2', 'AG|TGO 2000=5']);
  assert.equal(onDate.revision, 1, 'what TEDI held on 2026-02-01: revision 1');
  assert.deepEqual(brief(onDate), brief(rev1));
  assert.deepEqual(brief(benin), ['AG|BEN 2000=1', 'AG|BEN 2001=3']);
  assert.equal(benin.total, 2, 'the total counts the filtered rows, in SQL');
  assert.deepEqual(brief(period), ['AG|BEN 2001=3']);
  assert.match(table.stdout, /^SERIES\s+PERIOD\s+VALUE\s+UNIT\s+ATTRIBUTES$/m);
  assert.match(table.stdout, /^AG\|BEN\s+2000\s+1\s+t\s+\{"flag":"A"\}$/m);
  assert.equal(table.stdout.trim().split('\n').length, 3, 'header + 2 rows: the limit');
  const cursor = /--after (\S+)/.exec(table.stderr)?.[1];
  assert.ok(cursor, table.stderr);
  assert.match(table.stderr, /alpha\/current as of revision 2 of 2: 4 observations \(showing 2; next page/);
  const page2 = await json(['data', 'alpha', '--limit', '2', '--after', cursor]);
  assert.deepEqual(brief(page2), ['AG|TGO 2000=5', 'EM|BEN 2000=7']);
  assert.equal(page2.next, null);
});

test('data --format csv streams every row with attributes and dimensions as JSON', async () => {
  const run = await ok(['data', 'alpha', '--format', 'csv']);
  const records = parse(run.stdout, { columns: true }) as Record<string, string>[];
  assert.deepEqual(Object.keys(records[0]!), ['series_key', 'period', 'value', 'unit', 'attributes', 'dimensions']);
  assert.equal(records.length, 4, 'no default limit for csv');
  assert.deepEqual(JSON.parse(records[2]!.attributes!), { note: 'a, "quoted" note' });
  assert.deepEqual(JSON.parse(records[3]!.dimensions!), { indicator: 'EM', country: 'BEN' });
  assert.equal(records[3]!.attributes, '');
  assert.match(run.stderr, /as of revision 2 of 2: 4 observations/);
  const old = parse(
    (await ok(['data', 'alpha', '--format', 'csv', '--revision', '1', '--where', 'country=TGO'])).stdout,
    {
      columns: true,
    },
  ) as Record<string, string>[];
  assert.deepEqual(
    old.map((r) => `${r.series_key} ${r.value}`),
    ['AG|TGO 5'],
  );
  assert.equal(csvField('plain'), 'plain');
  assert.equal(csvField('a,"b"\nc'), '"a,""b""\nc"');
  assert.equal(csvField(null), '');
});

test('series: with dimensions, filtered by --where and --prefix', async () => {
  const all = JSON.parse((await ok(['series', 'alpha', '--json'])).stdout) as {
    series: { seriesKey: string; dimensions: unknown }[];
  };
  assert.deepEqual(all.series, [
    { seriesKey: 'AG|BEN', dimensions: { indicator: 'AG', country: 'BEN' } },
    { seriesKey: 'AG|TGO', dimensions: { indicator: 'AG', country: 'TGO' } },
    { seriesKey: 'EM|BEN', dimensions: { indicator: 'EM', country: 'BEN' } },
  ]);
  const [benin, prefixed] = await Promise.all([
    ok(['series', 'alpha', '--where', 'country=BEN']),
    ok(['series', 'alpha', '--prefix', 'AG']),
  ]);
  assert.match(benin.stdout, /^SERIES\s+DIMENSIONS$/m);
  assert.match(benin.stdout, /^AG\|BEN\s+country=BEN indicator=AG$/m);
  assert.match(benin.stdout, /^EM\|BEN\s+country=BEN indicator=EM$/m);
  assert.doesNotMatch(benin.stdout, /TGO/);
  assert.doesNotMatch(prefixed.stdout, /EM\|/);
  assert.match(prefixed.stdout, /AG\|TGO/);
});

test('bad input exits 2 naming the flag, nothing on stdout', async () => {
  const cases: [string[], RegExp][] = [
    [['data', 'alpha', '--revision', '3'], /--revision: alpha\/current has revisions 1 to 2/],
    [['data', 'alpha', '--format', 'csv', '--revision', '3'], /--revision: alpha\/current has revisions 1 to 2/],
    [['data', 'alpha', '--as-of', '2026-02-30'], /--as-of: "2026-02-30" is not an ISO date/],
    [['data', 'alpha', '--revision', '1', '--as-of', '2026-02-01'], /--as-of: give --revision or --as-of, not both/],
    [['data', 'alpha', '--where', 'BEN'], /--where: "BEN" is not dimension=value, e.g. --where country=BEN/],
    [['data', 'alpha', '--limit', '10001'], /--limit: must be a whole number from 1 to 10000/],
    [['data', 'alpha', '--after', 'nonsense'], /--after: "nonsense" is not a cursor of this list/],
    [['data', 'alpha', '--format', 'xml'], /--format: must be one of table, json, csv/],
    [['data', 'nope'], /<source>: no source named "nope". Sources: alpha, empty_source/],
    [['data', 'alpha', '--version', '2019'], /--version: source "alpha" has no version "2019". Versions: current/],
    [['series', 'nope'], /<source>: no source named "nope"/],
    [['data', 'empty_source', '--revision', '1'], /--revision: empty_source\/current has no revisions yet/],
  ];
  for (const [args, message] of cases) {
    const run = await tedi(args);
    assert.equal(run.code, 2, `tedi ${args.join(' ')}: ${run.stderr}`);
    assert.match(run.stderr, message);
    assert.equal(run.stdout, '', `nothing on stdout: tedi ${args.join(' ')}`);
  }
  const empty = await ok(['data', 'empty_source']);
  assert.match(empty.stdout, /empty_source\/current has no data yet/);
});
