// The HTTP read API (api/server.ts) on a real PostgreSQL, over real HTTP: a store built through the real
// merge (three revisions that add, update and remove observations), the server listening on 127.0.0.1
// port 0, and fetch. Every route; keyset paging (no row twice, none skipped); dimension filters; as of a
// revision and a date; diff; ETag and 304; the 400s naming each parameter; 404 for an unknown source;
// CSV streaming of 100k rows with bounded heap growth; Parquet (format=parquet) read back with hyparquet
// and compared with the JSON rows; and /openapi.json, a valid OpenAPI 3.1 document
// whose paths are the routes and whose response schemas accept the real responses.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import v8 from 'node:v8';
import vm from 'node:vm';
import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import { parquetMetadataAsync, parquetReadObjects } from 'hyparquet';
import type { Pool } from 'pg';
import { type RunningApi, startApi } from '../../api/server';
import { type Database, openDatabase } from '../../lib/db';
import { freePort } from '../../lib/infra/postgres';
import type { ObservationRow as Row } from '../../sources/kit/types';
import { indicatorRow, REV1, REV2, rev3, T1, T2, T3 } from '../fixtures/indicator-store';
import { startTestDatabase, type TestDatabase } from '../helpers/database';
import { catalogVersion, loadRevision } from '../helpers/store';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tedi-read-api-'));
let database: TestDatabase;
let db: Database;
let api: RunningApi;

const row = indicatorRow;
// Revision 3's new unit has a comma and a quote, for the CSV.
const REV3 = rev3('%, "rate"');

const PAGED_SERIES = 40;
const PAGED_PERIODS = 9;
const BIG_ROWS = 100_000;

async function get(pathAndQuery: string, headers: Record<string, string> = {}) {
  const res = await fetch(`${api.url}${pathAndQuery}`, { headers });
  const text = await res.text();
  const isJson = (res.headers.get('content-type') ?? '').startsWith('application/json');
  // biome-ignore lint/suspicious/noExplicitAny: test bodies are checked field by field
  const body: any = isJson && text ? JSON.parse(text) : text;
  return { status: res.status, headers: res.headers, body };
}

before(async () => {
  database = await startTestDatabase();
  db = openDatabase(database.url);
  const alpha = await catalogVersion(db, 'alpha');
  await loadRevision(db, tmp, alpha, 'alpha/1', REV1, T1, 'tok-1');
  await loadRevision(db, tmp, alpha, 'alpha/2', REV2, T2, 'tok-2');
  await loadRevision(db, tmp, alpha, 'alpha/3', REV3, T3, 'tok-3');
  const paged = await catalogVersion(db, 'paged');
  const pagedRows: Row[] = [];
  for (let s = 0; s < PAGED_SERIES; s++) {
    for (let p = 0; p < PAGED_PERIODS; p++) {
      pagedRows.push(row(`I${String(s).padStart(2, '0')}`, s % 2 ? 'BEN' : 'TGO', String(2000 + p), `${s}.${p}`));
    }
  }
  await loadRevision(db, tmp, paged, 'paged/1', pagedRows, T1);
  await catalogVersion(db, 'empty');
  api = await startApi({ pool: db.pool, host: '127.0.0.1', port: 0 });
});

after(async () => {
  await api?.close();
  await db?.close();
  await database?.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('routes', () => {
  test('GET /healthz', async () => {
    const res = await get('/healthz');
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, { status: 'ok', database: 'ok' });
  });

  test('GET /v1/sources lists every source with its version and current revision', async () => {
    const res = await get('/v1/sources');
    assert.equal(res.status, 200);
    const byName = Object.fromEntries(res.body.sources.map((s: { source: string }) => [s.source, s]));
    assert.deepEqual(Object.keys(byName).sort(), ['alpha', 'empty', 'paged']);
    assert.equal(byName.alpha.currentRevision, 3);
    assert.equal(byName.alpha.version, 'current');
    assert.equal(byName.empty.currentRevision, 0);
    assert.equal(typeof byName.alpha.isActive, 'boolean');
  });

  test('GET /v1/sources/{source}/revisions: counts, dates, probe tokens', async () => {
    const res = await get('/v1/sources/alpha/revisions');
    assert.equal(res.status, 200);
    assert.equal(res.body.currentRevision, 3);
    assert.deepEqual(
      res.body.revisions.map((r: Record<string, unknown>) => [
        r.revision,
        r.createdAt,
        r.recordCount,
        r.recordsAdded,
        r.recordsUpdated,
        r.recordsRemoved,
        r.probeToken,
      ]),
      [
        [1, T1.toISOString(), 4, 4, 0, 0, 'tok-1'],
        [2, T2.toISOString(), 3, 0, 1, 1, 'tok-2'],
        [3, T3.toISOString(), 3, 1, 1, 1, 'tok-3'],
      ],
    );
    assert.equal(res.headers.get('etag'), '"alpha/current/3"');
  });

  test('GET /v1/sources/{source}/series: all, by prefix, by dimension', async () => {
    const all = await get('/v1/sources/alpha/series');
    assert.equal(all.status, 200);
    assert.deepEqual(
      all.body.series.map((s: { seriesKey: string }) => s.seriesKey),
      ['AG|BEN', 'AG|TGO', 'EM|BEN', 'EM|TGO'],
    );
    assert.deepEqual(all.body.series[0].dimensions, { indicator: 'AG', country: 'BEN' });
    assert.equal(all.body.next, null);
    const prefixed = await get('/v1/sources/alpha/series?prefix=EM');
    assert.deepEqual(
      prefixed.body.series.map((s: { seriesKey: string }) => s.seriesKey),
      ['EM|BEN', 'EM|TGO'],
    );
    const benin = await get('/v1/sources/alpha/series?dim.country=BEN&dim.indicator=AG');
    assert.deepEqual(
      benin.body.series.map((s: { seriesKey: string }) => s.seriesKey),
      ['AG|BEN'],
    );
  });

  test('series paging: every series once', async () => {
    const seen: string[] = [];
    let after: string | null = null;
    let pages = 0;
    do {
      const res = await get(`/v1/sources/paged/series?limit=7${after ? `&after=${encodeURIComponent(after)}` : ''}`);
      assert.equal(res.status, 200, JSON.stringify(res.body));
      seen.push(...res.body.series.map((s: { seriesKey: string }) => s.seriesKey));
      after = res.body.next;
      pages++;
    } while (after);
    assert.equal(pages, Math.ceil(PAGED_SERIES / 7));
    assert.equal(seen.length, PAGED_SERIES);
    assert.equal(new Set(seen).size, PAGED_SERIES);
  });
});

describe('observations', () => {
  test('the latest revision by default, with attributes, dimensions and validFrom', async () => {
    const res = await get('/v1/sources/alpha/observations');
    assert.equal(res.status, 200);
    assert.equal(res.body.revision, 3);
    assert.deepEqual(
      res.body.observations.map((o: Record<string, unknown>) => [o.seriesKey, o.period, o.value, o.attributes]),
      [
        ['AG|BEN', '2000', '1', { flag: 'E' }],
        ['AG|BEN', '2001', '3', { flag: 'A' }],
        ['EM|TGO', '2000', '9', null],
      ],
    );
    assert.deepEqual(res.body.observations[2].dimensions, { indicator: 'EM', country: 'TGO' });
    assert.equal(res.body.observations[1].validFrom, 2);
    assert.equal(res.headers.get('etag'), '"alpha/current/3"');
  });

  test('as of a revision, and as of a date', async () => {
    const r1 = await get('/v1/sources/alpha/observations?revision=1');
    assert.equal(r1.body.revision, 1);
    assert.equal(r1.body.observations.length, 4);
    assert.equal(r1.headers.get('etag'), '"alpha/current/1"');
    const feb = await get('/v1/sources/alpha/observations?asOf=2026-02-15');
    assert.equal(feb.status, 200);
    assert.equal(feb.body.revision, 2);
    assert.deepEqual(
      feb.body.observations.map((o: Record<string, unknown>) => `${o.seriesKey} ${o.period} ${o.value}`),
      ['AG|BEN 2000 1', 'AG|BEN 2001 3', 'EM|BEN 2000 7'],
    );
    const before = await get('/v1/sources/alpha/observations?asOf=2025-12-31T23:59:59Z');
    assert.equal(before.body.revision, 0);
    assert.deepEqual(before.body.observations, []);
  });

  test('filters: series (repeated), dimensions, period range', async () => {
    const two = await get('/v1/sources/alpha/observations?revision=1&series=AG|TGO&series=EM|BEN');
    assert.deepEqual(
      two.body.observations.map((o: { seriesKey: string }) => o.seriesKey),
      ['AG|TGO', 'EM|BEN'],
    );
    const benin = await get('/v1/sources/alpha/observations?revision=1&dim.country=BEN&from=2001&to=2001');
    assert.deepEqual(
      benin.body.observations.map((o: Record<string, unknown>) => `${o.seriesKey} ${o.period}`),
      ['AG|BEN 2001'],
    );
    const em = await get('/v1/sources/paged/observations?dim.country=BEN&dim.indicator=I03&limit=100');
    assert.equal(em.body.observations.length, PAGED_PERIODS);
  });

  test('keyset paging: no row twice, none skipped, the revision pinned', async () => {
    const { rows } = await db.pool.query<{ k: string }>(
      `SELECT series_key || ' ' || period AS k FROM tedi_read.observations_current
        WHERE source = 'paged' ORDER BY series_key, period`,
    );
    const seen: string[] = [];
    let after: string | null = null;
    let pages = 0;
    do {
      const res = await get(
        `/v1/sources/paged/observations?limit=37${after ? `&after=${encodeURIComponent(after)}` : ''}`,
      );
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.ok(res.body.observations.length <= 37);
      seen.push(...res.body.observations.map((o: Record<string, unknown>) => `${o.seriesKey} ${o.period}`));
      after = res.body.next;
      pages++;
    } while (after);
    assert.equal(seen.length, PAGED_SERIES * PAGED_PERIODS);
    assert.equal(new Set(seen).size, seen.length, 'no row twice');
    assert.deepEqual(
      seen,
      rows.map((r) => r.k),
      'none skipped, in order',
    );
    assert.equal(pages, Math.ceil(seen.length / 37));
  });

  test('ETag and If-None-Match: 304 while the revision is the same', async () => {
    const first = await get('/v1/sources/alpha/observations?revision=2');
    const etag = first.headers.get('etag');
    assert.equal(etag, '"alpha/current/2"');
    const again = await get('/v1/sources/alpha/observations?revision=2', { 'if-none-match': etag! });
    assert.equal(again.status, 304);
    assert.equal(again.body, '');
    const other = await get('/v1/sources/alpha/observations?revision=3', { 'if-none-match': etag! });
    assert.equal(other.status, 200);
    const series = await get('/v1/sources/alpha/series', { 'if-none-match': `W/"x", "alpha/current/3"` });
    assert.equal(series.status, 304);
    const revisions = await get('/v1/sources/alpha/revisions', { 'if-none-match': '"alpha/current/3"' });
    assert.equal(revisions.status, 304);
  });
});

describe('diff', () => {
  test('added, updated (old → new), removed between two revisions', async () => {
    const res = await get('/v1/sources/alpha/diff?from=1&to=3');
    assert.equal(res.status, 200);
    assert.deepEqual(
      res.body.changes.map((c: Record<string, unknown>) => [c.seriesKey, c.period, c.change, c.oldValue, c.newValue]),
      [
        ['AG|BEN', '2000', 'updated', '1', '1'],
        ['AG|BEN', '2001', 'updated', '2', '3'],
        ['AG|TGO', '2000', 'removed', '5', null],
        ['EM|BEN', '2000', 'removed', '7', null],
        ['EM|TGO', '2000', 'added', null, '9'],
      ],
    );
    assert.deepEqual(res.body.changes[0].newAttributes, { flag: 'E' });
    assert.equal(res.headers.get('etag'), '"alpha/current/1..3"');
  });

  test('diff paging', async () => {
    const seen: string[] = [];
    let after: string | null = null;
    do {
      const res = await get(`/v1/sources/alpha/diff?from=0&to=3&limit=2${after ? `&after=${after}` : ''}`);
      assert.equal(res.status, 200, JSON.stringify(res.body));
      seen.push(...res.body.changes.map((c: Record<string, unknown>) => `${c.seriesKey} ${c.period} ${c.change}`));
      after = res.body.next;
    } while (after);
    assert.deepEqual(seen, ['AG|BEN 2000 added', 'AG|BEN 2001 added', 'EM|TGO 2000 added']);
  });
});

describe('bad input', () => {
  test('a 400 names the parameter and the fix; an unknown source is a 404', async () => {
    const cursor = (await get('/v1/sources/alpha/observations?revision=1&limit=1')).body.next as string;
    const cases: [string, number, string, RegExp][] = [
      ['/v1/sources/alpha/observations?revision=abc', 400, 'revision', /must be a revision number/],
      ['/v1/sources/alpha/observations?revision=9', 400, 'revision', /has revisions 1 to 3/],
      ['/v1/sources/alpha/observations?revision=1.5', 400, 'revision', /must be a revision number/],
      ['/v1/sources/alpha/observations?asOf=yesterday', 400, 'asOf', /not an ISO date.*2026-03-01/],
      ['/v1/sources/alpha/observations?asOf=2026-02-30', 400, 'asOf', /not an ISO date/],
      ['/v1/sources/alpha/observations?revision=1&asOf=2026-03-01', 400, 'asOf', /either revision or asOf/],
      ['/v1/sources/alpha/observations?limit=10001', 400, 'limit', /above the cap of 10000/],
      ['/v1/sources/alpha/observations?limit=0', 400, 'limit', /from 1 to 10000/],
      ['/v1/sources/alpha/series?limit=many', 400, 'limit', /from 1 to 10000/],
      ['/v1/sources/alpha/observations?after=garbage!', 400, 'after', /not a cursor/],
      [`/v1/sources/alpha/observations?revision=2&after=${cursor}`, 400, 'after', /made reading revision 1, not 2/],
      [`/v1/sources/alpha/series?after=${cursor}`, 400, 'after', /not a cursor of this list/],
      ['/v1/sources/alpha/observations?dim[country]=BEN', 400, 'dim[country]', /write dim\.NAME=value/],
      ['/v1/sources/alpha/observations?dim.=BEN', 400, 'dim.', /write dim\.NAME=value/],
      ['/v1/sources/alpha/series?dim.country=BEN&dim.country=TGO', 400, 'dim.country', /exactly one/],
      ['/v1/sources/alpha/observations?country=BEN', 400, 'country', /not a parameter of this route/],
      ['/v1/sources/alpha/observations?format=xml', 400, 'format', /must be json, csv or parquet/],
      ['/v1/sources/alpha/observations?format=PARQUET', 400, 'format', /must be json, csv or parquet/],
      ['/v1/sources/alpha/observations?version=nope', 400, 'version', /no version "nope"\. Versions: current/],
      ['/v1/sources/alpha/revisions?colour=red', 400, 'colour', /not a parameter/],
      ['/v1/sources/alpha/diff?to=2', 400, 'from', /revision number/],
      ['/v1/sources/alpha/diff?from=1&to=9', 400, 'to', /0 \(before the first\) to 3/],
      ['/v1/sources/Not%20A%20Name/series', 400, 'source', /catalog name/],
      ['/v1/sources/nope/observations', 404, 'source', /no source named "nope"\. Sources: alpha, empty, paged/],
      ['/v1/sources/nope/revisions', 404, 'source', /no source named/],
      ['/v1/sources/nope/diff?from=0&to=1', 404, 'source', /no source named/],
    ];
    for (const [url, status, parameter, message] of cases) {
      const res = await get(url);
      assert.equal(res.status, status, `${url}: ${JSON.stringify(res.body)}`);
      assert.equal(res.body.parameter, parameter, `${url}: ${JSON.stringify(res.body)}`);
      assert.match(res.body.message, message, url);
      assert.ok(res.body.message.startsWith(`${parameter}: `), `${url}: ${res.body.message}`);
      assert.equal(res.body.statusCode, status);
    }
    const missing = await get('/v2/nothing');
    assert.equal(missing.status, 404);
  });
});

describe('failures', () => {
  test('a failing database: 500 without details (reported to onError), /healthz 503', async () => {
    const failing = { query: () => Promise.reject(new Error('connect ECONNREFUSED')) } as unknown as Pool;
    const reported: unknown[] = [];
    const broken = await startApi({ pool: failing, host: '127.0.0.1', port: 0, onError: (err) => reported.push(err) });
    try {
      const res = await fetch(`${broken.url}/v1/sources`);
      assert.equal(res.status, 500);
      assert.deepEqual(await res.json(), {
        statusCode: 500,
        error: 'internal',
        parameter: null,
        message: 'internal error: see the server log',
      });
      assert.match(String(reported[0]), /ECONNREFUSED/);
      const health = await fetch(`${broken.url}/healthz`);
      assert.equal(health.status, 503);
      assert.equal(((await health.json()) as { error: string }).error, 'database_unreachable');
    } finally {
      await broken.close();
    }
  });
});

describe('CSV', () => {
  test('format=csv: header, quoting, the revision in the ETag', async () => {
    const res = await get('/v1/sources/alpha/observations?format=csv');
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/csv/);
    assert.equal(res.headers.get('etag'), '"alpha/current/3"');
    assert.equal(
      res.body,
      [
        'series_key,period,value,unit,attributes,dimensions',
        'AG|BEN,2000,1,t,"{""flag"":""E""}","{""country"":""BEN"",""indicator"":""AG""}"',
        'AG|BEN,2001,3,t,"{""flag"":""A""}","{""country"":""BEN"",""indicator"":""AG""}"',
        'EM|TGO,2000,9,"%, ""rate""",,"{""country"":""TGO"",""indicator"":""EM""}"',
        '',
      ].join('\n'),
    );
    const bad = await get('/v1/sources/alpha/observations?format=csv&asOf=nope');
    assert.equal(bad.status, 400);
    assert.equal(bad.body.parameter, 'asOf');
    const cached = await get('/v1/sources/alpha/observations?format=csv', { 'if-none-match': '"alpha/current/3"' });
    assert.equal(cached.status, 304);
    const limited = await get('/v1/sources/alpha/observations?format=csv&revision=1&limit=2');
    assert.equal(limited.body.trimEnd().split('\n').length, 3);
  });

  describe('100k rows', () => {
    before(async () => {
      const big = await catalogVersion(db, 'big');
      const rows: Row[] = [];
      for (let i = 0; i < BIG_ROWS; i++) {
        const s = Math.floor(i / 10);
        rows.push({
          seriesKey: `S${String(s).padStart(6, '0')}|C${s % 10}`,
          period: String(1990 + (i % 10)),
          value: String(i / 7),
          unit: 'kg',
          attributes: { note: 'a fairly long attribute note to give the rows some weight' },
          dimensions: { country: `C${s % 10}`, code: `S${String(s).padStart(6, '0')}` },
        });
      }
      await loadRevision(db, tmp, big, 'big/1', rows, T1);
    });

    test('streamed with bounded heap growth, every row once and in order', async () => {
      // Server and client share this process, so the heap measured is both: retained heap after a full
      // collection at every ~1 MB of body received. Buffered, 100k rows with their dimensions and
      // attributes retain ~60 MB as objects (more as one string); the server holds one cursor batch of
      // 2,000 rows and a 64 KiB chunk. The bound is generous (32 MB) so allocator noise on a busy machine
      // never fails it, yet a server that collected the result first would.
      const BOUND_MB = 32;
      v8.setFlagsFromString('--expose-gc');
      const gc = vm.runInNewContext('gc') as () => void;
      gc();
      const before = process.memoryUsage().heapUsed;
      let peak = before;
      const res = await fetch(`${api.url}/v1/sources/big/observations?format=csv`);
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type') ?? '', /^text\/csv/);
      const decoder = new TextDecoder();
      let lines = 0;
      let partial = '';
      let last = '';
      let ordered = true;
      let sinceGc = 0;
      for await (const chunk of res.body!) {
        const text = partial + decoder.decode(chunk, { stream: true });
        const parts = text.split('\n');
        partial = parts.pop()!;
        for (const line of parts) {
          lines++;
          if (lines === 1) continue;
          const key = line.slice(0, line.indexOf(',', line.indexOf(',') + 1));
          if (key <= last) ordered = false;
          last = key;
        }
        sinceGc += chunk.byteLength;
        if (sinceGc > 1_000_000) {
          sinceGc = 0;
          gc();
          peak = Math.max(peak, process.memoryUsage().heapUsed);
        }
      }
      const growthMb = (peak - before) / 1024 / 1024;
      assert.equal(partial, '');
      assert.equal(lines, BIG_ROWS + 1);
      assert.ok(ordered, 'in (series, period) order, no row twice');
      assert.ok(growthMb < BOUND_MB, `heap grew ${growthMb.toFixed(1)} MB while streaming (bound ${BOUND_MB} MB)`);
      console.log(`streamed ${lines - 1} CSV rows over HTTP, peak heap growth ${growthMb.toFixed(1)} MB`);
      assert.equal(db.pool.totalCount - db.pool.idleCount, 0, 'the stream gave its connection back');
    });

    test('a client that goes away mid-stream frees the connection', async () => {
      const controller = new AbortController();
      const res = await fetch(`${api.url}/v1/sources/big/observations?format=csv`, { signal: controller.signal });
      const reader = res.body!.getReader();
      await reader.read();
      controller.abort();
      await reader.read().catch(() => undefined);
      for (let i = 0; i < 100 && db.pool.totalCount - db.pool.idleCount > 0; i++) {
        await new Promise((r) => setTimeout(r, 50));
      }
      assert.equal(db.pool.totalCount - db.pool.idleCount, 0, 'connection released after the client left');
    });
  });
});

/** A Parquet response body as rows, every value as text ('' for null), as the export test reads files. */
async function parquetRows(body: ArrayBuffer): Promise<Record<string, string>[]> {
  const rows = (await parquetReadObjects({ file: body })) as Record<string, unknown>[];
  return rows.map((r) =>
    Object.fromEntries(Object.entries(r).map(([k, v]) => [k, v === null || v === undefined ? '' : String(v)])),
  );
}

/** The JSON route's rows (every page, limit 10,000) in the Parquet columns and spelling. */
async function jsonRowsAsParquet(sourceAndQuery: string): Promise<Record<string, string>[]> {
  const out: Record<string, string>[] = [];
  let after: string | null = null;
  do {
    const sep = sourceAndQuery.includes('?') ? '&' : '?';
    const res = await get(`${sourceAndQuery}${sep}limit=10000${after ? `&after=${encodeURIComponent(after)}` : ''}`);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    for (const o of res.body.observations) {
      out.push({
        source: res.body.source,
        version: res.body.version,
        revision: String(res.body.revision),
        series_key: o.seriesKey,
        dimensions: o.dimensions ? JSON.stringify(o.dimensions) : '',
        period: o.period,
        value: o.value ?? '',
        unit: o.unit ?? '',
        attributes: o.attributes ? JSON.stringify(o.attributes) : '',
        valid_from: String(o.validFrom),
      });
    }
    after = res.body.next;
  } while (after);
  return out;
}

async function getParquet(pathAndQuery: string, headers: Record<string, string> = {}) {
  const res = await fetch(`${api.url}${pathAndQuery}`, { headers });
  return { status: res.status, headers: res.headers, body: await res.arrayBuffer() };
}

describe('Parquet', () => {
  test('format=parquet equals the JSON rows: latest, as of a revision and a date, filtered', async () => {
    const cases: [string, number][] = [
      ['/v1/sources/alpha/observations', 3],
      ['/v1/sources/alpha/observations?revision=1', 1],
      ['/v1/sources/alpha/observations?asOf=2026-02-15', 2],
      ['/v1/sources/alpha/observations?revision=1&dim.country=BEN&from=2001', 1],
      ['/v1/sources/paged/observations?dim.country=BEN', 1],
      ['/v1/sources/paged/observations', 1],
    ];
    for (const [url, revision] of cases) {
      const want = await jsonRowsAsParquet(url);
      assert.ok(want.length > 0, url);
      const sep = url.includes('?') ? '&' : '?';
      const res = await getParquet(`${url}${sep}format=parquet`);
      assert.equal(res.status, 200, url);
      assert.equal(res.headers.get('content-type'), 'application/vnd.apache.parquet', url);
      const source = url.split('/')[3];
      assert.equal(
        res.headers.get('content-disposition'),
        `attachment; filename="${source}-r${revision}.parquet"`,
        url,
      );
      assert.equal(res.headers.get('etag'), `"${source}/current/${revision}"`, url);
      assert.deepEqual(await parquetRows(res.body), want, url);
    }
  });

  test("the export's schema: value as exact decimal text; limit; an empty revision is a valid empty file", async () => {
    const res = await getParquet('/v1/sources/alpha/observations?format=parquet');
    const meta = await parquetMetadataAsync(res.body);
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
    const rows = await parquetRows(res.body);
    assert.deepEqual(
      rows.map((r) => [r.series_key, r.period, r.value, r.unit, r.attributes]),
      [
        ['AG|BEN', '2000', '1', 't', '{"flag":"E"}'],
        ['AG|BEN', '2001', '3', 't', '{"flag":"A"}'],
        ['EM|TGO', '2000', '9', '%, "rate"', ''],
      ],
    );
    const limited = await getParquet('/v1/sources/alpha/observations?format=parquet&revision=1&limit=2');
    assert.equal((await parquetRows(limited.body)).length, 2);
    const before = await getParquet('/v1/sources/alpha/observations?format=parquet&asOf=2025-12-31');
    assert.equal(before.status, 200);
    assert.equal(before.headers.get('content-disposition'), 'attachment; filename="alpha-r0.parquet"');
    const empty = await parquetMetadataAsync(before.body);
    assert.equal(empty.num_rows, 0n);
    assert.deepEqual(await parquetRows(before.body), []);
  });

  test('ETag and If-None-Match; bad input is a 400 naming the parameter, before any byte of Parquet', async () => {
    const cached = await getParquet('/v1/sources/alpha/observations?format=parquet', {
      'if-none-match': '"alpha/current/3"',
    });
    assert.equal(cached.status, 304);
    assert.equal(cached.body.byteLength, 0);
    const stale = await getParquet('/v1/sources/alpha/observations?format=parquet', {
      'if-none-match': '"alpha/current/2"',
    });
    assert.equal(stale.status, 200);
    for (const [url, parameter] of [
      ['/v1/sources/alpha/observations?format=parquet&asOf=nope', 'asOf'],
      ['/v1/sources/alpha/observations?format=parquet&revision=9', 'revision'],
      ['/v1/sources/alpha/observations?format=parquet&after=garbage!', 'after'],
      ['/v1/sources/nope/observations?format=parquet', 'source'],
    ]) {
      const res = await get(url!);
      assert.ok(res.status === 400 || res.status === 404, `${url}: ${res.status}`);
      assert.match(res.headers.get('content-type') ?? '', /^application\/json/, url);
      assert.equal(res.body.parameter, parameter, url);
    }
  });

  test('100k rows: one row group per 10,000, first and last rows as JSON has them, the connection given back', async () => {
    const res = await getParquet('/v1/sources/big/observations?format=parquet');
    assert.equal(res.status, 200);
    const meta = await parquetMetadataAsync(res.body);
    assert.equal(meta.num_rows, BigInt(BIG_ROWS));
    assert.deepEqual(
      meta.row_groups.map((g) => Number(g.num_rows)),
      Array.from({ length: BIG_ROWS / 10_000 }, () => 10_000),
    );
    const rows = await parquetRows(res.body);
    const first = (await jsonRowsAsParquet('/v1/sources/big/observations?series=S000000|C0'))[0];
    const last = (await jsonRowsAsParquet(`/v1/sources/big/observations?series=S009999|C9`)).at(-1);
    assert.deepEqual(rows[0], first);
    assert.deepEqual(rows.at(-1), last);
    assert.equal(db.pool.totalCount - db.pool.idleCount, 0, 'the stream gave its connection back');
  });

  test('a client that goes away mid-download frees the connection', async () => {
    const controller = new AbortController();
    const res = await fetch(`${api.url}/v1/sources/big/observations?format=parquet`, { signal: controller.signal });
    const reader = res.body!.getReader();
    await reader.read();
    controller.abort();
    await reader.read().catch(() => undefined);
    for (let i = 0; i < 100 && db.pool.totalCount - db.pool.idleCount > 0; i++) {
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal(db.pool.totalCount - db.pool.idleCount, 0, 'connection released after the client left');
  });
});

describe('OpenAPI', () => {
  // biome-ignore lint/suspicious/noExplicitAny: an OpenAPI document
  let doc: any;
  before(async () => {
    const res = await get('/openapi.json');
    assert.equal(res.status, 200);
    doc = res.body;
  });

  test('/openapi.json is a valid OpenAPI 3.1 document', async () => {
    const { Validator } = await import('@seriousme/openapi-schema-validator');
    const validator = new Validator();
    const result = await validator.validate(structuredClone(doc));
    assert.ok(result.valid, JSON.stringify(result.errors, null, 2));
    assert.equal(validator.version, '3.1');
    assert.match(doc.openapi, /^3\.1\./);
  });

  test('its paths are the routes, with their query parameters', () => {
    assert.deepEqual(Object.keys(doc.paths).sort(), [
      '/healthz',
      '/v1/events',
      '/v1/sources',
      '/v1/sources/{source}/diff',
      '/v1/sources/{source}/observations',
      '/v1/sources/{source}/revisions',
      '/v1/sources/{source}/series',
      '/v1/subscriptions',
      '/v1/subscriptions/{id}',
      '/v1/subscriptions/{id}/deliveries',
    ]);
    // Reads are GETs; only the change feed's subscriptions (admin token, test/api/change-feed-api.test.ts) write.
    const methods = Object.fromEntries(Object.keys(doc.paths).map((p) => [p, Object.keys(doc.paths[p]).sort()]));
    for (const p of Object.keys(doc.paths).filter((p) => !p.startsWith('/v1/subscriptions'))) {
      assert.deepEqual(methods[p], ['get'], p);
    }
    assert.deepEqual(methods['/v1/subscriptions'], ['get', 'post']);
    assert.deepEqual(methods['/v1/subscriptions/{id}'], ['delete']);
    const params = (p: string) =>
      doc.paths[p].get.parameters.map((x: { in: string; name: string }) => `${x.in}:${x.name}`).sort();
    assert.deepEqual(params('/v1/sources/{source}/observations'), [
      'path:source',
      'query:after',
      'query:asOf',
      'query:format',
      'query:from',
      'query:limit',
      'query:revision',
      'query:series',
      'query:to',
      'query:version',
    ]);
    const observationsOf = doc.paths['/v1/sources/{source}/observations'].get;
    const format = observationsOf.parameters.find((x: { name: string }) => x.name === 'format');
    assert.deepEqual(format.schema.enum, ['json', 'csv', 'parquet']);
    assert.deepEqual(Object.keys(observationsOf.responses['200'].content), [
      'application/json',
      'text/csv',
      'application/vnd.apache.parquet',
    ]);
    assert.deepEqual(params('/v1/sources/{source}/diff'), [
      'path:source',
      'query:after',
      'query:from',
      'query:limit',
      'query:to',
      'query:version',
    ]);
  });

  test('its response schemas accept the real responses', async () => {
    const ajv = new Ajv2020({ strict: false, allErrors: true });
    addFormats(ajv);
    const check = async (route: string, url: string, status = '200') => {
      const responses = doc.paths[route].get.responses;
      const schema = responses[status].content['application/json'].schema;
      const validate = ajv.compile({ ...schema, components: doc.components });
      const res = await get(url);
      assert.equal(String(res.status), status, url);
      assert.ok(validate(res.body), `${url}: ${JSON.stringify(validate.errors)}`);
    };
    await check('/healthz', '/healthz');
    await check('/v1/sources', '/v1/sources');
    await check('/v1/sources/{source}/revisions', '/v1/sources/alpha/revisions');
    await check('/v1/sources/{source}/series', '/v1/sources/alpha/series?limit=2');
    await check('/v1/sources/{source}/observations', '/v1/sources/alpha/observations?revision=1&limit=2');
    await check('/v1/sources/{source}/diff', '/v1/sources/alpha/diff?from=1&to=3');
    await check('/v1/sources/{source}/observations', '/v1/sources/alpha/observations?limit=99999', '400');
    await check('/v1/sources/{source}/observations', '/v1/sources/nope/observations', '404');
    // And the schemas are not vacuous: a wrong body is refused.
    const schema =
      doc.paths['/v1/sources/{source}/observations'].get.responses['200'].content['application/json'].schema;
    const validate = ajv.compile({ ...schema, components: doc.components });
    assert.equal(validate({ source: 'x' }), false);
  });

  test('the interactive page is served', async () => {
    const res = await get('/docs/');
    assert.equal(res.status, 200);
    assert.match(String(res.body), /swagger-ui/i);
  });
});

describe('npm run api (scripts/api.ts)', () => {
  const ROOT = path.resolve(__dirname, '..', '..');
  function runApi(env: Record<string, string>) {
    const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/api.ts'], {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d) => {
      output += d;
    });
    child.stderr.on('data', (d) => {
      output += d;
    });
    const exited = once(child, 'exit') as Promise<[number | null, string | null]>;
    return { child, exited, output: () => output };
  }

  test('serves the API on TEDI_API_HOST:TEDI_API_PORT, prints its URL, stops cleanly on SIGTERM', async () => {
    const port = await freePort();
    const run = runApi({ DATABASE_URL: database.url, TEDI_API_PORT: String(port), TEDI_API_HOST: '127.0.0.1' });
    for (let i = 0; i < 300 && !run.output().includes('read API:'); i++) await new Promise((r) => setTimeout(r, 50));
    assert.match(run.output(), new RegExp(`read API: http://127\\.0\\.0\\.1:${port}/v1/sources`), run.output());
    const res = await fetch(`http://127.0.0.1:${port}/v1/sources/alpha/revisions`);
    assert.equal(res.status, 200);
    assert.equal(((await res.json()) as { currentRevision: number }).currentRevision, 3);
    run.child.kill('SIGTERM');
    const [code] = await run.exited;
    assert.equal(code, 0, run.output());
    assert.match(run.output(), /read API stopping/);
  });

  test('a port in use or no DATABASE_URL stops it with the variable named', async () => {
    const taken = new URL(api.url).port;
    const busy = runApi({ DATABASE_URL: database.url, TEDI_API_PORT: taken });
    assert.equal((await busy.exited)[0], 1);
    assert.match(busy.output(), /cannot listen on 127\.0\.0\.1:\d+ \(EADDRINUSE\): set TEDI_API_PORT/);
    const noDb = runApi({ DATABASE_URL: '' });
    assert.equal((await noDb.exited)[0], 1);
    assert.match(noDb.output(), /needs DATABASE_URL/);
  });
});
