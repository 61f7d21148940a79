// The in-attempt retry policy pinned by its numbers (README "HTTP client"): which failures are tried
// again, after how long (base 1 s, doubling, cap 30 s, equal jitter), how long a Retry-After may be
// waited here (120 s), and how many extra tries (5). Each boundary is tested on both sides, so changing
// any of the numbers fails a test here, not only the constant that holds it.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import {
  backoffDelayMs,
  DEFAULT_MAX_RETRIES,
  decideRetry,
  isRetryable,
  type RetryInput,
  type TryOutcome,
} from '../../sources/kit/http/retry-policy';

const status = (s: number, retryAfterMs?: number, hasRetryAfter = retryAfterMs !== undefined): TryOutcome => ({
  kind: 'status',
  status: s,
  hasRetryAfter,
  retryAfterMs,
});
const network: TryOutcome = { kind: 'network' };
/** Just under 1: Math.random never returns 1 itself. */
const TOP = 1 - 1e-12;

function decide(overrides: Partial<RetryInput>): ReturnType<typeof decideRetry> {
  return decideRetry({
    outcome: status(503),
    tries: 1,
    maxRetries: DEFAULT_MAX_RETRIES,
    idempotent: true,
    ...overrides,
  });
}

describe('what is retried', () => {
  test('network errors and timeouts before the headers, 408, 429, every 5xx', () => {
    for (const outcome of [network, status(408), status(429), status(500), status(502), status(503), status(504)]) {
      assert.equal(isRetryable(outcome), true, JSON.stringify(outcome));
    }
    assert.equal(isRetryable(status(599)), true);
  });

  test('403 only with a Retry-After (throttling, as Comtrade sends it), even an unreadable one', () => {
    assert.equal(isRetryable(status(403, 2000)), true);
    assert.equal(isRetryable(status(403, undefined, true)), true);
    assert.equal(isRetryable(status(403)), false);
  });

  test('no other 4xx, with or without Retry-After', () => {
    for (const s of [400, 401, 404, 405, 409, 410, 413, 422, 451, 499]) {
      assert.equal(isRetryable(status(s)), false, `HTTP ${s}`);
      assert.equal(decide({ outcome: status(s, 1000) }).retry, false, `HTTP ${s} with Retry-After`);
    }
  });

  test('a request not known to be idempotent (a plain POST) is never retried', () => {
    assert.deepEqual(decide({ idempotent: false }), { retry: false, why: 'not-idempotent' });
    assert.deepEqual(decide({ idempotent: false, outcome: network }), { retry: false, why: 'not-idempotent' });
  });
});

describe('how many tries: 5 extra by default (data_source_configs.max_retries)', () => {
  test('the default is 5, and the column says the same', () => {
    assert.equal(DEFAULT_MAX_RETRIES, 5);
    const schema = fs.readFileSync(path.join(__dirname, '..', '..', 'prisma', 'schema.prisma'), 'utf8');
    const column = /maxRetries\s+Int\s+@default\((\d+)\)\s+@map\("max_retries"\)/.exec(schema);
    assert.equal(Number(column?.[1]), DEFAULT_MAX_RETRIES, 'data_source_configs.max_retries default');
  });

  test('after the 5th try a 6th is made; after the 6th, none', () => {
    assert.equal(decide({ tries: 5 }).retry, true);
    assert.deepEqual(decide({ tries: 6 }), { retry: false, why: 'exhausted' });
  });

  test('max_retries 0 tries once; 1 tries twice', () => {
    assert.deepEqual(decide({ maxRetries: 0, tries: 1 }), { retry: false, why: 'exhausted' });
    assert.equal(decide({ maxRetries: 1, tries: 1 }).retry, true);
    assert.deepEqual(decide({ maxRetries: 1, tries: 2 }), { retry: false, why: 'exhausted' });
  });
});

describe('backoff: equal jitter in [d/2, d], d = min(30 s, 1 s x 2^(k-1))', () => {
  // Extra try k -> [lower, upper] in ms.
  const bounds: Array<[number, number, number]> = [
    [1, 500, 1_000],
    [2, 1_000, 2_000],
    [3, 2_000, 4_000],
    [4, 4_000, 8_000],
    [5, 8_000, 16_000],
    [6, 15_000, 30_000],
    [7, 15_000, 30_000],
    [60, 15_000, 30_000],
  ];

  test('lowest and highest delay of each extra try', () => {
    for (const [k, lower, upper] of bounds) {
      assert.equal(
        backoffDelayMs(k, undefined, () => 0),
        lower,
        `extra try ${k}, lowest`,
      );
      assert.equal(
        backoffDelayMs(k, undefined, () => TOP),
        upper,
        `extra try ${k}, highest`,
      );
      assert.equal(
        backoffDelayMs(k, undefined, () => 0.5),
        (lower + upper) / 2,
        `extra try ${k}, middle`,
      );
    }
  });

  test('the cap sits between the 5th step (16 s, uncapped) and the 6th (32 s, capped to 30 s)', () => {
    assert.equal(
      backoffDelayMs(5, undefined, () => TOP),
      16_000,
    );
    assert.equal(
      backoffDelayMs(6, undefined, () => TOP),
      30_000,
    );
    assert.equal(
      backoffDelayMs(6, undefined, () => 0),
      15_000,
    );
  });

  test('real randomness stays inside the bounds', () => {
    for (const [k, lower, upper] of bounds) {
      for (let i = 0; i < 200; i++) {
        const d = backoffDelayMs(k);
        assert.ok(d >= lower && d <= upper, `extra try ${k}: ${d} ms outside [${lower}, ${upper}]`);
      }
    }
  });

  test('decideRetry uses that backoff, the first retry after try 1', () => {
    assert.deepEqual(decide({ tries: 1, random: () => 0 }), { retry: true, delayMs: 500, basis: 'backoff' });
    assert.deepEqual(decide({ tries: 5, random: () => TOP }), { retry: true, delayMs: 16_000, basis: 'backoff' });
    // A 429 without Retry-After, and a network error, back off the same way.
    assert.deepEqual(decide({ outcome: status(429), random: () => 0 }), {
      retry: true,
      delayMs: 500,
      basis: 'backoff',
    });
    assert.deepEqual(decide({ outcome: network, tries: 2, random: () => TOP }), {
      retry: true,
      delayMs: 2_000,
      basis: 'backoff',
    });
  });
});

describe('Retry-After: waited here up to 120 s, exactly', () => {
  test('it replaces the backoff, with no jitter', () => {
    assert.deepEqual(decide({ outcome: status(429, 3_000), random: () => TOP }), {
      retry: true,
      delayMs: 3_000,
      basis: 'retry-after',
    });
    assert.deepEqual(decide({ outcome: status(503, 0) }), { retry: true, delayMs: 0, basis: 'retry-after' });
    assert.deepEqual(decide({ outcome: status(403, 2_000) }), { retry: true, delayMs: 2_000, basis: 'retry-after' });
  });

  test('120 s is waited; 120.001 s is handed to Temporal', () => {
    assert.deepEqual(decide({ outcome: status(429, 120_000) }), {
      retry: true,
      delayMs: 120_000,
      basis: 'retry-after',
    });
    assert.deepEqual(decide({ outcome: status(429, 120_001) }), { retry: false, why: 'retry-after-too-long' });
    assert.deepEqual(decide({ outcome: status(503, 3_600_000) }), { retry: false, why: 'retry-after-too-long' });
  });

  test('an unreadable Retry-After means backoff', () => {
    assert.deepEqual(decide({ outcome: status(429, undefined, true), random: () => 0 }), {
      retry: true,
      delayMs: 500,
      basis: 'backoff',
    });
  });

  test('the tries still run out, Retry-After or not', () => {
    assert.deepEqual(decide({ outcome: status(429, 1_000), tries: 6 }), { retry: false, why: 'exhausted' });
  });
});

describe("the activity attempt's deadline", () => {
  test('a wait that would end at or after it is not started', () => {
    assert.deepEqual(decide({ outcome: status(429, 1_000), timeLeftMs: 1_000 }), { retry: false, why: 'no-time-left' });
    assert.equal(decide({ outcome: status(429, 1_000), timeLeftMs: 1_001 }).retry, true);
    assert.deepEqual(decide({ random: () => TOP, timeLeftMs: 999 }), { retry: false, why: 'no-time-left' });
  });
});

describe('timing is a parameter (tests of the client shrink it); the defaults are the production numbers', () => {
  test('a custom timing is used as given', () => {
    const timing = { baseDelayMs: 10, maxDelayMs: 40, maxRetryAfterMs: 50 };
    assert.equal(
      backoffDelayMs(1, timing, () => TOP),
      10,
    );
    assert.equal(
      backoffDelayMs(4, timing, () => TOP),
      40,
    );
    assert.deepEqual(decide({ outcome: status(429, 51), timing }), { retry: false, why: 'retry-after-too-long' });
  });
});
