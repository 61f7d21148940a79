// A million current observations read every way TEDI offers, each with its heap measured alone in a child
// process: the read API (npm run api's scripts/api.ts) as format=csv, as format=parquet and by JSON keyset
// paging (limit 10,000, following `next`), and the CLI export (tedi export --format csv and parquet). Each
// read counts exactly 1,000,000 rows and finds the first and last where the data put them; each child's
// peak live memory (heapUsed + arrayBuffers, after a full collection, every 25 ms: test/helpers/heap-probe)
// may grow by at most BOUND_MB (32 MB) over its baseline. Streaming, the API holds one cursor batch (2,000
// rows) and one chunk or row group (10,000 rows), the export one batch: 1 to 7 MB measured. Buffered, the
// CSV body alone is ~120 MB, the Parquet file ~40 MB (both checked below to exceed the bound), the rows as
// objects several hundred MB: any of them breaks the bound. Timings and peaks are printed.
//
// The store is loaded through the real merge (test/helpers/store.ts loadRevision, rows generated and
// spooled one by one): about 25 s here for 1M rows, fast enough not to need hand-written SQL that could
// drift from what the merge writes. Everything over loopback, on the embedded PostgreSQL.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { after, before, describe, test } from 'node:test';
import { asyncBufferFromFile, parquetMetadataAsync, parquetReadObjects } from 'hyparquet';
import { OBSERVATION_CSV_HEADER, type ObservationRow, observationCsvLine } from '../../activities/store/read';
import { type Database, openDatabase } from '../../lib/db';
import { freePort } from '../../lib/infra/postgres';
import type { ObservationRow as Row } from '../../sources/kit/types';
import { startTestDatabase, type TestDatabase } from '../helpers/database';
import { type HeapReading, markProbe, mb, probeArgs, readProbe } from '../helpers/heap-probe';
import { catalogVersion, loadRevision } from '../helpers/store';

const ROOT = path.resolve(__dirname, '..', '..');
const N = 1_000_000;
const PERIODS = 10;
/** Peak growth of a child's live memory over its baseline, per read: 5x what streaming needs here. */
const BOUND_MB = 32;
const PAGE = 10_000;

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tedi-million-'));
let database: TestDatabase;
let db: Database;
const timings: string[] = [];

const seriesKey = (s: number) => `S${String(s).padStart(6, '0')}`;
/** 40 digits after the point that snappy cannot squeeze, so the Parquet file is bigger than the bound. */
const decimalOf = (i: number) => {
  let digits = '';
  for (const m of [2_654_435_761, 2_246_822_519, 3_266_489_917, 668_265_263]) {
    digits += String((i * m) % 4_294_967_296).padStart(10, '0');
  }
  return `${i}.${digits}`;
};

function* millionRows(): Generator<Row> {
  for (let i = 0; i < N; i++) {
    const s = Math.floor(i / PERIODS);
    yield {
      seriesKey: seriesKey(s),
      period: String(2000 + (i % PERIODS)),
      value: decimalOf(i),
      unit: 'kg',
      attributes: { flag: i % 3 ? 'A' : 'E' },
      dimensions: { country: `C${s % 250}`, indicator: `I${s % 7}` },
    };
  }
}

const tiny: Row[] = [
  { seriesKey: 'A', period: '2000', value: '1', unit: 't', attributes: null, dimensions: { country: 'BEN' } },
  { seriesKey: 'B', period: '2000', value: '2', unit: 't', attributes: null, dimensions: { country: 'TGO' } },
];

before(async () => {
  database = await startTestDatabase();
  db = openDatabase(database.url);
  await loadRevision(db, tmp, await catalogVersion(db, 'tiny'), 'tiny/1', tiny, new Date('2026-01-10T00:00:00Z'));
  const started = Date.now();
  const v = await catalogVersion(db, 'million');
  await loadRevision(db, tmp, v, 'million/1', millionRows(), new Date('2026-01-10T00:00:00Z'));
  timings.push(`load ${N} rows through the merge: ${Date.now() - started} ms`);
});

after(async () => {
  console.log(timings.map((t) => `  ${t}`).join('\n'));
  await db?.close();
  await database?.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** The first and last rows as the data were generated (what every read must find at its ends). */
const FIRST = { seriesKey: seriesKey(0), period: '2000', value: decimalOf(0) };
const LAST = { seriesKey: seriesKey(N / PERIODS - 1), period: String(2000 + PERIODS - 1), value: decimalOf(N - 1) };

/** The JSON route's first and last rows, read in the test process (the reference for the other formats). */
let jsonFirst: ObservationRow | undefined;
let jsonLast: ObservationRow | undefined;

function checkGrowth(what: string, base: number, reading: HeapReading, ms: number, rows: number): void {
  const growth = mb(reading.peakLive - base);
  timings.push(
    `${what}: ${rows} rows in ${ms} ms; peak live ${mb(reading.peakLive).toFixed(0)} MB ` +
      `(heap ${mb(reading.peakHeap).toFixed(0)} MB), +${growth.toFixed(1)} MB over the baseline (bound ${BOUND_MB} MB)`,
  );
  assert.equal(rows, N, `${what}: every row once`);
  assert.ok(growth < BOUND_MB, `${what}: live memory grew ${growth.toFixed(1)} MB (bound ${BOUND_MB} MB)`);
}

describe('the read API, its heap measured in its own process', () => {
  let child: ChildProcess;
  let url: string;
  let output = '';
  const probeFile = path.join(tmp, 'api-heap.json');
  /** Live memory at the last mark, the baseline of the next read. */
  let base = 0;

  before(async () => {
    const port = await freePort();
    const probe = probeArgs(probeFile);
    child = spawn(process.execPath, [...probe.nodeArgs, '--import', 'tsx', 'scripts/api.ts'], {
      cwd: ROOT,
      env: {
        ...process.env,
        ...probe.env,
        DATABASE_URL: database.url,
        TEDI_API_HOST: '127.0.0.1',
        TEDI_API_PORT: String(port),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout!.on('data', (d) => {
      output += d;
    });
    child.stderr!.on('data', (d) => {
      output += d;
    });
    for (let i = 0; i < 600 && !output.includes('read API:'); i++) await new Promise((r) => setTimeout(r, 50));
    assert.match(output, /read API: http/, output);
    url = `http://127.0.0.1:${port}`;
    // Warm-up: every format once on a small source, so code loaded on first use is in the baseline.
    for (const format of ['json', 'csv', 'parquet']) {
      const res = await fetch(`${url}/v1/sources/tiny/observations?format=${format}`);
      assert.equal(res.status, 200, format);
      await res.arrayBuffer();
    }
    base = (await markProbe(child, probeFile)).live;
  });

  after(async () => {
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
  });

  /** The reading of the read just done, and the baseline for the next. */
  async function measured(what: string, ms: number, rows: number): Promise<void> {
    const reading = await markProbe(child, probeFile);
    checkGrowth(what, base, reading, ms, rows);
    base = reading.live;
  }

  test('JSON keyset paging: limit 10,000, following next, 100 pages, in order', async () => {
    const started = Date.now();
    let rows = 0;
    let pages = 0;
    let after: string | null = null;
    let previous = '';
    let ordered = true;
    do {
      const res = await fetch(
        `${url}/v1/sources/million/observations?limit=${PAGE}${after ? `&after=${encodeURIComponent(after)}` : ''}`,
      );
      assert.equal(res.status, 200);
      const body = (await res.json()) as { observations: ObservationRow[]; next: string | null; revision: number };
      assert.equal(body.revision, 1);
      for (const o of body.observations) {
        const key = `${o.seriesKey} ${o.period}`;
        if (key <= previous) ordered = false;
        previous = key;
      }
      jsonFirst ??= body.observations[0];
      jsonLast = body.observations.at(-1);
      rows += body.observations.length;
      pages++;
      after = body.next;
    } while (after);
    await measured('API JSON pages', Date.now() - started, rows);
    assert.equal(pages, N / PAGE);
    assert.ok(ordered, 'in (series, period) order, no row twice');
    assert.deepEqual({ seriesKey: jsonFirst?.seriesKey, period: jsonFirst?.period, value: jsonFirst?.value }, FIRST);
    assert.deepEqual({ seriesKey: jsonLast?.seriesKey, period: jsonLast?.period, value: jsonLast?.value }, LAST);
  });

  test('format=csv: 1,000,000 lines after the header, the first and last as JSON has them', async () => {
    assert.ok(jsonFirst && jsonLast, 'the JSON test ran first');
    const started = Date.now();
    const res = await fetch(`${url}/v1/sources/million/observations?format=csv`);
    assert.equal(res.status, 200);
    const decoder = new TextDecoder();
    let partial = '';
    let lines = 0;
    let header = '';
    let first = '';
    let last = '';
    let bytes = 0;
    for await (const chunk of res.body!) {
      bytes += chunk.byteLength;
      const parts = (partial + decoder.decode(chunk, { stream: true })).split('\n');
      partial = parts.pop()!;
      for (const line of parts) {
        lines++;
        if (lines === 1) header = line;
        else if (lines === 2) first = line;
        last = line;
      }
    }
    await measured('API format=csv', Date.now() - started, lines - 1);
    assert.equal(partial, '', 'ends with a line break');
    assert.equal(header, OBSERVATION_CSV_HEADER.join(','));
    assert.equal(`${first}\n`, observationCsvLine(jsonFirst));
    assert.equal(`${last}\n`, observationCsvLine(jsonLast));
    timings.push(`  (CSV body ${mb(bytes).toFixed(0)} MB)`);
    assert.ok(mb(bytes) > BOUND_MB, 'the body is bigger than the bound: buffering it would fail the test');
  });

  test('format=parquet: 1,000,000 rows in row groups of 10,000, the first and last as JSON has them', async () => {
    assert.ok(jsonFirst && jsonLast, 'the JSON test ran first');
    const started = Date.now();
    const res = await fetch(`${url}/v1/sources/million/observations?format=parquet`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-disposition'), 'attachment; filename="million-r1.parquet"');
    const file = path.join(tmp, 'api.parquet');
    await pipeline(Readable.fromWeb(res.body as WebReadableStream), fs.createWriteStream(file));
    const ms = Date.now() - started;
    const buffer = await asyncBufferFromFile(file);
    const meta = await parquetMetadataAsync(buffer);
    await measured('API format=parquet', ms, Number(meta.num_rows));
    assert.deepEqual(
      meta.row_groups.map((g) => Number(g.num_rows)),
      Array.from({ length: N / 10_000 }, () => 10_000),
    );
    const at = async (row: number) =>
      ((await parquetReadObjects({ file: buffer, rowStart: row, rowEnd: row + 1 })) as Record<string, unknown>[])[0];
    const asJson = (o: ObservationRow) => ({
      source: 'million',
      version: 'current',
      revision: 1,
      series_key: o.seriesKey,
      dimensions: JSON.stringify(o.dimensions),
      period: o.period,
      value: o.value,
      unit: o.unit,
      attributes: JSON.stringify(o.attributes),
      valid_from: o.validFrom,
    });
    assert.deepEqual(await at(0), asJson(jsonFirst));
    assert.deepEqual(await at(N - 1), asJson(jsonLast));
    const size = mb(fs.statSync(file).size);
    timings.push(`  (Parquet file ${size.toFixed(0)} MB)`);
    assert.ok(size > BOUND_MB, 'the file is bigger than the bound: buffering it would fail the test');
  });
});

describe('tedi export, its heap measured in its own process', () => {
  function tedi(args: string[], probeFile: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
    const probe = probeArgs(probeFile);
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [...probe.nodeArgs, '--import', 'tsx', 'scripts/tedi.ts', ...args], {
        cwd: ROOT,
        env: { ...process.env, ...probe.env, DATABASE_URL: database.url, LOG_LEVEL: 'warn' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (c) => {
        stdout += c;
      });
      child.stderr.on('data', (c) => {
        stderr += c;
      });
      const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
      child.once('error', reject);
      child.once('close', (code) => {
        clearTimeout(timer);
        resolve({ code, stdout, stderr });
      });
    });
  }

  for (const format of ['csv', 'parquet'] as const) {
    test(`npm run tedi -- export million --format ${format}`, async () => {
      // The baseline: the same command on a 2-row source (what the CLI loads whatever the size).
      const small = path.join(tmp, `small-${format}.json`);
      const baseline = await tedi(
        ['export', 'tiny', '--format', format, '--out', path.join(tmp, `tiny.${format}`)],
        small,
      );
      assert.equal(baseline.code, 0, baseline.stderr);
      const probe = path.join(tmp, `export-${format}.json`);
      const file = path.join(tmp, `million.${format}`);
      const started = Date.now();
      const run = await tedi(['export', 'million', '--format', format, '--out', file], probe);
      const ms = Date.now() - started;
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stdout, new RegExp(`million/current as of revision 1 of 1: ${N} observations written`));
      let rows: number;
      if (format === 'csv') {
        // Counted and checked line by line (the file is ~150 MB: not read whole into the test process).
        let lines = 0;
        let partial = '';
        let first = '';
        let last = '';
        for await (const chunk of fs.createReadStream(file, { encoding: 'utf8' })) {
          const parts = (partial + chunk).split('\n');
          partial = parts.pop()!;
          for (const line of parts) {
            lines++;
            if (lines === 2) first = line;
            last = line;
          }
        }
        assert.equal(partial, '');
        rows = lines - 1;
        assert.ok(first.startsWith(`million,current,1,${FIRST.seriesKey},`), first);
        assert.ok(first.includes(`,${FIRST.period},${FIRST.value},`), first);
        assert.ok(last.startsWith(`million,current,1,${LAST.seriesKey},`), last);
        assert.ok(last.includes(`,${LAST.period},${LAST.value},`), last);
      } else {
        const buffer = await asyncBufferFromFile(file);
        const meta = await parquetMetadataAsync(buffer);
        rows = Number(meta.num_rows);
        const at = async (row: number) =>
          (
            (await parquetReadObjects({ file: buffer, rowStart: row, rowEnd: row + 1 })) as Record<string, unknown>[]
          )[0];
        const ends = (r: Record<string, unknown> | undefined) => ({
          seriesKey: r?.series_key,
          period: r?.period,
          value: r?.value,
        });
        assert.deepEqual(ends(await at(0)), FIRST);
        assert.deepEqual(ends(await at(N - 1)), LAST);
      }
      checkGrowth(`tedi export --format ${format}`, readProbe(small).peakLive, readProbe(probe), ms, rows);
    });
  }
});
