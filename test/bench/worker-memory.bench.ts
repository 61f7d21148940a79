// P2: the memory of a real worker process, idle and while it ingests a FAOSTAT-shaped bulk zip through the
// real ingestDatasetVersion workflow, at two sizes, beside its floors measured in the same run.
//
//   npx tsx test/bench/worker-memory.bench.ts [--rows 900000,9000000] [--queues agriculture]
//
// --rows: one ingestion per size (~110 bytes of CSV a row: 900 000 rows ≈ 100 MB, 9 000 000 ≈ 1 GB of CSV).
// --queues: the worker process's TEDI_WORKER_QUEUES (default agriculture; "all" = the five queues).
// --worker-node-args: extra node flags for the worker process, space-separated (e.g. "--max-old-space-size=128").
// Each size gets a fresh database (so each is a first load of every area of the file) and a fresh worker
// process (`node --import tsx workers/main.ts`, as the e2e tests start it), so VmHWM, the kernel's peak
// RSS of that process, covers only its start, idle time and that one ingestion. A separate server process
// writes the zip (streamed to a temporary file) and serves it from the FAOSTAT fixture on loopback; its
// memory never counts. Floors, in the same run and on the same Temporal server:
//   - a bare `node` process that loads nothing;
//   - `node --import tsx` that loads nothing (the TypeScript loader's own cost, paid by every process run
//     from .ts sources);
//   - plain `node` loading only @temporalio/worker, running one Worker with TEDI's workflow bundle and no
//     activity: what the Temporal SDK itself costs a process that polls one queue.
// Figures are printed; nothing is asserted. The target (issue 8) is a peak of at most 256 MB at both sizes.
import { type ChildProcess, fork, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Client, Connection } from '@temporalio/client';
import { loadCatalog } from '../../catalog/load';
import { openDatabase } from '../../lib/db';
import { freePort } from '../../lib/infra/postgres';
import { type DevServer, startDevServer } from '../../lib/infra/temporal-server';
import { TASK_QUEUES } from '../../lib/verticals';
import { FaostatParamsSchema } from '../../sources/specs/faostat';
import { workflowBundle } from '../../workers/create-workers';
import { CATALOGUE_PATH, createFaostatFixture, QCL_FILE } from '../fixtures/faostat';
import { startFixtureServer } from '../fixtures/fixture-server';
import { zipStream } from '../fixtures/zip';
import { startTestDatabase } from '../helpers/database';
import { memoryOf, sleep, stopProcess, waitForLine } from './child-process';
import { qclCsv } from './qcl-shape';

const ROOT = path.resolve(__dirname, '..', '..');
const TARGET_MB = 256;
const MiB = 1024 * 1024;
const mb = (bytes: number) => (bytes / MiB).toFixed(0);

function option(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

function sizes(): number[] {
  const list = (option('rows') ?? '900000,9000000').split(',').map(Number);
  if (!list.length || list.some((n) => !Number.isInteger(n) || n <= 0)) {
    throw new Error('--rows takes positive whole numbers, comma-separated, e.g. 900000,9000000');
  }
  return list;
}

/** Samples a process's RSS every 100 ms until stopped; returns the largest sample. */
function sampleRss(pid: number): () => number {
  let peak = 0;
  const take = () => {
    try {
      peak = Math.max(peak, memoryOf(pid).rss);
    } catch {
      // The process is gone; keep what was seen.
    }
  };
  take();
  const timer = setInterval(take, 100);
  return () => {
    clearInterval(timer);
    take();
    return peak;
  };
}

/** Idle RSS of a process that prints `ready` once set up: RSS 3 s after, and its peak so far. */
async function idleFloor(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<{ rss: number; hwm: number }> {
  const child = spawn(process.execPath, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    await waitForLine(child, 'ready');
    await sleep(3000);
    return memoryOf(child.pid!);
  } finally {
    await stopProcess(child);
  }
}

// Plain JavaScript for `node -e`: @temporalio/worker only, one Worker with the given bundle, no activity.
const TEMPORAL_FLOOR_SCRIPT = `
const [workerModule, address, codePath] = process.argv.slice(1);
const { DefaultLogger, NativeConnection, Runtime, Worker } = require(workerModule);
Runtime.install({ logger: new DefaultLogger('ERROR') });
(async () => {
  const connection = await NativeConnection.connect({ address });
  const worker = await Worker.create({ connection, taskQueue: 'memory-floor', workflowBundle: { codePath } });
  const running = worker.run();
  console.log('ready');
  process.once('SIGTERM', () => worker.shutdown());
  await running;
  await connection.close();
})().catch((err) => { console.error(err); process.exit(1); });
`;

/** Passes chunks through, adding their size to `bytes.csv`. */
function* counted(chunks: Generator<Buffer>, bytes: { csv: number }): Generator<Buffer> {
  for (const chunk of chunks) {
    bytes.csv += chunk.byteLength;
    yield chunk;
  }
}

interface Served {
  url: string;
  zipBytes: number;
  csvBytes: number;
  seconds: number;
}

/** Server role: writes the zip of --serve-rows rows, then serves it and the catalogue. */
async function serve(rows: number): Promise<void> {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'tedi-memory-bench-'));
  const file = path.join(dir, 'bench.zip');
  try {
    const started = performance.now();
    const bytes = { csv: 0 };
    await pipeline(
      Readable.from(zipStream([{ name: `${QCL_FILE}.csv`, data: counted(qclCsv(rows), bytes) }])),
      fs.createWriteStream(file),
    );
    const fixture = createFaostatFixture({ datasetCode: 'QCL', dateUpdate: '2025-01-01', rows: [] });
    fixture.zipOverride = await fsp.readFile(file);
    const server = await startFixtureServer(fixture.handler);
    fixture.publicUrl = server.url;
    const served: Served = {
      url: server.url,
      zipBytes: fixture.zipOverride.byteLength,
      csvBytes: bytes.csv,
      seconds: (performance.now() - started) / 1000,
    };
    process.send?.(served);
    process.on('disconnect', () => void server.close().then(() => process.exit(0)));
  } finally {
    await fsp.rm(dir, { recursive: true, force: true });
  }
}

function startServer(rows: number): Promise<{ proc: ChildProcess; served: Served }> {
  const proc = fork(__filename, ['--serve', String(rows)], { execArgv: ['--import', 'tsx'], stdio: 'inherit' });
  return new Promise((resolve, reject) => {
    proc.once('message', (m) => resolve({ proc, served: m as Served }));
    proc.once('exit', (code) => reject(new Error(`bench server exited with ${code} before reporting`)));
  });
}

interface SizeResult {
  rows: number;
  csvBytes: number;
  zipBytes: number;
  idleRss: number;
  startHwm: number;
  ingestPeakRss: number;
  hwm: number;
  seconds: number;
  outcome: string;
}

async function measureSize(rows: number, temporal: DevServer, queues: string): Promise<SizeResult> {
  const { proc: server, served } = await startServer(rows);
  const database = await startTestDatabase();
  const db = openDatabase(database.url);
  let worker: ChildProcess | undefined;
  const connection = await Connection.connect({ address: temporal.address });
  try {
    console.log(
      `  ${rows} rows: ${mb(served.csvBytes)} MB of CSV, ${mb(served.zipBytes)} MB zip, written in ` +
        `${served.seconds.toFixed(1)} s`,
    );
    await loadCatalog(db.prisma, { worldBankBaseUrl: 'http://127.0.0.1:9/v2', worldBankCountries: ['BJ'] });
    const source = await db.prisma.dataSource.update({
      where: { name: 'faostat' },
      // Every area: every row of the file goes through the pipeline.
      data: { params: { ...FaostatParamsSchema.parse({ areas: [] }), bulkCatalogUrl: CATALOGUE_PATH.slice(1) } },
    });
    await db.prisma.dataSourceConfig.update({
      where: { dataSourceId: source.id },
      data: { baseUrl: served.url, rateLimitPerSecond: 1000, timeoutMs: 600_000 },
    });
    const version = await db.prisma.datasetVersion.findFirstOrThrow({ where: { dataSourceId: source.id } });

    const nodeArgs = option('worker-node-args')?.split(' ').filter(Boolean) ?? [];
    worker = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', path.join(ROOT, 'workers', 'main.ts')], {
      cwd: ROOT,
      env: {
        ...process.env,
        DATABASE_URL: database.url,
        TEMPORAL_ADDRESS: temporal.address,
        TEDI_WORKER_QUEUES: queues,
        TEDI_SECRET_KEY: 'c'.repeat(64),
        LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    await waitForLine(worker, 'workers running');
    const startHwm = memoryOf(worker.pid!).hwm;
    // Idle = settled: past the 10 s for which the SDK keeps a parsed copy of the bundle after Worker.create.
    await sleep(12_000);
    const idleRss = memoryOf(worker.pid!).rss;

    const stopSampling = sampleRss(worker.pid!);
    const started = performance.now();
    const client = new Client({ connection });
    let outcome: string;
    try {
      const result = (await client.workflow.execute('ingestDatasetVersion', {
        taskQueue: 'agriculture',
        workflowId: `memory-bench-${randomUUID()}`,
        args: [{ datasetVersionId: version.id, trigger: 'manual' }],
      })) as { status: string; recordsAdded: number; recordsRejected: number; revision: number | null };
      outcome = `${result.status}, revision ${result.revision}, ${result.recordsAdded} added, ${result.recordsRejected} rejected`;
    } catch (err) {
      outcome = `failed: ${(err as Error).cause ? String((err as Error).cause) : (err as Error).message}`;
    }
    const seconds = (performance.now() - started) / 1000;
    const ingestPeakRss = stopSampling();
    const { hwm } = memoryOf(worker.pid!);
    return {
      rows,
      csvBytes: served.csvBytes,
      zipBytes: served.zipBytes,
      idleRss,
      startHwm,
      ingestPeakRss,
      hwm,
      seconds,
      outcome,
    };
  } finally {
    if (worker) await stopProcess(worker);
    server.disconnect();
    await connection.close();
    await db.close();
    await database.stop();
  }
}

async function main(): Promise<void> {
  const rowSizes = sizes();
  const queuesOption = option('queues') ?? 'agriculture';
  const queues = queuesOption === 'all' ? TASK_QUEUES.join(',') : queuesOption;
  const temporal = await startDevServer({ port: await freePort() });
  try {
    console.log(
      `worker memory, TEDI_WORKER_QUEUES=${queues}, ${os.cpus().length} cores, load ${os.loadavg()[0]?.toFixed(2)}`,
    );
    const bare = await idleFloor(['-e', "console.log('ready'); setInterval(() => {}, 1 << 30)"]);
    const tsx = await idleFloor(['--import', 'tsx', '-e', "console.log('ready'); setInterval(() => {}, 1 << 30)"]);
    const { codePath } = await workflowBundle();
    const temporalFloor = await idleFloor([
      '-e',
      TEMPORAL_FLOOR_SCRIPT,
      require.resolve('@temporalio/worker'),
      temporal.address,
      codePath,
    ]);
    console.log('floors (RSS 3 s after start, peak in brackets):');
    console.log(`  bare node                                        ${mb(bare.rss)} MB (${mb(bare.hwm)})`);
    console.log(`  node --import tsx, nothing loaded                ${mb(tsx.rss)} MB (${mb(tsx.hwm)})`);
    console.log(
      `  node + @temporalio/worker, one Worker, TEDI bundle ${mb(temporalFloor.rss)} MB (${mb(temporalFloor.hwm)})`,
    );
    const results: SizeResult[] = [];
    for (const rows of rowSizes) results.push(await measureSize(rows, temporal, queues));
    console.log('worker process (MB; peak = VmHWM over its whole life: start, idle, one ingestion):');
    console.log('  rows        CSV   zip  idle  start-peak  ingest-peak  peak  peak/256  peak-floor  time    outcome');
    for (const r of results) {
      console.log(
        `  ${String(r.rows).padEnd(10)} ${mb(r.csvBytes).padStart(5)} ${mb(r.zipBytes).padStart(5)} ` +
          `${mb(r.idleRss).padStart(5)} ${mb(r.startHwm).padStart(11)} ${mb(r.ingestPeakRss).padStart(12)} ` +
          `${mb(r.hwm).padStart(5)} ${(r.hwm / (TARGET_MB * MiB)).toFixed(2).padStart(8)}× ` +
          `${mb(r.hwm - temporalFloor.rss).padStart(11)} ${r.seconds.toFixed(0).padStart(5)} s  ${r.outcome}`,
      );
    }
    const first = results[0];
    const last = results[results.length - 1];
    if (first && last && first !== last) {
      console.log(
        `flatness: peak at ${mb(last.csvBytes)} MB of CSV / peak at ${mb(first.csvBytes)} MB = ` +
          `${(last.hwm / first.hwm).toFixed(2)} (1.00 = flat); target peak ≤ ${TARGET_MB} MB at both`,
      );
    }
  } finally {
    await temporal.stop();
  }
}

const fail = (err: unknown) => {
  console.error(err);
  process.exit(1);
};
if (process.argv[2] === '--serve') serve(Number(process.argv[3])).catch(fail);
else main().then(() => process.exit(0), fail);
