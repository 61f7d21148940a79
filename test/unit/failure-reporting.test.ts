// The pure parts of failure reporting: the pending-retry reading of `describe()`, the progress phrase
// built from it, the failure memo, the short failure text of narrow places, the attempt stamp, the log
// line's error serialisation and the SDK log forwarding (no task token). The real-server side is in
// test/workflows/failure-reporting.test.ts.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import type { LogEntry } from '@temporalio/worker';
import { failureFacts, stampAttempt } from '../../lib/failures';
import { createLogger, serializeError } from '../../lib/log';
import { forwardEntry } from '../../lib/logging';
import { pendingRetryOf } from '../../operations/temporal/pending-retry';
import { scheduleNotes } from '../../operations/temporal/schedules';
import { shortFailure } from '../../scripts/cli/failure-text';
import { describeProgress, describeRetry } from '../../scripts/cli/ingestion';
import type { IngestionProgress } from '../../workflows/definitions';
import { BREAKER_SKIPS, failureMemo, MEMO_ERROR_CHARS, NEXT_TICK } from '../../workflows/failure-memo';
import { CLEANUP_SCHEDULE_ID, MASTER_SCHEDULE_ID, RELIABILITY_SCHEDULE_ID } from '../../workflows/ids';

const seconds = (ms: number) => ({ seconds: { toNumber: () => Math.floor(ms / 1000) }, nanos: (ms % 1000) * 1e6 });

test('pendingRetryOf: the activity past its first attempt, with its bound, next time and last failure', () => {
  const next = Date.parse('2026-12-01T15:20:31.250Z');
  const retry = pendingRetryOf({
    pendingActivities: [
      { activityType: { name: 'beginIngestion' }, attempt: 1 },
      {
        activityType: { name: 'probeSource' },
        attempt: 4,
        maximumAttempts: 5,
        // The wire type is a protobuf Long; the reader only needs its toNumber().
        nextAttemptScheduleTime: seconds(next) as never,
        lastFailure: {
          message: 'src GET http://x.invalid/a: host not found',
          applicationFailureInfo: { type: 'SourceUnavailable' },
        },
      },
    ],
  });
  assert.deepEqual(retry, {
    activity: 'probeSource',
    attempt: 4,
    maximumAttempts: 5,
    nextAttemptAt: new Date(next),
    lastFailure: 'SourceUnavailable: src GET http://x.invalid/a: host not found',
  });
  // A first attempt that has not failed is no retry; maximumAttempts 0 is unlimited.
  assert.equal(pendingRetryOf({ pendingActivities: [{ activityType: { name: 'probeSource' }, attempt: 1 }] }), null);
  assert.equal(pendingRetryOf({}), null);
  const unlimited = pendingRetryOf({ pendingActivities: [{ attempt: 2, maximumAttempts: 0 }] });
  assert.equal(unlimited?.maximumAttempts, null);
  assert.equal(unlimited?.nextAttemptAt, null);
});

test('the progress line: attempt n of N, the next attempt (a countdown only when redrawn), the last failure', () => {
  const p: IngestionProgress = {
    source: 'src',
    version: 'current',
    stage: 'probe',
    outcome: 'running',
    recordsFetched: null,
    rowsTransformed: null,
    revision: null,
  };
  const retry = {
    activity: 'probeSource',
    attempt: 4,
    maximumAttempts: 5,
    nextAttemptAt: new Date('2026-12-01T15:20:31Z'),
    lastFailure: 'SourceUnavailable: src GET https://api.x.org/v2/a?page=1: host not found (ENOTFOUND api.x.org)',
  };
  assert.equal(
    describeProgress(p, retry),
    'probe, attempt 4 of 5, next at 15:20:31Z, last failure: SourceUnavailable: src GET api.x.org: host not found (ENOTFOUND api.x.org)',
  );
  assert.match(
    describeRetry(retry, new Date('2026-12-01T15:20:13Z')),
    /^attempt 4 of 5, next at 15:20:31Z \(in 18 s\), /,
  );
  assert.equal(describeRetry({ ...retry, maximumAttempts: null, nextAttemptAt: null, lastFailure: null }), 'attempt 4');
  assert.equal(describeProgress(p), 'probe');
  assert.equal(describeProgress({ ...p, stage: 'done', outcome: 'failed' }, retry), 'done, failed');
});

test('shortFailure: the request URL becomes its host; URLs in the quoted body stay', () => {
  assert.equal(
    shortFailure('fetch: src GET http://127.0.0.1:4000/a?key=***: connection refused (ECONNREFUSED 127.0.0.1:4000)'),
    'fetch: src GET 127.0.0.1:4000: connection refused (ECONNREFUSED 127.0.0.1:4000)',
  );
  assert.equal(
    shortFailure('src GET https://a.org/x answered HTTP 503: see https://status.a.org/now'),
    'src GET a.org answered HTTP 503: see https://status.a.org/now',
  );
});

test('failureMemo: the root cause, the attempts and what happens next', () => {
  const base = { errorClass: 'SourceUnavailable', error: 'probe: boom', maximumAttempts: 5 };
  assert.deepEqual(
    failureMemo({
      ...base,
      facts: { code: 'HTTP 503', host: 'api.x.org', status: 503, body: 'down', attempt: 5 },
      schedule: { consecutiveFailures: 2, breakerOpen: false, nextCheckAt: '2027-01-01T00:00:00.000Z' },
    }),
    {
      ...base,
      errorCode: 'HTTP 503',
      errorHost: 'api.x.org',
      httpStatus: 503,
      attempts: 5,
      breakerOpen: false,
      consecutiveFailures: 2,
      nextCheck: '2027-01-01T00:00:00.000Z',
    },
  );
  const open = failureMemo({
    ...base,
    facts: {},
    schedule: { consecutiveFailures: 5, breakerOpen: true, nextCheckAt: null },
  });
  assert.equal(open.nextCheck, BREAKER_SKIPS);
  assert.equal(open.attempts, undefined);
  const never = failureMemo({
    ...base,
    facts: {},
    schedule: { consecutiveFailures: 1, breakerOpen: false, nextCheckAt: null },
  });
  assert.equal(never.nextCheck, NEXT_TICK);
  // The bound on the message: exactly MEMO_ERROR_CHARS is kept whole, one more is cut.
  const whole = 'x'.repeat(MEMO_ERROR_CHARS);
  assert.equal(failureMemo({ ...base, error: whole, facts: {}, schedule: undefined }).error, whole);
  assert.equal(failureMemo({ ...base, error: `${whole}y`, facts: {}, schedule: undefined }).error, `${whole}…`);
});

test('stampAttempt: added to the facts (or as the only detail), never over details that are not facts', () => {
  const http = ApplicationFailure.create({
    message: 'm',
    type: 'SourceUnavailable',
    details: [{ code: 'ECONNRESET', host: 'h' }],
  });
  stampAttempt(http, 3);
  assert.deepEqual(failureFacts(http), { code: 'ECONNRESET', host: 'h', attempt: 3 });
  const bare = ApplicationFailure.nonRetryable('m', 'InvalidPayload');
  stampAttempt(bare, 1);
  assert.deepEqual(failureFacts(bare), { attempt: 1 });
  const other = ApplicationFailure.create({ message: 'm', details: ['someone else’s'] });
  stampAttempt(other, 2);
  assert.deepEqual(other.details, ['someone else’s']);
  assert.deepEqual(failureFacts(other), {});
});

test('serializeError: type, failure type, code and the whole cause chain; the stack only at the top', () => {
  const root = Object.assign(new Error('getaddrinfo ENOTFOUND x.invalid'), { code: 'ENOTFOUND' });
  const fetchFailed = new TypeError('fetch failed', { cause: root });
  const failure = ApplicationFailure.create({
    message: 'host not found',
    type: 'SourceUnavailable',
    cause: fetchFailed,
  });
  const s = serializeError(failure);
  assert.equal(s.type, 'ApplicationFailure');
  assert.equal(s.failureType, 'SourceUnavailable');
  assert.match(s.stack ?? '', /host not found/);
  assert.deepEqual(s.cause, {
    type: 'TypeError',
    message: 'fetch failed',
    cause: { type: 'Error', message: 'getaddrinfo ENOTFOUND x.invalid', code: 'ENOTFOUND' },
  });
  // A cycle ends; an AggregateError lists its errors.
  const a = new Error('a');
  a.cause = a;
  assert.equal(serializeError(a).cause, undefined);
  const agg = new AggregateError([new Error('v4 refused'), new Error('v6 refused')], 'both refused');
  assert.deepEqual(
    serializeError(agg).errors?.map((e) => e.message),
    ['v4 refused', 'v6 refused'],
  );
});

test('forwardEntry: an SDK entry as one JSON line, the error serialised, the task token dropped', () => {
  const lines: string[] = [];
  const log = createLogger('debug', { write: (line: string) => void lines.push(line) });
  const error = ApplicationFailure.create({ message: 'boom', type: 'SourceUnavailable', cause: new Error('inner') });
  const entry: LogEntry = {
    level: 'WARN',
    message: 'Activity failed',
    timestampNanos: 0n,
    meta: { taskToken: 'Cg1zZWNyZXQtdG9rZW4', activityId: '2', attempt: 3, error, big: 12n },
  };
  forwardEntry(log, entry);
  assert.equal(lines.length, 1);
  const line = JSON.parse(lines[0]!);
  assert.equal(line.level, 'warn');
  assert.equal(line.msg, 'Activity failed');
  assert.equal(line.activityId, '2');
  assert.equal(line.big, '12');
  assert.equal(line.error.type, 'ApplicationFailure');
  assert.equal(line.error.failureType, 'SourceUnavailable');
  assert.equal(line.error.cause.message, 'inner');
  assert.equal('taskToken' in line, false);
  assert.doesNotMatch(lines[0]!, /Cg1zZWNyZXQtdG9rZW4/);
  // Below the logger's level nothing is written.
  forwardEntry(createLogger('warn', { write: (l: string) => void lines.push(l) }), { ...entry, level: 'INFO' });
  assert.equal(lines.length, 1);
});

test('every schedule has a note saying what it does, with the configured numbers', () => {
  const notes = scheduleNotes({ masterInterval: '6h', logRetentionDays: 90, maxChildrenInFlight: 20 });
  assert.deepEqual(
    Object.keys(notes).sort(),
    [CLEANUP_SCHEDULE_ID, MASTER_SCHEDULE_ID, RELIABILITY_SCHEDULE_ID].sort(),
  );
  assert.match(notes[MASTER_SCHEDULE_ID]!, /every 6h.*at most 20 at once/);
  assert.match(notes[CLEANUP_SCHEDULE_ID]!, /older than 90 days/);
});
