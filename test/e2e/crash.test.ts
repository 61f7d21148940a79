// Crash safety: the worker process is killed (SIGKILL) while an ingestion streams rows into PostgreSQL.
// A new worker process picks the ingestion up, and the loaded data is exact: no duplicate, no loss.
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
import { type FixtureServer, startFixtureServer } from '../fixtures/fixture-server';
import { createWorldBankFixture } from '../fixtures/world-bank';
import { catalogWorldBankData, YEARS } from '../fixtures/world-bank-catalog';
import { startTestDatabase } from '../helpers/database';
import { stagingTablesLeft } from '../helpers/ingest';
import { waitFor } from '../helpers/wait';

const ROOT = path.resolve(__dirname, '..', '..');
const PAGE_DELAY_MS = 150;

installRuntime({ logLevel: process.env.LOG_LEVEL ?? 'warn' });
let database: Awaited<ReturnType<typeof startTestDatabase>>;
let db: Database;
let temporal: DevServer;
let fixture: FixtureServer;
let connection: Connection;
const workers: ChildProcess[] = [];

function startWorkerProcess(): ChildProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'workers', 'main.ts')], {
    cwd: ROOT,
    env: {
      ...process.env,
      DATABASE_URL: database.url,
      TEMPORAL_ADDRESS: temporal.address,
      TEDI_WORKER_QUEUES: 'agriculture',
      TEDI_SECRET_KEY: 'c'.repeat(64),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stderr?.on('data', (d) => process.env.DEBUG_CRASH_TEST && process.stderr.write(d));
  workers.push(child);
  return child;
}

before(async () => {
  database = await startTestDatabase();
  db = openDatabase(database.url);
  const worldBank = createWorldBankFixture(catalogWorldBankData());
  // Slow pages keep the ingestion mid-stream long enough to kill the worker there.
  fixture = await startFixtureServer(async (req) => {
    await new Promise((r) => setTimeout(r, PAGE_DELAY_MS));
    return worldBank.handler(req);
  });
  await loadCatalog(db.prisma, { worldBankBaseUrl: `${fixture.url}/v2`, worldBankCountries: ['BJ'] });
  const source = await db.prisma.dataSource.findUniqueOrThrow({ where: { name: 'world_bank_agriculture' } });
  await db.prisma.dataSource.update({
    where: { id: source.id },
    data: { params: { ...(source.params as object), perPage: 2 } },
  });
  await db.prisma.dataSourceConfig.update({ where: { dataSourceId: source.id }, data: { rateLimitPerSecond: 1000 } });
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

test('a worker killed mid-ingestion is replaced and the load is exact', { timeout: 180_000 }, async () => {
  const client = new Client({ connection });
  const version = await db.prisma.datasetVersion.findFirstOrThrow({
    where: { dataSource: { name: 'world_bank_agriculture' } },
  });
  const first = startWorkerProcess();
  const handle = await client.workflow.start(ingestDatasetVersion, {
    taskQueue: 'agriculture',
    workflowId: `crash-test-${randomUUID()}`,
    // A short heartbeat timeout lets Temporal notice the dead worker within seconds.
    args: [
      { datasetVersionId: version.id, trigger: 'manual', retry: { initialIntervalMs: 200, heartbeatTimeoutMs: 3000 } },
    ],
  });

  // 3 indicators x 20 years at 2 rows a page: 30 data pages. Kill after a third of them.
  await waitFor(
    'the fetch to be mid-stream',
    async () => fixture.requests.filter((r) => r.query.get('per_page') === '2').length >= 10,
  );
  first.kill('SIGKILL');
  await new Promise((r) => first.once('exit', r));
  const requestsAtKill = fixture.requests.length;

  startWorkerProcess();
  const result = await handle.result();
  assert.ok(fixture.requests.length > requestsAtKill, 'the new worker fetched again');
  assert.equal(result.status, 'success');
  assert.equal(result.revision, 1);
  assert.equal(result.recordsAdded, 3 * YEARS);

  assert.equal(await db.prisma.observation.count({ where: { datasetVersionId: version.id } }), 3 * YEARS);
  assert.equal(await db.prisma.datasetRevision.count({ where: { datasetVersionId: version.id } }), 1);
  const logs = await db.prisma.ingestionLog.findMany({ where: { datasetVersionId: version.id } });
  assert.equal(logs.length, 1, 'one ingestion, one log row, whatever the crashes');
  assert.equal(logs[0]?.status, 'success');
  assert.equal(await stagingTablesLeft(db.pool), 0);
  const history = await handle.fetchHistory();
  const fetchAttempts = history.events
    ?.filter((e) => e.activityTaskStartedEventAttributes)
    .map((e) => e.activityTaskStartedEventAttributes?.attempt);
  assert.ok(
    fetchAttempts?.some((a) => (a ?? 1) > 1),
    'the interrupted activity was retried',
  );
});
