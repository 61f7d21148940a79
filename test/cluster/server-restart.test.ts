// The Temporal server process restarted under a running cluster: SIGKILL (a crash) while a large FAOSTAT
// ingestion stages, SIGTERM while its load holds its transaction open, and SIGKILL again while the master,
// started by the `tedi-master` schedule, waits for its one child. The worker processes reconnect by
// themselves (same PIDs, polling again), the runs complete exactly (one revision per ingestion, every row
// once, one log row each, one child for the version), and what lives in Temporal's database survives: the
// schedules, the operator console, feed dispatcher and alert monitor, TEDI's search attributes and the
// visibility records they index.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import type { ScheduleDescription } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { SEARCH_ATTRIBUTES, startedIngestionAttributes } from '../../lib/search-attributes';
import { TASK_QUEUES } from '../../lib/verticals';
import { masterProgressQuery, operatorStatusQuery } from '../../workflows/definitions';
import {
  ALERT_MONITOR_ID,
  CLEANUP_SCHEDULE_ID,
  FEED_DISPATCHER_ID,
  MASTER_SCHEDULE_ID,
  manualIngestionId,
  OPERATOR_WORKFLOW_ID,
  RELIABILITY_SCHEDULE_ID,
} from '../../workflows/ids';
import { type IngestResult, ingestDatasetVersion } from '../../workflows/ingest-dataset-version';
import type { MasterResult } from '../../workflows/master-scheduler';
import {
  attemptsOf,
  type LargeFaostat,
  serveLargeFaostat,
  startTestCluster,
  type TestCluster,
} from '../helpers/cluster';
import { masterRuns } from '../helpers/fanout';
import { stagingTablesLeft } from '../helpers/ingest';
import { waitFor } from '../helpers/wait';

const ROWS = 200_000;
/** The master's run ingests a larger file: the same rows and these many more (a second revision). */
const EXTRA = 50_000;
const SCHEDULE_IDS = [MASTER_SCHEDULE_ID, CLEANUP_SCHEDULE_ID, RELIABILITY_SCHEDULE_ID];
const SINGLETON_IDS = [OPERATOR_WORKFLOW_ID, FEED_DISPATCHER_ID, ALERT_MONITOR_ID];
const controlDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tedi-cluster-points-'));
const { TaskQueueType, IndexedValueType } = temporal.api.enums.v1;

let t: TestCluster;
const servers: LargeFaostat[] = [];
/** What Temporal's database held before any restart. */
let schedulesBefore: Map<string, ScheduleDescription>;
let workerPidsBefore: number[];
let manualWorkflowId: string;
let childWorkflowId: string;

before(async () => {
  t = await startTestCluster({
    // The first staging and the first load hold (heartbeating) at these points, so the server restarts while
    // an activity is certainly running; the load's point is armed again for the master's child.
    env: { TEDI_TEST_CONTROL_DIR: controlDir, TEDI_TEST_POINTS: 'pause@stage:mid,pause@load:before-commit' },
  });
  servers.push(await serveLargeFaostat(t.db, ROWS));
  schedulesBefore = new Map();
  for (const id of SCHEDULE_IDS) schedulesBefore.set(id, await t.client.schedule.getHandle(id).describe());
  for (const id of SINGLETON_IDS) {
    // Ensured by the scheduler queue's process once it started: running before anything is broken.
    const d = await waitFor(`${id} to run`, async () => {
      const desc = await t.client.workflow
        .getHandle(id)
        .describe()
        .catch(() => undefined);
      return desc?.status.name === 'RUNNING' ? desc : undefined;
    });
    assert.equal(d.status.name, 'RUNNING');
  }
  workerPidsBefore = t.cluster
    .workers()
    .map((w) => w.pid)
    .sort();
});

after(async () => {
  await t?.close();
  for (const s of servers) await s.server.close();
  fs.rmSync(controlDir, { recursive: true, force: true });
});

const reachedFile = (point: string) => path.join(controlDir, `${point}.reached`);
const release = (point: string) => fs.writeFileSync(path.join(controlDir, `${point}.release`), '');
/** Arms a test point again: the next activity to reach it holds there. */
const rearm = (point: string) => {
  fs.rmSync(reachedFile(point), { force: true });
  fs.rmSync(path.join(controlDir, `${point}.release`), { force: true });
};
const reached = (point: string) =>
  waitFor(`an activity to hold at ${point}`, async () => fs.existsSync(reachedFile(point)), 300_000);

/** Restarts the server and returns when it is serving again, with how long it took. */
async function restartServer(how: 'stop' | 'kill'): Promise<{ ms: number; at: number }> {
  const oldPid = t.cluster.temporalServer().pid;
  const started = Date.now();
  await t.cluster.restartTemporalServer(how);
  const at = Date.now();
  assert.notEqual(t.cluster.temporalServer().pid, oldPid, 'a new server process');
  assert.ok(t.cluster.temporalServer().running());
  return { ms: at - started, at };
}

/**
 * Every worker process of the cluster is the one started before the restarts (none exited, none was started
 * again) and polls its queue on the new server: pollers last seen after `since` (the matching service keeps
 * pollers in memory only, so a poller listed at all came after the restart).
 */
async function assertWorkersReconnected(since: number): Promise<void> {
  const workers = t.cluster.workers();
  assert.deepEqual(workers.map((w) => w.pid).sort(), workerPidsBefore, 'the same worker processes, all still running');
  for (const w of workers) assert.ok(w.running(), `${w.name} is running`);
  for (const queue of TASK_QUEUES) {
    const expected = workers.filter((w) => w.spec.queues.includes(queue)).map((w) => w.pid);
    for (const taskQueueType of [TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW, TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY]) {
      await waitFor(
        `processes ${expected.join(', ')} to poll ${queue} (${TaskQueueType[taskQueueType]}) again`,
        async () => {
          const res = await t.client.workflowService
            .describeTaskQueue({ namespace: t.cluster.namespace, taskQueue: { name: queue }, taskQueueType })
            .catch(() => undefined);
          const polling = new Set(
            (res?.pollers ?? [])
              .filter((p) => Number(String(p.lastAccessTime?.seconds ?? 0)) * 1000 >= since - 1000)
              .map((p) => Number(String(p.identity).split('@')[0])),
          );
          return expected.every((pid) => polling.has(pid));
        },
        60_000,
      );
    }
  }
}

/** The runs a visibility query finds. */
async function list(query: string) {
  const found = [];
  for await (const wf of t.client.workflow.list({ query })) found.push(wf);
  return found;
}

test('Temporal server SIGKILLed mid-staging and stopped mid-load: the ingestion completes, exactly', {
  timeout: 600_000,
}, async () => {
  const faostat = servers[0]!;
  const version = await t.db.prisma.datasetVersion.findUniqueOrThrow({
    where: { id: faostat.versionId },
    include: { dataSource: true },
  });
  const ref = { vertical: version.dataSource.vertical, source: version.dataSource.name, version: version.version };
  manualWorkflowId = manualIngestionId(ref.source, ref.version, new Date().toISOString());
  // As startManualIngestion starts it (queue, id, search attributes), with a short retry backoff. The
  // heartbeat timeout stays well above a restart's few seconds: the running attempts are meant to survive
  // the restart in place, not be timed out and retried elsewhere.
  const handle = await t.client.workflow.start(ingestDatasetVersion, {
    taskQueue: 'agriculture',
    workflowId: manualWorkflowId,
    args: [
      {
        datasetVersionId: faostat.versionId,
        trigger: 'manual',
        retry: { initialIntervalMs: 500, heartbeatTimeoutMs: 30_000 },
      },
    ],
    typedSearchAttributes: startedIngestionAttributes(ref, 'manual'),
  });

  // A crash of the server while the staging activity streams the file.
  await reached('stage:mid');
  const stager = Number(fs.readFileSync(reachedFile('stage:mid'), 'utf8'));
  const crash = await restartServer('kill');
  console.log(`server SIGKILLed mid-staging and back in ${crash.ms} ms`);
  await assertWorkersReconnected(crash.at);
  release('stage:mid');

  // A clean stop of the server while the load holds its transaction open, every row merged.
  await reached('load:before-commit');
  const loader = Number(fs.readFileSync(reachedFile('load:before-commit'), 'utf8'));
  assert.equal(
    await t.db.prisma.observation.count({ where: { datasetVersionId: faostat.versionId } }),
    0,
    'nothing committed yet',
  );
  const stop = await restartServer('stop');
  console.log(`server stopped mid-load and back in ${stop.ms} ms`);
  await assertWorkersReconnected(stop.at);
  release('load:before-commit');

  const result = await handle.result();
  assert.equal(result.status, 'success');
  assert.equal(result.revision, 1);
  assert.equal(result.recordsAdded, ROWS);
  assert.equal(
    await t.db.prisma.observation.count({ where: { datasetVersionId: faostat.versionId } }),
    ROWS,
    'every row of the file, once',
  );
  assert.equal(await t.db.prisma.datasetRevision.count({ where: { datasetVersionId: faostat.versionId } }), 1);
  const logs = await t.db.prisma.ingestionLog.findMany({ where: { datasetVersionId: faostat.versionId } });
  assert.deepEqual(
    logs.map((l) => [l.status, l.workflowId]),
    [['success', manualWorkflowId]],
    'one ingestion, one log row',
  );
  assert.equal(await stagingTablesLeft(t.db.pool), 0);

  // The activities running through the restarts were neither timed out nor retried: each completed in its
  // first attempt, in the process that held it.
  for (const [activity, pid] of [
    ['stageSnapshot', stager],
    ['loadRevision', loader],
  ] as const) {
    const attempts = await attemptsOf(t.client, manualWorkflowId, activity);
    assert.equal(attempts.length, 1, `${activity}: ${JSON.stringify(attempts)}`);
    assert.equal(attempts[0]?.attempt, 1, `${activity}: ${JSON.stringify(attempts)}`);
    assert.match(attempts[0]?.identity ?? '', new RegExp(`^${pid}@`), `${activity} completed where it ran`);
  }
  await assertWorkersReconnected(stop.at);
});

test('Temporal server SIGKILLed while the scheduled master waits for its child: one child, both complete', {
  timeout: 600_000,
}, async () => {
  // A larger file for the same version: the master's child has a second revision to stage and load.
  const faostat = await serveLargeFaostat(t.db, ROWS + EXTRA);
  servers.push(faostat);
  rearm('load:before-commit');
  // Only faostat is due: the catalog's other sources point at the real public APIs, unreachable here.
  await t.db.pool.query(`UPDATE data_sources SET probe_every_tick = false WHERE name <> 'faostat'`);
  await t.db.pool.query(`UPDATE dataset_versions SET next_check_at = now() + interval '1 day' WHERE id <> $1`, [
    faostat.versionId,
  ]);
  await t.db.pool.query(`UPDATE dataset_versions SET next_check_at = now() - interval '1 minute' WHERE id = $1`, [
    faostat.versionId,
  ]);

  const schedule = t.client.schedule.getHandle(MASTER_SCHEDULE_ID);
  const actionsBefore = (await schedule.describe()).info.recentActions.length;
  await schedule.trigger();
  const master = await waitFor('the triggered master run to be recorded by the schedule', async () => {
    const action = (await schedule.describe()).info.recentActions[actionsBefore]?.action;
    return action?.type === 'startWorkflow' ? action.workflow : undefined;
  });
  const masterHandle = t.client.workflow.getHandle(master.workflowId, master.firstExecutionRunId);

  await reached('load:before-commit');
  const loader = Number(fs.readFileSync(reachedFile('load:before-commit'), 'utf8'));
  const progress = await masterHandle.query(masterProgressQuery);
  assert.equal(progress.scheduled, 1, 'the master started its one child');
  assert.equal(progress.inFlight, 1, 'and waits for it');
  const crash = await restartServer('kill');
  console.log(`server SIGKILLed mid-master and back in ${crash.ms} ms`);
  assert.equal((await masterHandle.describe()).status.name, 'RUNNING', 'the master runs on after the crash');
  await assertWorkersReconnected(crash.at);
  release('load:before-commit');

  const result: MasterResult = await masterHandle.result();
  assert.deepEqual(result, { checked: 1, scheduled: 1, skipped: 0, errors: 0, changed: 1, unchanged: 0 });

  // Exactly one child for the version: in the master's history (every run of it) and in visibility.
  const runs = await masterRuns(t.client, master.workflowId, master.firstExecutionRunId);
  assert.deepEqual(
    runs.map((r) => r.closedBy),
    ['completed'],
  );
  const childIds = runs.flatMap((r) => r.childIds);
  assert.equal(childIds.length, 1, `one child: ${JSON.stringify(childIds)}`);
  childWorkflowId = childIds[0]!;
  assert.match(childWorkflowId, /^ingest-faostat-current-\d{8}T\d{6}Z$/);
  const children = await waitFor('the child in visibility', async () => {
    const found = await list(`WorkflowId STARTS_WITH 'ingest-faostat-' AND TediTrigger = 'schedule'`);
    return found.length > 0 && found.every((w) => w.status.name === 'COMPLETED') ? found : undefined;
  });
  assert.deepEqual(
    children.map((c) => c.workflowId),
    [childWorkflowId],
    'one scheduled faostat ingestion',
  );
  const loads = await attemptsOf(t.client, childWorkflowId, 'loadRevision');
  assert.equal(loads.length, 1, `the child's load ran once: ${JSON.stringify(loads)}`);
  assert.match(loads[0]?.identity ?? '', new RegExp(`^${loader}@`));

  const child: IngestResult = await t.client.workflow.getHandle(childWorkflowId).result();
  assert.equal(child.status, 'success');
  assert.equal(child.revision, 2);
  assert.equal(child.recordsAdded, EXTRA);
  assert.equal(child.recordsSkipped, ROWS);
  const where = { datasetVersionId: faostat.versionId };
  assert.equal(await t.db.prisma.observation.count({ where: { ...where, validTo: null } }), ROWS + EXTRA);
  assert.equal(await t.db.prisma.observation.count({ where: { ...where, validFrom: 2 } }), EXTRA);
  assert.equal(await t.db.prisma.datasetRevision.count({ where }), 2);
  const logs = await t.db.prisma.ingestionLog.findMany({ where, orderBy: { id: 'asc' } });
  assert.deepEqual(
    logs.map((l) => [l.status, l.trigger, l.workflowId]),
    [
      ['success', 'manual', manualWorkflowId],
      ['success', 'schedule', childWorkflowId],
    ],
    'one log row per ingestion',
  );
  assert.equal(await stagingTablesLeft(t.db.pool), 0);
});

test('after three restarts: schedules, singletons, search attributes and visibility are all there', {
  timeout: 120_000,
}, async () => {
  for (const id of SCHEDULE_IDS) {
    const was = schedulesBefore.get(id)!;
    const now = await t.client.schedule.getHandle(id).describe();
    assert.deepEqual(now.spec, was.spec, `${id}: same spec`);
    assert.deepEqual(now.action, was.action, `${id}: same action`);
    assert.deepEqual(now.policies, was.policies, `${id}: same policies`);
    assert.equal(now.state.paused, false, `${id}: not paused`);
    assert.equal(now.state.note, was.state.note, `${id}: same note`);
    assert.ok(now.info.nextActionTimes.length > 0, `${id}: next runs planned`);
  }
  assert.equal(
    (await t.client.schedule.getHandle(MASTER_SCHEDULE_ID).describe()).info.recentActions.length,
    1,
    'the master schedule remembers its one (triggered) run',
  );

  for (const id of SINGLETON_IDS) {
    const d = await t.client.workflow.getHandle(id).describe();
    assert.equal(d.status.name, 'RUNNING', `${id} still running`);
  }
  // And served: a query needs a scheduler worker to replay the console.
  const status = await t.client.workflow.getHandle(OPERATOR_WORKFLOW_ID).query(operatorStatusQuery);
  assert.equal(typeof status.startedAt, 'string');

  const { customAttributes } = await t.connection.operatorService.listSearchAttributes({
    namespace: t.cluster.namespace,
  });
  for (const key of SEARCH_ATTRIBUTES) {
    assert.equal(customAttributes?.[key.name], IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD, `${key.name} registered`);
  }
  const faostatRuns = await list(`TediSource = 'faostat'`);
  assert.deepEqual(
    faostatRuns.map((w) => w.workflowId).sort(),
    [childWorkflowId, manualWorkflowId].sort(),
    'TediSource finds both ingestions',
  );
  for (const w of faostatRuns) assert.equal(w.status.name, 'COMPLETED');
  assert.deepEqual(
    (await list(`TediSource = 'faostat' AND TediOutcome = 'success' AND TediTrigger = 'manual'`)).map(
      (w) => w.workflowId,
    ),
    [manualWorkflowId],
  );
  assert.equal(
    (await list(`WorkflowType = 'masterScheduler' AND TediOutcome = 'success'`)).length,
    1,
    'the master run, searchable by outcome',
  );
  await assertWorkersReconnected(0);
});
