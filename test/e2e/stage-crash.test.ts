// Exactly-once results across crashes, at the exact points where a crash used to lose or invent data.
// A worker process (the real workers/main.ts) ingests world_bank_agriculture from a loopback World Bank
// fixture into a PostgreSQL the test can crash; named test points (activities/ingestion/test-points.ts)
// hold or kill the worker at an exact place. Every scenario changes one value at the source, so each run
// must end with exactly one new revision, exactly one updated row, and a log row that says so.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, afterEach, before, describe, test } from 'node:test';
import { Client, Connection } from '@temporalio/client';
import { loadCatalog } from '../../catalog/load';
import { type Database, openDatabase } from '../../lib/db';
import { freePort } from '../../lib/infra/postgres';
import { type DevServer, startDevServer } from '../../lib/infra/temporal-server';
import { installRuntime } from '../../lib/logging';
import { applyMigrations } from '../../prisma/migrator';
import type { IngestResult } from '../../workflows/ingest-dataset-version';
import { ingestDatasetVersion } from '../../workflows/ingest-dataset-version';
import { type FixtureServer, startFixtureServer } from '../fixtures/fixture-server';
import { createWorldBankFixture, type WorldBankFixture } from '../fixtures/world-bank';
import { catalogWorldBankData, YEARS } from '../fixtures/world-bank-catalog';
import { type CrashablePostgres, startCrashablePostgres } from '../helpers/crashable-postgres';
import { waitFor } from '../helpers/wait';

const ROOT = path.resolve(__dirname, '..', '..');
const SOURCE = 'world_bank_agriculture';

installRuntime({ logLevel: process.env.LOG_LEVEL ?? 'warn' });
let pg: CrashablePostgres;
let db: Database;
let temporal: DevServer;
let fixture: FixtureServer;
let worldBank: WorldBankFixture;
let connection: Connection;
let versionId: number;
let indicators: string[];
const workers: ChildProcess[] = [];

function startWorker(controlDir: string, points: string, extraEnv: NodeJS.ProcessEnv = {}): ChildProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'workers', 'main.ts')], {
    cwd: ROOT,
    env: {
      ...process.env,
      DATABASE_URL: pg.url,
      TEMPORAL_ADDRESS: temporal.address,
      TEDI_WORKER_QUEUES: 'agriculture',
      TEDI_SECRET_KEY: 'c'.repeat(64),
      TEDI_TEST_CONTROL_DIR: controlDir,
      TEDI_TEST_POINTS: points,
      LOG_LEVEL: 'warn',
      ...extraEnv,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stderr?.on('data', (d) => process.env.DEBUG_CRASH_TEST && process.stderr.write(d));
  child.stdout?.on('data', (d) => process.env.DEBUG_CRASH_TEST && process.stdout.write(d));
  workers.push(child);
  return child;
}

function alive(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}

async function stopWorker(child: ChildProcess): Promise<void> {
  if (!alive(child)) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
}

let change = 0;
/** One value changes at the source: the next run must make exactly one revision with one updated row. */
function changeOneValue(): void {
  change++;
  worldBank.setValue(indicators[0]!, 'BJ', 2010, 1000 + change);
}

interface Scenario {
  points: string;
  workerEnv?: NodeJS.ProcessEnv;
  /** What to do once the worker reached the point (the worker waits there for pause@ points). */
  atPoint(reached: string, release: () => void): Promise<void>;
}

/** Runs one ingestion through a fresh worker process with the given test points; returns its result. */
async function ingestThrough(
  scenario: Scenario,
): Promise<{ result: IngestResult; firstWorker: ChildProcess; failures: string[] }> {
  const controlDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tedi-points-'));
  const point = scenario.points.split('@')[1]!;
  const firstWorker = startWorker(controlDir, scenario.points, scenario.workerEnv);
  const client = new Client({ connection });
  const handle = await client.workflow.start(ingestDatasetVersion, {
    taskQueue: 'agriculture',
    workflowId: `stage-crash-${randomUUID()}`,
    args: [
      {
        datasetVersionId: versionId,
        trigger: 'manual',
        force: true,
        retry: { initialIntervalMs: 200, maximumAttempts: 5, heartbeatTimeoutMs: 3000 },
      },
    ],
  });
  const reached = path.join(controlDir, `${point}.reached`);
  await waitFor(`the worker to reach ${point}`, async () => fs.existsSync(reached), 60_000);
  await scenario.atPoint(reached, () => fs.writeFileSync(path.join(controlDir, `${point}.release`), ''));
  const result = await handle.result();
  // What went wrong on the way, as the history tells it: failure types, and retried attempts.
  const history = await handle.fetchHistory();
  const failures = (history.events ?? []).flatMap((e) => {
    if (e.activityTaskFailedEventAttributes) {
      return [e.activityTaskFailedEventAttributes.failure?.applicationFailureInfo?.type ?? 'untyped'];
    }
    // A retry after a heartbeat timeout leaves no failure event: the started event carries the attempt.
    const attempt = e.activityTaskStartedEventAttributes?.attempt ?? 1;
    return attempt > 1 ? [`attempt ${attempt}`] : [];
  });
  return { result, firstWorker, failures };
}

async function assertOneNewRevision(result: IngestResult, revision: number): Promise<void> {
  assert.equal(result.status, 'success', result.reason);
  assert.equal(result.revision, revision);
  assert.equal(result.recordsAdded, revision === 1 ? indicators.length * YEARS : 0);
  assert.equal(result.recordsUpdated, revision === 1 ? 0 : 1);
  assert.equal(result.recordsRemoved, 0);
  const revisions = await db.prisma.datasetRevision.findMany({ where: { datasetVersionId: versionId } });
  assert.deepEqual(
    revisions.map((r) => r.revision).sort((a, b) => a - b),
    Array.from({ length: revision }, (_, i) => i + 1),
    'exactly one revision per run',
  );
  const current = await db.pool.query(
    'SELECT count(*)::int AS n FROM observations WHERE dataset_version_id = $1 AND valid_to IS NULL',
    [versionId],
  );
  assert.equal(current.rows[0].n, indicators.length * YEARS, 'no row lost, none doubled');
  const value = await db.pool.query(
    `SELECT o.value::text FROM observations o JOIN series s ON s.id = o.series_id
      WHERE o.dataset_version_id = $1 AND o.valid_to IS NULL AND s.series_key = $2 AND o.period = '2010'`,
    [versionId, `${indicators[0]}|BEN`],
  );
  assert.equal(value.rows[0]?.value, String(1000 + change), 'the changed value is current');
  const log = await db.prisma.ingestionLog.findFirstOrThrow({
    where: { datasetVersionId: versionId },
    orderBy: { id: 'desc' },
  });
  assert.equal(log.status, 'success');
  assert.equal(log.revision, revision);
  assert.equal(log.recordsUpdated, result.recordsUpdated, 'the log row matches the result');
  assert.equal(log.recordsAdded, result.recordsAdded);
}

before(async () => {
  pg = await startCrashablePostgres();
  await applyMigrations(pg.url);
  db = openDatabase(pg.url);
  worldBank = createWorldBankFixture(catalogWorldBankData());
  fixture = await startFixtureServer((req) => worldBank.handler(req));
  await loadCatalog(db.prisma, { worldBankBaseUrl: `${fixture.url}/v2`, worldBankCountries: ['BJ'] });
  const source = await db.prisma.dataSource.findUniqueOrThrow({ where: { name: SOURCE } });
  indicators = (source.params as { indicators: string[] }).indicators;
  await db.prisma.dataSourceConfig.update({ where: { dataSourceId: source.id }, data: { rateLimitPerSecond: 1000 } });
  versionId = (await db.prisma.datasetVersion.findFirstOrThrow({ where: { dataSourceId: source.id } })).id;
  temporal = await startDevServer({ port: await freePort() });
  connection = await Connection.connect({ address: temporal.address });
});

// A worker left by a failed scenario would take the next scenario's ingestion without its test points.
afterEach(async () => {
  for (const w of workers) await stopWorker(w);
});

after(async () => {
  for (const w of workers) if (alive(w)) w.kill('SIGKILL');
  await connection?.close();
  await temporal?.stop();
  await fixture?.close();
  await db?.close().catch(() => undefined);
  await pg?.stop();
});

describe('PostgreSQL killed (kill -9) between and during stages', { timeout: 300_000 }, () => {
  test('between staging and load: staging emptied by crash recovery is noticed, staged again, loaded exactly', async () => {
    changeOneValue();
    const { result, firstWorker, failures } = await ingestThrough({
      points: 'pause@load:start',
      atPoint: async (_reached, release) => {
        await pg.crash();
        await pg.restart();
        release();
      },
    });
    await assertOneNewRevision(result, 1);
    assert.deepEqual(
      failures,
      ['StagingLost'],
      'the load noticed the emptied staging, then the snapshot was staged again',
    );
    assert.ok(alive(firstWorker), 'losing the database never kills the worker process');
    await stopWorker(firstWorker);
  });

  test('while the source streams: the staging attempt fails, the ingestion resumes within seconds of the database coming back', async () => {
    changeOneValue();
    let restartedAt = 0;
    const { result, firstWorker, failures } = await ingestThrough({
      points: 'pause@stage:mid',
      atPoint: async (_reached, release) => {
        await pg.crash();
        release();
        // The database stays down while the fetch fails and the workflow waits on the database schedule.
        await new Promise((r) => setTimeout(r, 3000));
        await pg.restart();
        restartedAt = Date.now();
      },
    });
    const resumedWithinMs = Date.now() - restartedAt;
    await assertOneNewRevision(result, 2);
    assert.ok(failures.length > 0 && failures.every((f) => f === 'DatabaseUnavailable'), failures.join(', '));
    // The database schedule waits at most 15 s between tries; the source backoff would wait minutes.
    assert.ok(resumedWithinMs < 30_000, `completed ${resumedWithinMs} ms after the database came back`);
    assert.ok(alive(firstWorker), 'losing the database never kills the worker process');
    await stopWorker(firstWorker);
  });

  test('during the staging COPY, before commit: staged again from the source, loaded exactly', async () => {
    changeOneValue();
    const { result, firstWorker, failures } = await ingestThrough({
      points: 'pause@stage:before-commit',
      atPoint: async (_reached, release) => {
        await pg.crash();
        await pg.restart();
        release();
      },
    });
    await assertOneNewRevision(result, 3);
    assert.deepEqual(failures, ['DatabaseUnavailable'], 'the lost commit failed the attempt, which was staged again');
    assert.ok(alive(firstWorker));
    await stopWorker(firstWorker);
  });

  test('during the load, before commit: the previous revision stays; the retry loads exactly once', async () => {
    changeOneValue();
    const { result, firstWorker, failures } = await ingestThrough({
      points: 'pause@load:before-commit',
      atPoint: async (_reached, release) => {
        await pg.crash();
        await pg.restart();
        const current = await db.prisma.datasetVersion.findUniqueOrThrow({ where: { id: versionId } });
        assert.equal(current.currentRevision, 3, 'the uncommitted revision left no trace');
        release();
      },
    });
    await assertOneNewRevision(result, 4);
    assert.equal(failures.at(-1), 'StagingLost', failures.join(', '));
    assert.ok(alive(firstWorker));
    await stopWorker(firstWorker);
  });
});

describe('the worker process killed (SIGKILL) at exact points', { timeout: 300_000 }, () => {
  const replaceWorker = (points: string) => async (reached: string) => {
    const pid = Number(fs.readFileSync(reached, 'utf8'));
    await waitFor('the worker to die', async () => !workers.some((w) => w.pid === pid && alive(w)), 20_000);
    // A fresh worker without test points takes the ingestion over once the heartbeat times out.
    startWorker(path.dirname(reached), points);
  };

  for (const [point, revision] of [
    ['stage:mid', 5],
    ['load:before-commit', 6],
    ['load:after-commit', 7],
  ] as const) {
    test(`during ${point}: another worker takes over; one revision, true counts`, async () => {
      changeOneValue();
      const { result, failures } = await ingestThrough({ points: `kill@${point}`, atPoint: replaceWorker('') });
      await assertOneNewRevision(result, revision);
      assert.deepEqual(
        failures,
        ['attempt 2'],
        'the dead worker was noticed by its missing heartbeat, and retried once',
      );
    });
  }
});

describe('a slow load is not a dead worker', { timeout: 120_000 }, () => {
  test('a load statement silent for twice the heartbeat timeout completes on its first attempt', async () => {
    changeOneValue();
    const { result, failures } = await ingestThrough({
      points: 'delay@load:before-commit',
      // The scenario's heartbeat timeout is 3 s; the load's own heartbeats must cover a 7 s statement.
      workerEnv: { TEDI_TEST_DELAY_MS: '7000' },
      atPoint: async () => undefined,
    });
    await assertOneNewRevision(result, 8);
    assert.deepEqual(failures, [], 'no heartbeat timeout, no retry');
  });
});
