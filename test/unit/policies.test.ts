// Documented policies pinned by their numbers, not by the constants that implement them: each test here
// fails when the policy changes (README "How it works"). Policies that live in SQL or need a workflow are
// pinned in test/workflows/policies.test.ts; the backoff schedule in test/workflows/retry-timing.test.ts.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { FailureType } from '../../lib/failures';
import { markChecked, type ScheduleState } from '../../lib/scheduling/frequency';
import { HttpClient, parseRetryAfter } from '../../sources/kit/http/http-client';
import { type FixtureServer, startFixtureServer, textResponse } from '../fixtures/fixture-server';
import { assertFailure } from '../helpers/assertions';

describe('circuit breaker threshold: five consecutive failed ingestions', () => {
  const now = new Date('2026-03-01T12:00:00Z');
  const due = new Date('2026-02-01T00:00:00Z');
  const closed: ScheduleState = {
    checkEnabled: true,
    nextCheckAt: due,
    lastCheckedAt: null,
    consecutiveFailures: 0,
    breakerOpenedAt: null,
  };
  const fail = (s: ScheduleState, times: number) => {
    let state = s;
    for (let i = 0; i < times; i++) state = markChecked(state, 'annual', 'failed', now);
    return state;
  };

  test('four failures leave it closed and the version due', () => {
    const state = fail(closed, 4);
    assert.equal(state.consecutiveFailures, 4);
    assert.equal(state.breakerOpenedAt, null);
    assert.equal(state.nextCheckAt, due, 'a failed version stays due for the next master run');
  });

  test('the fifth opens it', () => {
    const state = fail(closed, 5);
    assert.equal(state.consecutiveFailures, 5);
    assert.equal(state.breakerOpenedAt, now);
  });

  test('a success or no_change in between starts the count again', () => {
    for (const outcome of ['success', 'no_change'] as const) {
      const state = fail(markChecked(fail(closed, 4), 'annual', outcome, now), 4);
      assert.equal(state.consecutiveFailures, 4);
      assert.equal(state.breakerOpenedAt, null, `after ${outcome}, four more failures do not open it`);
    }
  });
});

describe('Retry-After: delta-seconds and HTTP-date', () => {
  const now = Date.parse('2026-10-21T07:28:00Z');

  test('delta-seconds are exact milliseconds', () => {
    assert.equal(parseRetryAfter('0', now), 0);
    assert.equal(parseRetryAfter('7', now), 7_000);
    assert.equal(parseRetryAfter('3600', now), 3_600_000);
  });

  test('an HTTP-date is the time left until it (IMF-fixdate, and the obsolete RFC 850 form)', () => {
    assert.equal(parseRetryAfter('Wed, 21 Oct 2026 07:29:30 GMT', now), 90_000);
    assert.equal(parseRetryAfter('Wednesday, 21-Oct-26 08:28:00 GMT', now), 3_600_000);
  });

  test('a date in the past means retry now; absent or unreadable means backoff', () => {
    assert.equal(parseRetryAfter('Wed, 21 Oct 2026 07:00:00 GMT', now), 0);
    assert.equal(parseRetryAfter(null, now), undefined);
    assert.equal(parseRetryAfter('', now), undefined);
    assert.equal(parseRetryAfter('soon', now), undefined);
    assert.equal(parseRetryAfter('-5', now), undefined);
  });

  describe('over loopback HTTP: the 429 becomes RateLimited with that delay', () => {
    let server: FixtureServer;
    before(async () => {
      server = await startFixtureServer(() => textResponse('ok'));
    });
    after(async () => {
      await server?.close();
    });
    const client = () => new HttpClient({ rateLimitPerSecond: 1000, timeoutMs: 5000, sourceName: 'policy' });

    test('Retry-After: 120 → next retry in exactly 120 s', async () => {
      server.faults.failNext(1, 429, { retryAfter: 120 });
      await assertFailure(client().request(`${server.url}/x`), FailureType.RateLimited, (f) => {
        assert.equal(f.nextRetryDelay, 120_000);
        assert.equal(f.nonRetryable, false);
      });
    });

    test('Retry-After as an HTTP-date two minutes ahead → next retry in about 120 s', async () => {
      // HTTP-dates have whole seconds: the delay is 120 s minus the sub-second part already gone.
      const at = new Date(Math.ceil(Date.now() / 1000) * 1000 + 120_000);
      server.faults.failNext(1, 429, { retryAfter: at.toUTCString() });
      const sent = Date.now();
      await assertFailure(client().request(`${server.url}/x`), FailureType.RateLimited, (f) => {
        const delay = Number(f.nextRetryDelay);
        assert.ok(delay <= at.getTime() - sent, `delay ${delay} ms is at most the time left`);
        assert.ok(delay >= 118_000, `delay ${delay} ms is about two minutes, not a default backoff`);
      });
    });

    test('a 403 with an HTTP-date Retry-After is throttling too (Comtrade)', async () => {
      const at = new Date(Date.now() + 3_600_000);
      server.faults.failNext(1, 403, { retryAfter: at.toUTCString() });
      await assertFailure(client().request(`${server.url}/x`), FailureType.RateLimited, (f) => {
        const delay = Number(f.nextRetryDelay);
        assert.ok(delay > 3_595_000 && delay <= 3_600_000, `delay ${delay} ms`);
      });
    });
  });
});
