// The launcher restarts a worker process that exits without being asked (compose's `restart:
// unless-stopped`): a SIGKILLed worker is replaced by a new process that polls its queue again, and an
// ingestion started after the crash runs on it.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ingestDatasetVersion } from '../../workflows/ingest-dataset-version';
import { type LargeFaostat, serveLargeFaostat, startTestCluster, type TestCluster } from '../helpers/cluster';
import { waitFor } from '../helpers/wait';

const RESTART_AFTER_MS = 500;
let t: TestCluster;
let faostat: LargeFaostat;

before(async () => {
  t = await startTestCluster({
    workers: [
      { name: 'worker-scheduler', queues: ['scheduler'] },
      { name: 'worker-agriculture', queues: ['agriculture'] },
    ],
    restartWorkersAfterMs: RESTART_AFTER_MS,
  });
  faostat = await serveLargeFaostat(t.db, 1_000);
});

after(async () => {
  await t?.close();
  await faostat?.server.close();
});

/** The pids of the processes polling `queue` for activities, from their worker identities (pid@host). */
async function pollerPids(queue: string): Promise<number[]> {
  const described = await t.connection.workflowService.describeTaskQueue({
    namespace: t.cluster.namespace,
    taskQueue: { name: queue },
    taskQueueType: 2, // TASK_QUEUE_TYPE_ACTIVITY
  });
  return (described.pollers ?? []).map((p) => Number(p.identity?.split('@')[0]));
}

test('a SIGKILLed worker process is started again and serves its queue', { timeout: 180_000 }, async () => {
  const [first] = t.cluster.workers().filter((w) => w.name === 'worker-agriculture');
  assert.ok(first);
  await first.kill();
  const replacement = await waitFor(
    'the worker to be started again',
    async () => t.cluster.workers().find((w) => w.name === 'worker-agriculture' && w.pid !== first.pid),
    60_000,
  );
  await waitFor('the new process to poll the agriculture queue', async () =>
    (await pollerPids('agriculture')).includes(replacement.pid),
  );
  const result = await t.client.workflow.execute(ingestDatasetVersion, {
    taskQueue: 'agriculture',
    workflowId: `cluster-worker-restart-${Date.now()}`,
    args: [{ datasetVersionId: faostat.versionId, trigger: 'manual', retry: { initialIntervalMs: 500 } }],
  });
  assert.equal(result.status, 'success');
  assert.equal(result.recordsAdded, 1_000);
});
