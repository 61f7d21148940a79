// P1, P4 and store size (issue #8): a FAOSTAT-shaped bulk zip through the real `ingestDatasetVersion`
// workflow, each figure printed beside its floor measured in the same run, and the ratio.
//
//   npx tsx test/bench/pipeline.bench.ts [--rows 500000] [--p4-runs 20]      (--rows 4209110: QCL's real size)
//
// Everything is real and on loopback: an embedded PostgreSQL in a temporary folder (its defaults, as
// `npm start` runs it), the Temporal CLI dev server, the project's own workers (workers/create-workers.ts) in
// this process, and an HTTP server here that serves the bulk catalogue and the zip from a file.
//  - P1, four runs of one FAOSTAT version (QCL, every area): first load; the identical zip under a new
//    DateUpdate (probe changed, full content check, no change); 1 % of values changed; 1 % of rows removed.
//    Floors: `COPY` of the same canonical rows (the staging columns) into a plain table of the same
//    PostgreSQL; for the identical case, download + parse (the connector's fetch + transform, no pipeline).
//    Per stage: activity scheduled → completed, from the workflow history.
//  - P4: a no-change check (probe unchanged: no download), workflow start to completion, median of N runs,
//    vs one bare HTTP GET of the probe URL plus one row INSERT, same servers.
//  - Store size: pg_total_relation_size (heap, TOAST, indexes) of the versioned store (observations,
//    series, observation_labels) per current row vs the plain COPY table's bytes per row.
// It prints figures and asserts nothing.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { temporal } from '@temporalio/proto';
import { Client } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { ContentChecksum } from '../../activities/ingestion/content-checksum';
import { rowHash } from '../../activities/ingestion/row-hash';
import { SpoolWriter } from '../../activities/store/spool-writer';
import { STAGING_COLUMNS, STAGING_TABLE_COLUMNS, stagingRow } from '../../activities/store/staging';
import { loadCatalog } from '../../catalog/load';
import { openDatabase } from '../../lib/db';
import { freePort, startEmbeddedPostgres } from '../../lib/infra/postgres';
import { TASK_QUEUES } from '../../lib/verticals';
import { applyMigrations } from '../../prisma/migrator';
import { FaostatParamsSchema, faostatConnector } from '../../sources/specs/faostat';
import { createWorkers, runWorkers } from '../../workers/create-workers';
import { type IngestResult, ingestDatasetVersion } from '../../workflows/ingest-dataset-version';
import { QCL_FILE } from '../fixtures/faostat';
import { zipStream } from '../fixtures/zip';
import { testSourceContext } from '../helpers/source-context';
import { startDevTemporal } from '../helpers/temporal';
import { qclCsv, qclValue } from './qcl-shape';

function option(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const value = i >= 0 ? Number(process.argv[i + 1]) : fallback;
  if (!Number.isInteger(value) || value <= 0) throw new Error(`--${name} must be a positive whole number`);
  return value;
}

const ROWS = option('rows', 500_000);
const P4_RUNS = option('p4-runs', 20);
const SOURCE = 'faostat';
const CATALOGUE = '/faostat/bulks/datasets_E.json';
const ZIP = `/faostat/bulks/${QCL_FILE}.zip`;
/** Every 100th row: its value changes (variant "changed"), or it is left out (variant "removed"). */
const CHANGE_EVERY = 100;

type Variant = 'base' | 'changed' | 'removed';

/**
 * The shared synthetic QCL (qcl-shape.ts). "changed" bumps the value of every 100th row; "removed" is
 * "changed" without every 100th row (offset 50), so each run after the first differs from the one before it
 * by 1 % of the rows.
 */
function variantCsv(n: number, variant: Variant): Generator<Buffer> {
  return qclCsv(n, {
    value: (i) =>
      variant !== 'base' && i % CHANGE_EVERY === 0 ? String(((i * 7919) % 10_000_000) / 10 + 0.5) : qclValue(i),
    skip: (i) => variant === 'removed' && i % CHANGE_EVERY === CHANGE_EVERY / 2,
  });
}

async function writeZip(file: string, variant: Variant): Promise<{ bytes: number; rows: number }> {
  await pipeline(
    Readable.from(zipStream([{ name: `${QCL_FILE}.csv`, data: variantCsv(ROWS, variant) }])),
    fs.createWriteStream(file),
  );
  const removed = variant === 'removed' ? Math.floor((ROWS + CHANGE_EVERY / 2 - 1) / CHANGE_EVERY) : 0;
  return { bytes: (await fsp.stat(file)).size, rows: ROWS - removed };
}

// ---- the source: bulk catalogue + zip from a file, on loopback ----

interface Release {
  dateUpdate: string;
  file: string;
  bytes: number;
  rows: number;
}

async function startSource() {
  let release: Release | null = null;
  const requests: string[] = [];
  const server = createServer((req, res) => {
    const url = decodeURIComponent((req.url ?? '/').split('?')[0]!);
    requests.push(url);
    if (req.method === 'GET' && url === CATALOGUE && release) {
      const body = JSON.stringify({
        Datasets: {
          '-xmlns:xsi': 'http://www.w3.org/2001/XMLSchema-instance',
          Dataset: [
            {
              DatasetCode: 'QCL',
              DatasetName: 'Production: Crops and livestock products',
              DateUpdate: release.dateUpdate,
              CompressionFormat: 'zip',
              FileType: 'csv',
              FileSize: `${Math.ceil(release.bytes / 1024)}KB`,
              FileRows: release.rows,
              FileLocation: `${base}${ZIP}`,
            },
          ],
        },
      });
      res.writeHead(200, {
        'content-type': 'application/json; charset=utf-8',
        'content-length': Buffer.byteLength(body),
      });
      res.end(body);
      return;
    }
    if (req.method === 'GET' && url === ZIP && release) {
      res.writeHead(200, { 'content-type': 'application/zip', 'content-length': release.bytes });
      fs.createReadStream(release.file).pipe(res);
      return;
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    base,
    requests,
    publish(r: Release) {
      release = r;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

// ---- figures ----

const sec = (ms: number) => `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
const msOf = (ms: number) => `${ms.toFixed(1)} ms`;
const ratio = (a: number, b: number) => `${(a / b).toFixed(2)}×`;
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const mb = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`;

function eventMs(e: temporal.api.history.v1.IHistoryEvent): number {
  const t = e.eventTime;
  return Number(t?.seconds ?? 0) * 1000 + (t?.nanos ?? 0) / 1e6;
}

/**
 * Each activity's scheduled → completed time (and how much of it it waited, scheduled → started), and the
 * workflow's first → last event, from its history.
 */
function stageTimes(history: temporal.api.history.v1.IHistory): {
  stages: Array<[string, number, number]>;
  total: number;
} {
  const events = history.events ?? [];
  const scheduled = new Map<string, { name: string; at: number; startedAt?: number }>();
  const stages: Array<[string, number, number]> = [];
  for (const e of events) {
    const s = e.activityTaskScheduledEventAttributes;
    if (s) scheduled.set(String(e.eventId), { name: s.activityType?.name ?? '?', at: eventMs(e) });
    const started = e.activityTaskStartedEventAttributes;
    const task = started && scheduled.get(String(started.scheduledEventId));
    if (task) task.startedAt = eventMs(e);
    const done = e.activityTaskCompletedEventAttributes;
    const from = done && scheduled.get(String(done.scheduledEventId));
    if (from) stages.push([from.name, eventMs(e) - from.at, (from.startedAt ?? from.at) - from.at]);
  }
  const total = events.length ? eventMs(events[events.length - 1]!) - eventMs(events[0]!) : 0;
  return { stages, total };
}

// ---- floors ----

const PARAMS = { ...FaostatParamsSchema.parse({ areas: [] }), bulkCatalogUrl: CATALOGUE.replace('/faostat/', '') };

function connectorContext(base: string) {
  return testSourceContext(faostatConnector, { baseUrl: `${base}/faostat`, params: PARAMS, timeoutMs: 600_000 });
}

/** Download + parse: the connector's fetch and transform over the served zip, nothing else. */
async function downloadAndParse(base: string): Promise<{ ms: number; rows: number }> {
  const ctx = connectorContext(base);
  const started = performance.now();
  let rows = 0;
  for await (const record of faostatConnector.fetch(ctx)) rows += faostatConnector.transform(record, ctx.params).length;
  return { ms: performance.now() - started, rows };
}

/** The canonical rows as the stage writes them (row hash, checksum, COPY text), to a spool file. */
async function spoolRows(base: string, file: string): Promise<{ ms: number; rows: number }> {
  const ctx = connectorContext(base);
  const started = performance.now();
  const spool = new SpoolWriter(file);
  const checksum = new ContentChecksum();
  let records = 0;
  for await (const record of faostatConnector.fetch(ctx)) {
    records++;
    for (const row of faostatConnector.transform(record, ctx.params)) {
      const hash = rowHash(row);
      checksum.add(hash);
      await spool.write(stagingRow(spool.rows + 1, records, row, hash));
    }
  }
  await spool.close();
  checksum.digest();
  return { ms: performance.now() - started, rows: spool.rows };
}

/** COPY of the spool file into a new table with the staging columns; the time and the table's total size. */
async function plainCopy(
  client: Client,
  table: string,
  file: string,
  unlogged: boolean,
): Promise<{ ms: number; rows: number; bytes: number }> {
  await client.query(`DROP TABLE IF EXISTS ${table}`);
  await client.query(`CREATE ${unlogged ? 'UNLOGGED ' : ''}TABLE ${table} (${STAGING_TABLE_COLUMNS})`);
  const started = performance.now();
  const copy = client.query(copyFrom(`COPY ${table} (${STAGING_COLUMNS.join(', ')}) FROM STDIN`));
  await pipeline(fs.createReadStream(file), copy);
  const ms = performance.now() - started;
  const { rows } = await client.query<{ b: string }>('SELECT pg_total_relation_size($1::regclass) AS b', [table]);
  return { ms, rows: Number(copy.rowCount), bytes: Number(rows[0]?.b) };
}

// ---- main ----

async function main(): Promise<void> {
  const tmp = await fsp.mkdtemp(path.join(os.tmpdir(), 'tedi-pipeline-bench-'));
  const cleanup: Array<() => Promise<unknown>> = [() => fsp.rm(tmp, { recursive: true, force: true })];
  const runCleanup = async () => {
    for (const step of cleanup.reverse()) await step().catch((err) => console.error('cleanup:', err));
  };
  try {
    console.log(
      `pipeline bench: ${ROWS.toLocaleString('en')} rows, ${os.cpus().length} CPUs, ` +
        `load average ${os
          .loadavg()
          .map((l) => l.toFixed(2))
          .join(' ')}`,
    );

    // Zips first, so their writing never overlaps a measurement.
    const t = performance.now();
    const zips: Record<Variant, Release> = {} as Record<Variant, Release>;
    for (const variant of ['base', 'changed', 'removed'] as const) {
      const file = path.join(tmp, `${variant}.zip`);
      zips[variant] = { file, dateUpdate: '', ...(await writeZip(file, variant)) };
    }
    console.log(
      `  zips written in ${sec(performance.now() - t)}: ${mb(zips.base.bytes)} each ` +
        `(${zips.base.rows.toLocaleString('en')} rows; removed variant ${zips.removed.rows.toLocaleString('en')})`,
    );

    const pg = await startEmbeddedPostgres({
      dataDir: path.join(tmp, 'pg'),
      port: await freePort(),
      persistent: false,
    });
    cleanup.push(() => pg.stop());
    const dbUrl = new URL(pg.url);
    dbUrl.pathname = `/tedi_bench_${randomBytes(3).toString('hex')}`;
    const admin = new Client({ connectionString: pg.url });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${dbUrl.pathname.slice(1)}`);
    cleanup.push(async () => {
      await admin.query(`DROP DATABASE IF EXISTS ${dbUrl.pathname.slice(1)} WITH (FORCE)`);
      await admin.end();
    });
    await applyMigrations(dbUrl.toString());
    const db = openDatabase(dbUrl.toString());
    cleanup.push(() => db.close());
    await loadCatalog(db.prisma, { worldBankBaseUrl: 'http://127.0.0.1:9', worldBankCountries: ['BJ'] });

    const source = await startSource();
    cleanup.push(() => source.close());
    await db.prisma.dataSource.update({ where: { name: SOURCE }, data: { params: PARAMS } });
    await db.prisma.dataSourceConfig.updateMany({
      where: { dataSource: { name: SOURCE } },
      data: { baseUrl: `${source.base}/faostat`, rateLimitPerSecond: 1000 },
    });
    const version = await db.prisma.datasetVersion.findFirstOrThrow({ where: { dataSource: { name: SOURCE } } });

    const env = await startDevTemporal();
    cleanup.push(() => env.teardown());
    const workers = await createWorkers({
      connection: env.nativeConnection,
      namespace: 'default',
      deps: { db, secretKey: 'a'.repeat(64) },
      queues: TASK_QUEUES,
    });
    let stopWorkers: () => void = () => undefined;
    const running = runWorkers(workers, new Promise<void>((resolve) => (stopWorkers = resolve)));
    cleanup.push(async () => {
      stopWorkers();
      await running;
    });

    const client = new Client({ connectionString: dbUrl.toString() });
    await client.connect();
    cleanup.push(() => client.end());

    // ---- floors, measured before the runs on the same servers ----
    source.publish({ ...zips.base, dateUpdate: '2025-01-01' });
    const parse = await downloadAndParse(source.base);
    const spoolFile = path.join(tmp, 'rows.copy');
    const spooled = await spoolRows(source.base, spoolFile);
    const copy = await plainCopy(client, 'bench_plain_copy', spoolFile, false);
    const copyUnlogged = await plainCopy(client, 'bench_plain_copy_unlogged', spoolFile, true);
    await client.query('DROP TABLE bench_plain_copy_unlogged');
    await fsp.rm(spoolFile);
    console.log(
      `floors: download + parse (fetch + transform) ${sec(parse.ms)} for ${parse.rows.toLocaleString('en')} rows; ` +
        `+ row hash + checksum + spool file ${sec(spooled.ms)}; ` +
        `COPY into a plain table ${sec(copy.ms)} (${mb(copy.bytes)}), into an UNLOGGED one ${sec(copyUnlogged.ms)}`,
    );

    // ---- P1 ----
    const runs: Array<{ name: string; release: Release; floor: number; floorName: string }> = [
      { name: 'first load', release: { ...zips.base, dateUpdate: '2025-01-01' }, floor: copy.ms, floorName: 'COPY' },
      {
        name: 'identical content, probe changed',
        release: { ...zips.base, dateUpdate: '2025-02-01' },
        floor: parse.ms,
        floorName: 'download + parse',
      },
      {
        name: '1 % of values changed',
        release: { ...zips.changed, dateUpdate: '2025-03-01' },
        floor: copy.ms,
        floorName: 'COPY',
      },
      {
        name: '1 % of rows removed',
        release: { ...zips.removed, dateUpdate: '2025-04-01' },
        floor: copy.ms,
        floorName: 'COPY',
      },
    ];
    const execute = async (tag: string): Promise<{ ms: number; result: IngestResult; id: string }> => {
      const id = `bench-${tag}-${randomBytes(4).toString('hex')}`;
      const started = performance.now();
      const result = await env.client.workflow.execute(ingestDatasetVersion, {
        taskQueue: 'agriculture',
        workflowId: id,
        args: [{ datasetVersionId: version.id, trigger: 'manual' }],
      });
      return { ms: performance.now() - started, result, id };
    };
    let storeAfterFirst = { figure: '', floor: '', ratio: '' };
    const table: string[] = [];
    for (const [i, run] of runs.entries()) {
      source.publish(run.release);
      const { ms, result, id } = await execute(`p1-${i + 1}`);
      const { stages } = stageTimes(await env.client.workflow.getHandle(id).fetchHistory());
      // The log row's opening and closing are local activities (markers, not activity tasks) where patched.
      const stageText = stages.map(([name, d]) => `${name} ${sec(d)}`).join(', ');
      console.log(
        `P1 ${run.name}: ${sec(ms)} vs ${run.floorName} ${sec(run.floor)} = ${ratio(ms, run.floor)}\n` +
          `   ${result.status}, revision ${result.revision}, added ${result.recordsAdded}, updated ${result.recordsUpdated}, ` +
          `removed ${result.recordsRemoved}, unchanged ${result.recordsSkipped}, rejected ${result.recordsRejected}\n` +
          `   activities (scheduled → completed): ${stageText}`,
      );
      table.push(
        `| P1 ${run.name} | ${sec(ms)} (${stageText}) | ${run.floorName} ${sec(run.floor)} | ${ratio(ms, run.floor)} |`,
      );
      if (i === 0) storeAfterFirst = await storeSize(client, copy);
    }

    // ---- P4 ----
    const before = source.requests.length;
    await execute('p4-warmup');
    const p4: number[] = [];
    const p4Server: number[] = [];
    const p4Stages = new Map<string, Array<[number, number]>>();
    for (let i = 0; i < P4_RUNS; i++) {
      const { ms, result, id } = await execute(`p4-${i + 1}`);
      if (result.status !== 'no_change') throw new Error(`P4 run ${i + 1} ended ${result.status}, not no_change`);
      p4.push(ms);
      const { stages, total } = stageTimes(await env.client.workflow.getHandle(id).fetchHistory());
      p4Server.push(total);
      for (const [name, d, q] of stages) p4Stages.set(name, [...(p4Stages.get(name) ?? []), [d, q]]);
    }
    const zipFetches = source.requests.slice(before).filter((r) => r === ZIP).length;
    await client.query('CREATE TABLE bench_p4 (id bigserial PRIMARY KEY, at timestamptz NOT NULL)');
    const floorRun = async () => {
      const started = performance.now();
      const res = await fetch(`${source.base}${CATALOGUE}`);
      await res.text();
      await client.query('INSERT INTO bench_p4 (at) VALUES (now())');
      return performance.now() - started;
    };
    await floorRun();
    const p4Floor: number[] = [];
    for (let i = 0; i < P4_RUNS; i++) p4Floor.push(await floorRun());
    await client.query('DROP TABLE bench_p4');
    const p4Median = median(p4);
    const p4FloorMedian = median(p4Floor);
    console.log(
      `P4 no-change check (probe unchanged), median of ${P4_RUNS}: ${msOf(p4Median)} ` +
        `(min ${msOf(Math.min(...p4))}, max ${msOf(Math.max(...p4))}; zip downloads ${zipFetches}) ` +
        `vs GET probe URL + INSERT ${msOf(p4FloorMedian)} = ${ratio(p4Median, p4FloorMedian)}`,
    );
    console.log(
      `   in the history (medians): workflow started → completed ${msOf(median(p4Server))}; activities ` +
        [...p4Stages]
          .map(
            ([name, ds]) =>
              `${name} ${msOf(median(ds.map(([d]) => d)))} (${msOf(median(ds.map(([, q]) => q)))} queued)`,
          )
          .join(', ') +
        ' (scheduled → completed); the rest is workflow tasks and client round trips',
    );
    table.push(
      `| P4 no-change check, median of ${P4_RUNS} | ${msOf(p4Median)} | GET probe URL + one INSERT ${msOf(p4FloorMedian)} | ${ratio(p4Median, p4FloorMedian)} |`,
    );

    // ---- store size ----
    const storeEnd = await storeSize(client, copy);
    for (const [when, size] of [
      ['after the first load', storeAfterFirst],
      ['after the four runs', storeEnd],
    ] as const) {
      console.log(`store size ${when}: ${size.figure} vs ${size.floor} = ${size.ratio}`);
      table.push(`| store size, ${when} | ${size.figure} | ${size.floor} | ${size.ratio} |`);
    }
    console.log(`\nREADME rows (${ROWS.toLocaleString('en')} rows; load average ${os.loadavg()[0]!.toFixed(2)}):`);
    for (const line of table) console.log(line);
  } finally {
    await runCleanup();
  }
}

/** The versioned store's bytes (heap, TOAST, indexes of its three tables) per current row vs the plain COPY table's. */
async function storeSize(client: Client, plain: { rows: number; bytes: number }) {
  const { rows } = await client.query<{ bytes: string; current: string; total: string; observations: string }>(
    `SELECT pg_total_relation_size('observations') + pg_total_relation_size('series')
              + pg_total_relation_size('observation_labels') AS bytes,
            pg_total_relation_size('observations') AS observations,
            count(*) FILTER (WHERE valid_to IS NULL) AS current, count(*) AS total FROM observations`,
  );
  const bytes = Number(rows[0]?.bytes);
  const current = Number(rows[0]?.current);
  const perRow = bytes / current;
  const plainPerRow = plain.bytes / plain.rows;
  return {
    figure: `${perRow.toFixed(0)} B per current observation (${mb(bytes)}, observations ${mb(Number(rows[0]?.observations))}; ${current.toLocaleString('en')} current of ${Number(rows[0]?.total).toLocaleString('en')} rows)`,
    floor: `plain COPY table ${plainPerRow.toFixed(0)} B/row (${mb(plain.bytes)})`,
    ratio: ratio(perRow, plainPerRow),
  };
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
