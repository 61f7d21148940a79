// Throughput and peak memory of the FAOSTAT bulk route on a synthetic normalized zip.
//
//   npx tsx test/bench/faostat.bench.ts [--rows 1000000] [--areas 53]
//
// A server process writes a zip of N rows with the real columns (streamed to a temporary file: the CSV is
// never in memory) and serves it, with a bulk catalogue, from the fixture server on loopback. This process
// then runs the connector alone, as the fetch and transform stages would without PostgreSQL: fetch
// (download to a temp file, inflate, CSV parse, area filter), then each record through a JSON round trip (as
// staging does), transform and the row hash. The server's copy of the zip never counts in this process's RSS.
// --areas filters as the catalog does (default: every area, so every row goes through transform).
// It prints figures and asserts nothing.
import { fork } from 'node:child_process';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { rowHash } from '../../activities/ingestion/row-hash';
import { faostatConnector } from '../../sources/specs/faostat';
import { CATALOGUE_PATH, createFaostatFixture, QCL_FILE } from '../fixtures/faostat';
import { startFixtureServer } from '../fixtures/fixture-server';
import { zipStream } from '../fixtures/zip';
import { testSourceContext } from '../helpers/source-context';
import { qclCsv } from './qcl-shape';

const mb = (bytes: number) => (bytes / 1e6).toFixed(1);

function option(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

function rowCount(): number {
  const n = Number(option('rows') ?? 1_000_000);
  if (!Number.isInteger(n) || n <= 0) throw new Error('--rows must be a positive whole number');
  return n;
}

/** Server role: writes the zip, then serves it and the catalogue; tells the parent its URL and sizes. */
async function serve(): Promise<void> {
  const n = rowCount();
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'tedi-faostat-bench-'));
  const file = path.join(dir, 'bench.zip');
  try {
    const started = performance.now();
    await pipeline(
      Readable.from(zipStream([{ name: `${QCL_FILE}.csv`, data: qclCsv(n) }])),
      fs.createWriteStream(file),
    );
    const seconds = (performance.now() - started) / 1000;
    const fixture = createFaostatFixture({ datasetCode: 'QCL', dateUpdate: '2025-01-01', rows: [] });
    fixture.zipOverride = await fsp.readFile(file);
    const server = await startFixtureServer(fixture.handler);
    fixture.publicUrl = server.url;
    process.send?.({ url: server.url, zipBytes: fixture.zipOverride.byteLength, seconds });
    process.on('disconnect', () => void server.close().then(() => process.exit(0)));
  } finally {
    await fsp.rm(dir, { recursive: true, force: true });
  }
}

async function measure(url: string, zipBytes: number): Promise<void> {
  const areas = option('areas')?.split(',') ?? [];
  const ctx = testSourceContext(faostatConnector, {
    baseUrl: url,
    params: { areas, bulkCatalogUrl: CATALOGUE_PATH.slice(1) },
    timeoutMs: 600_000,
  });
  const started = performance.now();
  // The connector's own log lines mark the end of the download and give the rows scanned.
  let downloadedAt = started;
  let scanned = 0;
  const log = ctx.log;
  ctx.log = (message, attrs) => {
    if (message === 'FAOSTAT bulk zip downloaded') downloadedAt = performance.now();
    if (message === 'FAOSTAT bulk file read') scanned = Number(attrs?.scanned);
    log(message, attrs);
  };
  let peakRss = process.memoryUsage().rss;
  const sample = () => {
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
  };
  const timer = setInterval(sample, 10);
  let records = 0;
  let rows = 0;
  let transformMs = 0;
  for await (const record of faostatConnector.fetch(ctx)) {
    records++;
    const t = performance.now();
    for (const row of faostatConnector.transform(JSON.parse(JSON.stringify(record)), ctx.params)) {
      rowHash(row);
      rows++;
    }
    transformMs += performance.now() - t;
    if ((records & 0x3ff) === 0) sample();
  }
  clearInterval(timer);
  sample();
  const total = (performance.now() - started) / 1000;
  const download = (downloadedAt - started) / 1000;
  const transform = transformMs / 1000;
  const read = total - download - transform;
  const rate = (count: number, seconds: number) => Math.round(count / seconds);
  console.log(
    `areas ${areas.length ? areas.join(',') : 'all'}: ${records} records → ${rows} rows in ${total.toFixed(2)} s, ` +
      `${rate(rows, total)} rows/s overall\n` +
      `  download  ${download.toFixed(2)} s (${mb(zipBytes)} MB zip)\n` +
      `  read      ${read.toFixed(2)} s (inflate + CSV + filter: ${rate(scanned, read)} rows scanned/s)\n` +
      `  transform ${transform.toFixed(2)} s (JSON round trip + zod + row hash: ${rate(rows, transform)} rows/s)`,
  );
  console.log(
    `peak RSS ${mb(peakRss)} MB sampled, ${mb(process.resourceUsage().maxRSS * 1024)} MB max RSS of this process; ` +
      `heartbeats ${ctx.heartbeats.length}`,
  );
}

async function main(): Promise<void> {
  const n = rowCount();
  const proc = fork(__filename, ['--serve', ...process.argv.slice(2)], {
    execArgv: ['--import', 'tsx'],
    stdio: 'inherit',
  });
  try {
    const server = await new Promise<{ url: string; zipBytes: number; seconds: number }>((resolve, reject) => {
      proc.once('message', (m) => resolve(m as { url: string; zipBytes: number; seconds: number }));
      proc.once('exit', (code) => reject(new Error(`bench server exited with ${code} before reporting`)));
    });
    console.log(`synthetic QCL zip: ${n} rows, ${mb(server.zipBytes)} MB, written in ${server.seconds.toFixed(1)} s`);
    await measure(server.url, server.zipBytes);
  } finally {
    proc.disconnect();
  }
}

const fail = (err: unknown) => {
  console.error(err);
  process.exit(1);
};
if (process.argv[2] === '--serve') serve().catch(fail);
// Exit at once when done: the HTTP client's keep-alive socket would otherwise hold the process open a while.
else main().then(() => process.exit(0), fail);
