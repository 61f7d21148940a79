// The production retry policy, where hours must pass: on the Java time-skipping test server a
// Retry-After of one hour and a full backoff sequence take seconds of real time.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import { WorkflowFailedError } from '@temporalio/client';
import type { IngestInput } from '../../workflows/ingest-dataset-version';
import { ingestDatasetVersion } from '../../workflows/ingest-dataset-version';
import { type FixtureRequest, type FixtureResponse, textResponse } from '../fixtures/fixture-server';
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
async function timedIngestion(source: string, extra: Partial<IngestInput> = {}) {
  const datasetVersionId = await h.versionId(source);
  const vertical = source.replace('world_bank_', '');
  const handle = await h.env.client.workflow.start(ingestDatasetVersion, {
    taskQueue: vertical,
    workflowId: `test-timing-${randomUUID()}`,
    args: [{ datasetVersionId, trigger: 'manual', ...extra }],
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

/**
 * Serves the fixture through `answer` and notes the test server's (skipped) clock at every request, so the
 * gap between two attempts is the delay the retry policy chose. Returns those times (ms).
 */
function clockedRequests(answer: (n: number, req: FixtureRequest) => FixtureResponse | Promise<FixtureResponse>) {
  const times: number[] = [];
  h.setHandler(async (req) => {
    times.push(await h.env.currentTimeMs());
    return answer(times.length, req);
  });
  return times;
}

const gaps = (times: number[]) => times.slice(1).map((t, i) => t - times[i]!);

/** Each gap within [expected, expected + 2 s]: the delay itself, plus the real time an attempt takes. */
function assertGaps(times: number[], expectedSeconds: number[]) {
  const seconds = gaps(times).map((g) => g / 1000);
  assert.equal(seconds.length, expectedSeconds.length, `attempt gaps ${seconds.join(', ')} s`);
  expectedSeconds.forEach((expected, i) => {
    const got = seconds[i]!;
    assert.ok(
      got >= expected && got <= expected + 2,
      `gap before attempt ${i + 2} was ${got} s, expected ${expected} s (all: ${seconds.join(', ')})`,
    );
  });
}

const down = () => textResponse('maintenance', 503);

test('the production backoff: 10 s, then doubling (20, 40, 80 s), five attempts in all', async () => {
  const times = clockedRequests(down);
  try {
    const { error } = await timedIngestion('world_bank_business');
    assert.ok(error instanceof WorkflowFailedError);
  } finally {
    h.setHandler(null);
  }
  assertGaps(times, [10, 20, 40, 80]);
});

test('the backoff interval is capped at 10 minutes (with more attempts allowed for one run)', async () => {
  const times = clockedRequests(down);
  try {
    const { error } = await timedIngestion('world_bank_business', { retry: { maximumAttempts: 8 } });
    assert.ok(error instanceof WorkflowFailedError);
  } finally {
    h.setHandler(null);
  }
  assertGaps(times, [10, 20, 40, 80, 160, 320, 600]);
});

test("a 429's Retry-After replaces the backoff: 90 s in seconds, then an HTTP-date 30 min ahead", async () => {
  const throttled = (retryAfter: string): FixtureResponse => ({
    ...textResponse('slow down', 429),
    headers: { 'content-type': 'text/plain', 'retry-after': retryAfter },
  });
  const times = clockedRequests((n, req) => {
    if (n === 1) return throttled('90');
    // The worker computes an HTTP-date's delay from its own (real) clock.
    if (n === 2) return throttled(new Date(Date.now() + 30 * 60_000).toUTCString());
    return h.worldBank.handler(req);
  });
  try {
    const { result, error } = await timedIngestion('world_bank_business');
    assert.equal(error, undefined);
    assert.equal(result?.status === 'success' || result?.status === 'no_change', true, String(result?.status));
  } finally {
    h.setHandler(null);
  }
  const [first, second] = gaps(times).map((g) => g / 1000);
  assert.ok(first !== undefined && first >= 90 && first <= 93, `waited ${first} s after Retry-After: 90`);
  // Whole seconds in the date: up to one second less than 30 minutes.
  assert.ok(second !== undefined && second >= 1799 && second <= 1803, `waited ${second} s for the HTTP-date`);
});
