// Two scheduler processes at once, both polling the scheduler queue (as two replicas of compose's
// tedi-worker-scheduler would): a tick of the tedi-master schedule starts each due version's child exactly
// once — one run per child id in Temporal's visibility, one log row per version — and the singletons
// both processes ensure at start (operator console, feed dispatcher, alert monitor) run once each.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Client } from '@temporalio/client';
import { clusterWorkers } from '../../scripts/cluster/topology';
import { MASTER_SCHEDULE_ID } from '../../workflows/ids';
import { type FixtureServer, startFixtureServer } from '../fixtures/fixture-server';
import { createWorldBankFixture } from '../fixtures/world-bank';
import { catalogWorldBankData } from '../fixtures/world-bank-catalog';
import { startTestCluster, type TestCluster } from '../helpers/cluster';
import { masterRuns, seedFanout } from '../helpers/fanout';
import { waitFor } from '../helpers/wait';

const DUE = 40;
const TOTAL = 200;
let t: TestCluster;
let fixture: FixtureServer;

before(async () => {
  fixture = await startFixtureServer(createWorldBankFixture(catalogWorldBankData()).handler);
  const workers = [...clusterWorkers(), { name: 'worker-scheduler-2', queues: ['scheduler' as const] }];
  t = await startTestCluster({ workers, env: { TEDI_WORLD_BANK_BASE_URL: `${fixture.url}/v2` } });
  await t.db.pool.query(
    `UPDATE data_source_configs SET rate_limit_per_second = 1000, max_retries = 0, timeout_ms = 5000`,
  );
});

after(async () => {
  await t?.close();
  await fixture?.close();
});

/** Triggers the schedule and waits for the master run that tick started to close; returns its workflow id. */
async function tick(client: Client): Promise<string> {
  const schedule = client.schedule.getHandle(MASTER_SCHEDULE_ID);
  const before = (await schedule.describe()).info.recentActions.length;
  await schedule.trigger();
  const action = await waitFor(
    'the tick to start a master run',
    async () => (await schedule.describe()).info.recentActions[before],
    30_000,
  );
  const { workflowId, firstExecutionRunId } = action.action.workflow;
  await waitFor(
    'the master run to close',
    async () => {
      const runs = await masterRuns(client, workflowId, firstExecutionRunId);
      return runs.at(-1)?.closedBy === 'completed';
    },
    240_000,
  );
  return workflowId;
}

async function executionsById(client: Client, query: string): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for await (const run of client.workflow.list({ query }))
    counts.set(run.workflowId, (counts.get(run.workflowId) ?? 0) + 1);
  return counts;
}

test('two scheduler processes: one tick starts every due child exactly once', { timeout: 600_000 }, async () => {
  const schedulers = t.cluster.workers().filter((w) => w.spec.queues.includes('scheduler'));
  assert.equal(schedulers.length, 2, 'two processes poll the scheduler queue');
  const dueIds = await seedFanout(t, { total: TOTAL, due: DUE, asOf: new Date().toISOString() });
  assert.equal(dueIds.length, DUE);

  const masterId = await tick(t.client);
  const handle = t.client.workflow.getHandle(masterId);
  const runs = await masterRuns(t.client, masterId, (await handle.describe()).runId);
  const childIds = runs.flatMap((r) => r.childIds);
  assert.equal(childIds.length, DUE, 'one child per due version');
  assert.equal(new Set(childIds).size, DUE, 'no child id initiated twice');

  // Temporal's view: one execution per child id (a second start under the same id would be a second run).
  await waitFor('visibility to list the children', async () => {
    const n = [...(await executionsById(t.client, `WorkflowType = 'ingestDatasetVersion'`)).values()].length;
    return n >= DUE;
  });
  const executions = await executionsById(t.client, `WorkflowType = 'ingestDatasetVersion'`);
  assert.deepEqual([...executions.keys()].sort(), [...childIds].sort());
  assert.ok(
    [...executions.values()].every((n) => n === 1),
    'each child id ran once',
  );

  // The store's view: one log row, one revision per due version; nothing for the others.
  const { rows } = await t.db.pool.query<{ id: number; logs: number; revisions: number }>(
    `SELECT v.id,
            (SELECT count(*)::int FROM ingestion_logs l WHERE l.dataset_version_id = v.id) AS logs,
            (SELECT count(*)::int FROM dataset_revisions r WHERE r.dataset_version_id = v.id) AS revisions
       FROM dataset_versions v WHERE v.id = ANY($1) ORDER BY v.id`,
    [dueIds],
  );
  assert.deepEqual(
    rows.map((r) => [r.logs, r.revisions]),
    dueIds.map(() => [1, 1]),
  );

  // A second tick finds nothing due: the versions the first one ingested are not started again.
  const secondId = await tick(t.client);
  const second = await masterRuns(t.client, secondId, (await t.client.workflow.getHandle(secondId).describe()).runId);
  assert.deepEqual(
    second.flatMap((r) => r.childIds),
    [],
  );

  // Both processes ensured the singletons at start: each runs once.
  for (const type of ['operatorConsole', 'feedDispatcher', 'alertMonitor']) {
    const open = await executionsById(t.client, `WorkflowType = '${type}' AND ExecutionStatus = 'Running'`);
    assert.equal(
      [...open.values()].reduce((a, b) => a + b, 0),
      1,
      `one running ${type}`,
    );
  }
  assert.ok(
    schedulers.every((w) => w.running()),
    'both scheduler processes still serve',
  );
});
