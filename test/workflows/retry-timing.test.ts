// The production retry policy, where hours must pass: on the Java time-skipping test server a
// Retry-After of one hour and a full backoff sequence take seconds of real time.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import { WorkflowFailedError } from '@temporalio/client';
import { ingestDatasetVersion } from '../../workflows/ingest-dataset-version';
import { textResponse } from '../fixtures/fixture-server';
import { type Harness, startHarness } from '../helpers/harness';
import { logsOf } from '../helpers/ingest';

let h: Harness;
before(async () => {
  h = await startHarness({ timeSkipping: true });
});
after(async () => {
  await h?.stop();
});

/** Runs one ingestion with the production retry policy (no override); returns the workflow time it took. */
async function timedIngestion(source: string) {
  const datasetVersionId = await h.versionId(source);
  const vertical = source.replace('world_bank_', '');
  const handle = await h.env.client.workflow.start(ingestDatasetVersion, {
    taskQueue: vertical,
    workflowId: `test-timing-${randomUUID()}`,
    args: [{ datasetVersionId, trigger: 'manual' }],
  });
  const outcome = await handle.result().then(
    (result) => ({ result, error: undefined }),
    (error: unknown) => ({ result: undefined, error }),
  );
  // The server's (skipped) clock stamps each event: first to last is the time the run took.
  const events = (await handle.fetchHistory()).events ?? [];
  const stamp = (e: (typeof events)[number] | undefined) => {
    const t = e?.eventTime;
    return Number(t?.seconds ?? 0) * 1000 + Math.floor((t?.nanos ?? 0) / 1e6);
  };
  return { ...outcome, elapsedMs: stamp(events.at(-1)) - stamp(events[0]) };
}

test("a 429's Retry-After of one hour is honoured, then the ingestion succeeds", async () => {
  h.fixture.faults.failNext(1, 429, { retryAfter: 3600 });
  const { result, error, elapsedMs } = await timedIngestion('world_bank_agriculture');
  assert.equal(error, undefined);
  assert.equal(result?.status, 'success');
  assert.ok(elapsedMs >= 3600_000, `waited ${elapsedMs} ms of workflow time, expected at least one hour`);
  assert.ok(elapsedMs < 2 * 3600_000, `and not the default backoff on top of it (took ${elapsedMs} ms)`);
});

test('a source that stays down is retried with backoff (10 s, 20 s, 40 s, 80 s) and then logged as failed', async () => {
  const before = h.fixture.requests.length;
  h.setHandler(() => textResponse('maintenance', 503));
  try {
    const { error, elapsedMs } = await timedIngestion('world_bank_employment');
    assert.ok(error instanceof WorkflowFailedError);
    assert.match(String(error.cause?.message), /failed during probe: .*HTTP 503/);
    assert.equal(h.fixture.requests.length - before, 5, 'five attempts, the policy maximum');
    assert.ok(elapsedMs >= 150_000, `backoff took ${elapsedMs} ms of workflow time`);
  } finally {
    h.setHandler(null);
  }
  const [log] = await logsOf(h, 'world_bank_employment');
  assert.equal(log?.status, 'failed');
  assert.equal(log?.errorClass, 'SourceUnavailable');
});
