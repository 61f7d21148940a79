// The ingestion workflow's own handling of the failures that are not the source's, pinned on the
// time-skipping server with stand-in activities (the workflow code is the real one; only the I/O is
// played): DatabaseUnavailable is retried on the database schedule (1, 2, 4, 8, then every 15 s, for
// 15 minutes), and StagingLost stages the snapshot again once, never more.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import type { IngestionPlan } from '../../activities/ingestion/types';
import { FailureType } from '../../lib/failures';
import { workflowBundle } from '../../workers/create-workers';
import { DATABASE_RETRY, databaseRetryDelayMs, MAX_STAGING_PASSES } from '../../workflows/failure-handling';
import { ingestDatasetVersion } from '../../workflows/ingest-dataset-version';
import { startTimeSkippingTemporal } from '../helpers/temporal';

const QUEUE = 'failure-handling';
let env: TestWorkflowEnvironment;
let worker: Worker;
let running: Promise<void>;
/** What each stand-in activity does next; reset per test. */
let script: {
  probeFailures: number;
  probeFailsForever: boolean;
  stagingLostTimes: number;
  calls: Record<string, number>;
};

const plan: IngestionPlan = {
  logId: '1',
  datasetVersionId: 1,
  source: 'stand_in',
  version: 'current',
  vertical: 'business',
  frequency: 'annual',
  checkable: true,
  blockedReason: null,
  lastProbeToken: null,
  lastChecksum: null,
  currentRevision: 0,
};

const count = (name: string) => {
  script.calls[name] = (script.calls[name] ?? 0) + 1;
};
const databaseDown = () =>
  ApplicationFailure.create({
    message: 'connect ECONNREFUSED',
    type: FailureType.DatabaseUnavailable,
    nonRetryable: true,
  });

const activities = {
  async beginIngestion() {
    return plan;
  },
  async finishIngestion() {
    return { consecutiveFailures: 0, breakerOpen: false, nextCheckAt: null };
  },
  async probeSource() {
    count('probe');
    if (script.probeFailsForever || script.calls.probe! <= script.probeFailures) throw databaseDown();
    return { token: 't', note: null };
  },
  async stageSnapshot() {
    count('stage');
    return {
      records: 3,
      bytes: 10,
      rows: 3,
      rejected: 0,
      checksum: 'c',
      stagingTable: 'tedi_staging.run_x',
    };
  },
  async loadRevision() {
    count('load');
    if (script.calls.load! <= script.stagingLostTimes) {
      throw ApplicationFailure.nonRetryable('staging was lost', FailureType.StagingLost);
    }
    return {
      changed: true,
      revision: 1,
      recordsAdded: 3,
      recordsUpdated: 0,
      recordsUnchanged: 0,
      recordsRemoved: 0,
      recordsKept: 0,
      acceptedOverride: null,
    };
  },
};

before(async () => {
  env = await startTimeSkippingTemporal();
  worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue: QUEUE,
    workflowBundle: await workflowBundle(),
    activities,
  });
  running = worker.run();
});
after(async () => {
  worker?.shutdown();
  await running;
  await env?.teardown();
});

function reset(changes: Partial<typeof script> = {}): void {
  script = { probeFailures: 0, probeFailsForever: false, stagingLostTimes: 0, calls: {}, ...changes };
}

async function ingest() {
  const handle = await env.client.workflow.start(ingestDatasetVersion, {
    taskQueue: QUEUE,
    workflowId: `failure-handling-${randomUUID()}`,
    args: [{ datasetVersionId: 1, trigger: 'manual', retry: { initialIntervalMs: 50, maximumAttempts: 2 } }],
  });
  const outcome = await handle.result().then(
    (result) => ({ result, error: undefined }),
    (error: Error & { cause?: unknown }) => ({ result: undefined, error }),
  );
  const history = await handle.fetchHistory();
  const timersMs = (history.events ?? [])
    .map((e) => e.timerStartedEventAttributes?.startToFireTimeout)
    .filter((t) => t != null)
    .map((t) => Number(t.seconds ?? 0) * 1000 + Math.round((t.nanos ?? 0) / 1e6));
  return { ...outcome, timersMs };
}

describe('the database schedule', () => {
  test('delays: 1 s, 2 s, 4 s, 8 s, then every 15 s; given up after 15 minutes', () => {
    assert.deepEqual(
      [1, 2, 3, 4, 5, 6, 20].map(databaseRetryDelayMs),
      [1000, 2000, 4000, 8000, 15_000, 15_000, 15_000],
    );
    assert.equal(DATABASE_RETRY.giveUpAfterMs, 15 * 60_000);
  });

  test('a probe that meets a down database five times is retried on that schedule and succeeds', async () => {
    reset({ probeFailures: 5 });
    const { result, timersMs } = await ingest();
    assert.equal(result?.status, 'success');
    assert.equal(script.calls.probe, 6);
    assert.deepEqual(timersMs, [1000, 2000, 4000, 8000, 15_000]);
  });

  test('a database down for good fails the run as DatabaseUnavailable after 15 minutes, not sooner', async () => {
    reset({ probeFailsForever: true });
    const { error, timersMs } = await ingest();
    const cause = error?.cause as ApplicationFailure | undefined;
    assert.match(String(cause?.message), /failed during probe: connect ECONNREFUSED/);
    assert.equal(cause?.type, FailureType.DatabaseUnavailable);
    const waited = timersMs.reduce((a, b) => a + b, 0);
    assert.ok(waited >= DATABASE_RETRY.giveUpAfterMs, `waited ${waited} ms`);
    assert.ok(waited <= DATABASE_RETRY.giveUpAfterMs + DATABASE_RETRY.maximumIntervalMs, `waited ${waited} ms`);
  });
});

describe('staging lost', () => {
  test('once: the snapshot is staged again, and the run succeeds', async () => {
    reset({ stagingLostTimes: 1 });
    const { result } = await ingest();
    assert.equal(result?.status, 'success');
    assert.deepEqual(script.calls, { probe: 1, stage: 2, load: 2 });
  });

  test(`${MAX_STAGING_PASSES} times in a row: the run fails as StagingLost instead of looping`, async () => {
    assert.equal(MAX_STAGING_PASSES, 2);
    reset({ stagingLostTimes: 99 });
    const { error } = await ingest();
    assert.equal((error?.cause as ApplicationFailure | undefined)?.type, FailureType.StagingLost);
    assert.deepEqual(script.calls, { probe: 1, stage: 2, load: 2 });
  });
});
