// A queue served by two worker processes: SIGKILL the one running a large load, in the middle of its
// transaction (every row merged, nothing committed). Temporal hands the activity to the other process when
// its heartbeats stop; the data is exact: one revision, every row once, one log row, no staging left.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { ingestDatasetVersion } from '../../workflows/ingest-dataset-version';
import {
  attemptsOf,
  type LargeFaostat,
  serveLargeFaostat,
  startTestCluster,
  type TestCluster,
} from '../helpers/cluster';
import { stagingTablesLeft } from '../helpers/ingest';
import { waitFor } from '../helpers/wait';

const ROWS = 200_000;
const controlDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tedi-cluster-points-'));
let t: TestCluster;
let faostat: LargeFaostat;

before(async () => {
  t = await startTestCluster({
    // The load holds (heartbeating) just before its commit, the first time any process gets there.
    env: { TEDI_TEST_CONTROL_DIR: controlDir, TEDI_TEST_POINTS: 'pause@load:before-commit' },
  });
  faostat = await serveLargeFaostat(t.db, ROWS);
});

after(async () => {
  await t?.close();
  await faostat?.server.close();
  fs.rmSync(controlDir, { recursive: true, force: true });
});

test('SIGKILL of the worker process mid-load: the other process of the queue completes it, exactly', {
  timeout: 600_000,
}, async () => {
  const agriculture = t.cluster.workers().filter((w) => w.spec.queues.includes('agriculture'));
  assert.equal(agriculture.length, 2, 'two processes serve the agriculture queue');
  const workflowId = `cluster-worker-kill-${Date.now()}`;
  const handle = await t.client.workflow.start(ingestDatasetVersion, {
    taskQueue: 'agriculture',
    workflowId,
    // A short heartbeat timeout: Temporal notices the dead worker within seconds, not two minutes.
    args: [
      {
        datasetVersionId: faostat.versionId,
        trigger: 'manual',
        retry: { initialIntervalMs: 500, heartbeatTimeoutMs: 5000 },
      },
    ],
  });

  const reached = path.join(controlDir, 'load:before-commit.reached');
  await waitFor('the load to hold before its commit', async () => fs.existsSync(reached), 300_000);
  const pid = Number(fs.readFileSync(reached, 'utf8'));
  const victim = agriculture.find((w) => w.pid === pid);
  const survivor = agriculture.find((w) => w.pid !== pid);
  assert.ok(victim && survivor, `the load runs in one of the agriculture processes (pid ${pid})`);
  assert.equal(
    await t.db.prisma.observation.count({ where: { datasetVersionId: faostat.versionId } }),
    0,
    'nothing committed yet',
  );

  await victim.kill();
  const result = await handle.result();

  assert.equal(result.status, 'success');
  assert.equal(result.revision, 1);
  const stored = await t.db.prisma.observation.count({ where: { datasetVersionId: faostat.versionId } });
  assert.equal(stored, ROWS, 'every row of the file, once');
  assert.equal(result.recordsAdded, ROWS);
  assert.equal(await t.db.prisma.datasetRevision.count({ where: { datasetVersionId: faostat.versionId } }), 1);
  const logs = await t.db.prisma.ingestionLog.findMany({ where: { datasetVersionId: faostat.versionId } });
  assert.deepEqual(
    logs.map((l) => l.status),
    ['success'],
    'one ingestion, one log row',
  );
  assert.equal(await stagingTablesLeft(t.db.pool), 0);

  const loads = await attemptsOf(t.client, workflowId, 'loadRevision');
  const last = loads.at(-1);
  assert.ok(last && last.attempt > 1, `the load was retried (attempts ${JSON.stringify(loads)})`);
  assert.match(last.identity, new RegExp(`^${survivor.pid}@`), 'and completed by the other process of the queue');
  assert.ok(survivor.running(), 'the survivor is still serving');
});
