// The host rate budget and the in-attempt retries, through real worker processes.
//
// The host rate budget holds across worker processes. Two real worker processes (workers/main.ts, each
// with its own PostgreSQL pool), one polling `agriculture` and one `employment`, ingest the two World
// Bank sources at once from one loopback host declared at 5 requests/s in host_rate_limits, while each
// source's own rate_limit_per_second is 1000/s. The fixture's arrival times must show the two processes
// interleaved and, together, never more than 5 (+1 for a window's edge) requests in any second. The
// control: one process alone, with no host row, sends its requests in well under a second.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { Client, Connection } from '@temporalio/client';
import { loadCatalog } from '../../catalog/load';
import { type Database, openDatabase } from '../../lib/db';
import { freePort } from '../../lib/infra/postgres';
import { type DevServer, startDevServer } from '../../lib/infra/temporal-server';
import { installRuntime } from '../../lib/logging';
import { ingestDatasetVersion } from '../../workflows/ingest-dataset-version';
import {
  type FixtureRequest,
  type FixtureResponse,
  type FixtureServer,
  startFixtureServer,
  textResponse,
} from '../fixtures/fixture-server';
import { createWorldBankFixture } from '../fixtures/world-bank';
import { catalogWorldBankData } from '../fixtures/world-bank-catalog';
import { startTestDatabase } from '../helpers/database';

const ROOT = path.resolve(__dirname, '..', '..');
const HOST_BUDGET = 5;
const SOURCES = { agriculture: 'world_bank_agriculture', employment: 'world_bank_employment' } as const;
type Queue = keyof typeof SOURCES;

installRuntime({ logLevel: process.env.LOG_LEVEL ?? 'warn' });
let database: Awaited<ReturnType<typeof startTestDatabase>>;
let db: Database;
let temporal: DevServer;
let fixture: FixtureServer;
let connection: Connection;
const workers: ChildProcess[] = [];
/** Arrival time and indicator of every request the fixture served. */
const arrivals: Array<{ at: number; indicator: string }> = [];
/** Which queue (so which worker process) asks for an indicator. */
const queueOf = new Map<string, Queue>();
/** Answers a request instead of the fixture when it returns something. */
let intercept: (req: FixtureRequest) => FixtureResponse | undefined = () => undefined;

function startWorkerProcess(queue: Queue): ChildProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'workers', 'main.ts')], {
    cwd: ROOT,
    env: {
      ...process.env,
      DATABASE_URL: database.url,
      TEMPORAL_ADDRESS: temporal.address,
      TEDI_WORKER_QUEUES: queue,
      TEDI_SECRET_KEY: 'c'.repeat(64),
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stderr?.on('data', (d) => process.env.DEBUG_BUDGET_TEST && process.stderr.write(d));
  workers.push(child);
  return child;
}

before(async () => {
  database = await startTestDatabase();
  db = openDatabase(database.url);
  const worldBank = createWorldBankFixture(catalogWorldBankData());
  fixture = await startFixtureServer((req) => {
    arrivals.push({ at: Date.now(), indicator: req.path.split('/indicator/')[1] ?? req.path });
    return intercept(req) ?? worldBank.handler(req);
  });
  await loadCatalog(db.prisma, { worldBankBaseUrl: `${fixture.url}/v2`, worldBankCountries: ['BJ'] });
  for (const [queue, name] of Object.entries(SOURCES) as Array<[Queue, string]>) {
    const source = await db.prisma.dataSource.findUniqueOrThrow({ where: { name } });
    const params = source.params as { indicators: string[] };
    for (const indicator of params.indicators) queueOf.set(indicator, queue);
    // 3 probe requests + 3 indicators x 4 pages of 5 years: 15 requests per ingestion.
    await db.prisma.dataSource.update({ where: { id: source.id }, data: { params: { ...params, perPage: 5 } } });
    // Each source alone may go at 1000/s: only the host's budget can hold them back.
    await db.prisma.dataSourceConfig.update({
      where: { dataSourceId: source.id },
      data: { rateLimitPerSecond: 1000, maxRetries: 0 },
    });
  }
  temporal = await startDevServer({ port: await freePort() });
  connection = await Connection.connect({ address: temporal.address });
});

after(async () => {
  for (const w of workers) if (w.exitCode === null && w.signalCode === null) w.kill('SIGKILL');
  await connection?.close();
  await temporal?.stop();
  await fixture?.close();
  await db?.close();
  await database?.stop();
});

/** Runs one forced ingestion, one activity attempt per stage; its status and the attempts it made. */
async function ingestRun(queue: Queue): Promise<{ status: string; attempts: number[] }> {
  const version = await db.prisma.datasetVersion.findFirstOrThrow({ where: { dataSource: { name: SOURCES[queue] } } });
  const handle = await new Client({ connection }).workflow.start(ingestDatasetVersion, {
    taskQueue: queue,
    workflowId: `budget-${queue}-${randomUUID()}`,
    args: [{ datasetVersionId: version.id, trigger: 'manual', force: true, retry: { maximumAttempts: 1 } }],
  });
  const { status } = await handle.result();
  const attempts = ((await handle.fetchHistory()).events ?? []).flatMap((e) =>
    e.activityTaskStartedEventAttributes ? [e.activityTaskStartedEventAttributes.attempt ?? 1] : [],
  );
  return { status, attempts };
}

const ingest = async (queue: Queue) => (await ingestRun(queue)).status;

/** The most requests that arrived within any 1 s window (a window opening at each arrival). */
function busiestSecond(times: number[]): number {
  const sorted = [...times].sort((a, b) => a - b);
  let most = 0;
  for (let i = 0, j = 0; i < sorted.length; i++) {
    while (j < sorted.length && sorted[j]! < sorted[i]! + 1000) j++;
    most = Math.max(most, j - i);
  }
  return most;
}

test('two worker processes on one host share its budget: never more than 5+1 requests in any second', {
  timeout: 120_000,
}, async () => {
  startWorkerProcess('agriculture');
  startWorkerProcess('employment');

  // Control: one process alone, no host row, so the source's own 1000/s is the host's budget.
  assert.equal(await ingest('agriculture'), 'success');
  const alone = arrivals.splice(0).map((a) => a.at);
  assert.equal(alone.length, 15);
  assert.ok(
    busiestSecond(alone) >= 10,
    `alone, one process sent ${busiestSecond(alone)} requests in its busiest second`,
  );

  const host = new URL(fixture.url).host;
  await db.pool.query('INSERT INTO host_rate_limits (host, requests_per_second, note) VALUES ($1, $2, $3)', [
    host,
    HOST_BUDGET,
    'the fixture, as a provider that allows 5 requests/s',
  ]);
  const started = Date.now();
  const statuses = await Promise.all([ingest('agriculture'), ingest('employment')]);
  const tookMs = Date.now() - started;
  assert.deepEqual(statuses, ['no_change', 'success'], 'both ingestions completed (agriculture had loaded already)');

  const byQueue = (q: Queue) => arrivals.filter((a) => queueOf.get(a.indicator) === q).map((a) => a.at);
  const [agri, empl] = [byQueue('agriculture'), byQueue('employment')];
  assert.deepEqual([agri.length, empl.length], [15, 15], 'every request came from one of the two sources');
  const all = [...agri, ...empl];
  const busiest = busiestSecond(all);
  assert.ok(busiest <= HOST_BUDGET + 1, `${busiest} requests in one second, over the host's budget of ${HOST_BUDGET}`);
  // 30 requests 200 ms apart: at least 29 x 200 ms from the first to the last.
  const span = Math.max(...all) - Math.min(...all);
  assert.ok(span >= 29 * (1000 / HOST_BUDGET) - 50, `30 requests within ${span} ms`);

  // Both processes were sending at the same time, so the budget was shared, not taken in turns.
  const from = Math.max(Math.min(...agri), Math.min(...empl));
  const to = Math.min(Math.max(...agri), Math.max(...empl));
  const inOverlap = (times: number[]) => times.filter((t) => t >= from && t <= to).length;
  assert.ok(
    inOverlap(agri) >= 5 && inOverlap(empl) >= 5,
    `overlap ${to - from} ms: ${inOverlap(agri)} + ${inOverlap(empl)}`,
  );
  console.log(
    `host budget ${HOST_BUDGET}/s: 30 requests from two processes over ${span} ms (busiest second ${busiest}); ` +
      `alone, no host row: 15 over ${Math.max(...alone) - Math.min(...alone)} ms; both ingestions ${tookMs} ms`,
  );
});

test('max_retries reaches the client: a 503 on the last page costs one more request of it, in the same attempt', {
  timeout: 60_000,
}, async () => {
  await db.pool.query('DELETE FROM host_rate_limits');
  const version = await db.prisma.datasetVersion.findFirstOrThrow({
    where: { dataSource: { name: SOURCES.employment } },
  });
  await db.prisma.dataSourceConfig.update({ where: { dataSourceId: version.dataSourceId }, data: { maxRetries: 5 } });
  const last = [...queueOf].find(([, q]) => q === 'employment')![0];
  let failed = false;
  intercept = (req) => {
    if (failed || !req.path.endsWith(last) || req.query.get('page') !== '4') return undefined;
    failed = true;
    return textResponse('upstream hiccup', 503);
  };
  arrivals.length = 0;
  try {
    const { status, attempts } = await ingestRun('employment');
    assert.equal(status, 'no_change', 'the same content as the first run');
    assert.ok(failed, 'the 503 was served');
    assert.deepEqual(new Set(attempts), new Set([1]), 'no activity was retried by Temporal');
    assert.equal(arrivals.length, 16, '15 requests and one more of the page that failed');
    assert.equal(arrivals.filter((a) => a.indicator === last).length, 6, 'probe + 4 pages + the retried page');
  } finally {
    intercept = () => undefined;
  }
});
