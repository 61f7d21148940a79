// `tedi export` as operators run it (a child process), on a store built through the real merge: CSV and
// Parquet files equal the query layer's rows (Parquet read back with hyparquet, the reader of the writer's
// authors), as of a revision and of a date, filtered by --where; bad input exits 2 naming the flag and writes
// no file; a 200k-row export keeps the child's heap bounded (the export streams). Needs only PostgreSQL.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { parse } from 'csv-parse/sync';
import { asyncBufferFromFile, parquetMetadataAsync, parquetReadObjects } from 'hyparquet';
import { type ObservationRow as ReadRow, streamObservations } from '../../activities/store/read';
import { type Database, openDatabase } from '../../lib/db';
import type { ObservationRow } from '../../sources/kit/types';
import { indicatorRow } from '../fixtures/indicator-store';
import { type CliRun, runTedi, tediOk } from '../helpers/cli';
import { startTestDatabase, type TestDatabase } from '../helpers/database';
import { probeArgs, readProbe } from '../helpers/heap-probe';
import { catalogVersion, loadRevision } from '../helpers/store';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tedi-cli-export-'));
const BIG = 200_000;
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
  await loadRevision(
    db,
    tmp,
    v,
    'alpha/1',
    [
      row('AG', 'BEN', '2000', '1.10'),
      row('AG', 'BEN', '2001', '2'),
      row('AG', 'TGO', '2000', '5', { note: 'a, "quoted"\nnote' }),
    ],
    new Date('2026-01-10T00:00:00Z'),
  );
  await loadRevision(
    db,
    tmp,
    v,
    'alpha/2',
    [
      row('AG', 'BEN', '2000', '1.10'),
      row('AG', 'BEN', '2001', '3.000000000000000000000001'),
      row('AG', 'TGO', '2000', '5', { note: 'a, "quoted"\nnote' }),
      { ...row('EM', 'BEN', '2000', '7', null), unit: null },
    ],
    new Date('2026-02-10T00:00:00Z'),
  );
  const big = await catalogVersion(db, 'big');
  const rows: ObservationRow[] = [];
  for (let i = 0; i < BIG; i++) {
    rows.push(row(`IND${i % 500}`, `C${Math.floor(i / 500) % 400}`, String(1000 + Math.floor(i / 200_000)), `${i}.5`));
  }
  await loadRevision(db, tmp, big, 'big/1', rows, new Date('2026-01-10T00:00:00Z'));
});

after(async () => {
  await db?.close();
  await database?.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
});

type Run = CliRun;
const cliOptions = (nodeArgs: string[], env: Record<string, string>) => ({
  env: { ...process.env, DATABASE_URL: database.url, LOG_LEVEL: 'warn', ...env },
  nodeArgs,
});
const tedi = (args: string[], nodeArgs: string[] = [], env: Record<string, string> = {}): Promise<Run> =>
  runTedi(args, cliOptions(nodeArgs, env));
const ok = (args: string[], nodeArgs: string[] = [], env: Record<string, string> = {}): Promise<Run> =>
  tediOk(args, cliOptions(nodeArgs, env));

/** The query layer's rows, in the export's columns and spelling (every value as text, as the CSV has it). */
async function expected(query: Parameters<typeof streamObservations>[1]): Promise<Record<string, string>[]> {
  const stream = streamObservations(db.pool, query);
  const out: ReadRow[] = [];
  for await (const r of stream) out.push(r);
  const { source, version, revision } = await stream.ready;
  return out.map((o) => ({
    source,
    version,
    revision: String(revision),
    series_key: o.seriesKey,
    dimensions: o.dimensions ? JSON.stringify(o.dimensions) : '',
    period: o.period,
    value: o.value ?? '',
    unit: o.unit ?? '',
    attributes: o.attributes ? JSON.stringify(o.attributes) : '',
    valid_from: String(o.validFrom),
  }));
}

const readCsv = (file: string) => parse(fs.readFileSync(file, 'utf8'), { columns: true }) as Record<string, string>[];

async function readParquet(file: string): Promise<Record<string, string>[]> {
  const rows = (await parquetReadObjects({ file: await asyncBufferFromFile(file) })) as Record<string, unknown>[];
  return rows.map((r) =>
    Object.fromEntries(Object.entries(r).map(([k, v]) => [k, v === null || v === undefined ? '' : String(v)])),
  );
}

const noTmp = () =>
  assert.deepEqual(
    fs.readdirSync(tmp).filter((f) => f.endsWith('.tmp')),
    [],
    'no .tmp left',
  );

test('export csv and parquet equal the query layer: latest, --revision, --as-of, --where', async () => {
  const cases: [string, string[], Parameters<typeof streamObservations>[1], number][] = [
    ['latest', [], { source: 'alpha' }, 2],
    ['rev1', ['--revision', '1'], { source: 'alpha', asOf: 1 }, 1],
    ['date', ['--as-of', '2026-02-01'], { source: 'alpha', asOf: '2026-02-01' }, 1],
    [
      'benin',
      ['--where', 'country=BEN', '--where', 'indicator=AG'],
      { source: 'alpha', dimensions: { country: 'BEN', indicator: 'AG' } },
      2,
    ],
  ];
  for (const [name, flags, query, revision] of cases) {
    const want = await expected(query);
    assert.ok(want.length > 0, name);
    for (const format of ['csv', 'parquet'] as const) {
      const file = path.join(tmp, `${name}.${format}`);
      const run = await ok(['export', 'alpha', ...flags, '--format', format, '--out', file]);
      assert.match(run.stdout, new RegExp(`as of revision ${revision}\\b.*: ${want.length} observations written`));
      const got = format === 'csv' ? readCsv(file) : await readParquet(file);
      assert.deepEqual(got, want, `${name} ${format}`);
    }
  }
  const latest = readCsv(path.join(tmp, 'latest.csv'));
  assert.equal(latest[1]!.value, '3.000000000000000000000001', 'the exact decimal, no float');
  assert.equal(latest[2]!.attributes, '{"note":"a, \\"quoted\\"\\nnote"}');
  const meta = await parquetMetadataAsync(await asyncBufferFromFile(path.join(tmp, 'latest.parquet')));
  assert.deepEqual(
    meta.schema.slice(1).map((s) => `${s.name}:${s.type}`),
    [
      'source:BYTE_ARRAY',
      'version:BYTE_ARRAY',
      'revision:INT32',
      'series_key:BYTE_ARRAY',
      'dimensions:BYTE_ARRAY',
      'period:BYTE_ARRAY',
      'value:BYTE_ARRAY',
      'unit:BYTE_ARRAY',
      'attributes:BYTE_ARRAY',
      'valid_from:INT32',
    ],
  );
  const asJson = JSON.parse(
    (await ok(['export', 'alpha', '--format', 'csv', '--out', path.join(tmp, 'j.csv'), '--json'])).stdout,
  );
  assert.equal(asJson.rows, 4);
  assert.equal(asJson.revision, 2);
  noTmp();
});

test('bad input exits 2 naming the flag, and writes no file', async () => {
  const out = path.join(tmp, 'bad.csv');
  const cases: [string[], RegExp][] = [
    [['--format', 'csv', '--revision', '3'], /--revision: alpha\/current has revisions 1 to 2/],
    [['--format', 'parquet', '--revision', 'x'], /--revision: must be a whole number/],
    [['--format', 'csv', '--as-of', '2026-02-30'], /--as-of: "2026-02-30" is not an ISO date/],
    [['--format', 'csv', '--revision', '1', '--as-of', '2026-02-01'], /--as-of: give --revision or --as-of, not both/],
    [['--format', 'csv', '--where', 'BEN'], /--where: "BEN" is not dimension=value/],
    [['--format', 'xml'], /--format: must be one of csv, parquet/],
    [[], /--format: must be one of csv, parquet/],
    [['--format', 'csv', '--version', '2019'], /--version: source "alpha" has no version "2019"/],
  ];
  for (const [flags, message] of cases) {
    const run = await tedi(['export', 'alpha', ...flags, '--out', out]);
    assert.equal(run.code, 2, `tedi export ${flags.join(' ')}: ${run.stderr}`);
    assert.match(run.stderr, message);
    assert.equal(fs.existsSync(out), false, `no file: ${flags.join(' ')}`);
  }
  const noOut = await tedi(['export', 'alpha', '--format', 'csv']);
  assert.equal(noOut.code, 2);
  assert.match(noOut.stderr, /--out: missing/);
  const noDir = await tedi(['export', 'alpha', '--format', 'csv', '--out', path.join(tmp, 'nope', 'x.csv')]);
  assert.equal(noDir.code, 2);
  assert.match(noDir.stderr, /--out: its folder does not exist/);
  const noSource = await tedi(['export', 'nope', '--format', 'csv', '--out', out]);
  assert.equal(noSource.code, 2);
  assert.match(noSource.stderr, /<source>: no source named "nope"/);
  assert.equal(fs.existsSync(out), false);
  noTmp();
});

// Heap growth is measured in the CLI child (test/helpers/heap-probe: --expose-gc and a preload that
// collects garbage and samples heapUsed + arrayBuffers every 25 ms, so it sees what is live, Parquet bytes
// included, and writes the peak at exit). The 200k-row export's peak may exceed a 4-row export's by at most
// 48 MB, a generous bound (streaming, it grows by about 2 MB: one 10k-row batch and its Parquet row group
// at a time); 200k rows held in memory would not fit in it.
test('a 200k-row export streams: the heap stays bounded, csv and parquet', async () => {
  const peakOf = async (source: string, format: string) => {
    const peakFile = path.join(tmp, `peak-${source}-${format}.json`);
    const file = path.join(tmp, `${source}-heap.${format}`);
    const probe = probeArgs(peakFile);
    const started = Date.now();
    const run = await ok(['export', source, '--format', format, '--out', file], probe.nodeArgs, probe.env);
    return { run, file, peak: readProbe(peakFile).peakLive, ms: Date.now() - started };
  };
  for (const format of ['csv', 'parquet']) {
    const small = await peakOf('alpha', format);
    const big = await peakOf('big', format);
    assert.match(big.run.stdout, new RegExp(`big/current as of revision 1 of 1: ${BIG} observations written`));
    const growth = (big.peak - small.peak) / 2 ** 20;
    console.log(
      `${format}: ${BIG} rows in ${big.ms} ms, heap peak ${(big.peak / 2 ** 20).toFixed(0)} MB (+${growth.toFixed(1)} MB over 4 rows)`,
    );
    assert.ok(growth < 48, `${format}: heap grew ${growth.toFixed(1)} MB`);
    if (format === 'csv') {
      const lines = fs.readFileSync(big.file, 'utf8').trimEnd().split('\n');
      assert.equal(lines.length, BIG + 1);
    } else {
      const meta = await parquetMetadataAsync(await asyncBufferFromFile(big.file));
      assert.equal(meta.num_rows, BigInt(BIG));
      // The README's figure, not the constant: one row group per 10,000 rows.
      assert.deepEqual(
        meta.row_groups.map((g) => Number(g.num_rows)),
        Array.from({ length: Math.ceil(BIG / 10_000) }, (_, i) => Math.min(10_000, BIG - i * 10_000)),
        'one row group per 10,000 rows',
      );
    }
  }
  noTmp();
});
