// When one HTTP request is tried again inside the same activity attempt, and after how long. A 502 on page
// 40 of 40 costs one more request of page 40 instead of an activity retry that downloads all 40 pages
// again. Pure (no I/O, no clock, randomness injected) so the numbers are pinned by
// test/unit/retry-policy.test.ts; the client that applies it is http-client.ts.
//
// Policy (README "HTTP client"): idempotent requests only; retried on network errors and timeouts before
// the response headers, 408, 429, 403 with Retry-After, and 5xx; never on any other 4xx. At most
// `maxRetries` extra tries (data_source_configs.max_retries, default 5). Delay before extra try k:
// equal jitter, uniform in [d/2, d] with d = min(30 s, 1 s × 2^(k-1)): 0.5-1, 1-2, 2-4, 4-8, 8-16 s, then
// 15-30 s. Equal rather than full jitter: full jitter may retry at once (delay 0) and hammer a server
// that has just failed, equal jitter always waits at least half the step while still spreading clients
// apart. A Retry-After (seconds or HTTP date) replaces the backoff when it is at most 120 s; a longer one
// is not waited here: the request fails as today (RateLimited with nextRetryDelay) and Temporal waits.

export interface RetryTiming {
  /** Backoff step of the first extra try (before jitter). */
  baseDelayMs: number;
  /** Largest backoff step (before jitter). */
  maxDelayMs: number;
  /** Longest Retry-After waited inside the attempt; a longer one is handed to Temporal. */
  maxRetryAfterMs: number;
}

/** The production numbers. Tests of the client shrink them through HttpClientOptions.retryTiming. */
export const RETRY_TIMING: Readonly<RetryTiming> = Object.freeze({
  baseDelayMs: 1_000,
  maxDelayMs: 30_000,
  maxRetryAfterMs: 120_000,
});

/** Default of data_source_configs.max_retries (the column's own default): extra tries per request. */
export const DEFAULT_MAX_RETRIES = 5;

/** What one try ended with, as far as the retry decision cares. */
export type TryOutcome =
  /** A response that is neither 2xx nor accepted by the caller. */
  | { kind: 'status'; status: number; hasRetryAfter: boolean; retryAfterMs?: number }
  /** No response headers: connection refused or reset, DNS, TLS, or the client's own timeout. */
  | { kind: 'network' };

export type RetryDecision =
  | { retry: true; delayMs: number; basis: 'backoff' | 'retry-after' }
  | {
      retry: false;
      why: 'not-idempotent' | 'not-retryable' | 'exhausted' | 'retry-after-too-long' | 'no-time-left';
    };

/** Statuses that say "not now" rather than "not this request". */
export function isRetryable(outcome: TryOutcome): boolean {
  if (outcome.kind === 'network') return true;
  const { status } = outcome;
  // 403 alone is a refusal; with Retry-After it is throttling (UN Comtrade's quota answer).
  return status === 408 || status === 429 || status >= 500 || (status === 403 && outcome.hasRetryAfter);
}

/** Delay before extra try `k` (1 = the first retry), equal jitter; `random` returns a number in [0, 1). */
export function backoffDelayMs(k: number, timing: RetryTiming = RETRY_TIMING, random: () => number = Math.random) {
  // 2 ** (k - 1) overflows to Infinity for huge k, which min() turns into the cap: no NaN.
  const step = Math.min(timing.maxDelayMs, timing.baseDelayMs * 2 ** Math.max(0, k - 1));
  return Math.round(step / 2 + random() * (step / 2));
}

export interface RetryInput {
  outcome: TryOutcome;
  /** Tries made so far, the one that just failed included (1 after the first). */
  tries: number;
  /** Extra tries allowed after the first (data_source_configs.max_retries). */
  maxRetries: number;
  /** GET, or a POST its caller marked idempotent. Anything else is sent once. */
  idempotent: boolean;
  /** Time left in the activity attempt; a wait that would not end within it is not started. */
  timeLeftMs?: number;
  timing?: RetryTiming;
  random?: () => number;
}

/** Whether to try the request again, and after how long. */
export function decideRetry(input: RetryInput): RetryDecision {
  const timing = input.timing ?? RETRY_TIMING;
  const { outcome } = input;
  if (!input.idempotent) return { retry: false, why: 'not-idempotent' };
  if (!isRetryable(outcome)) return { retry: false, why: 'not-retryable' };
  if (input.tries > input.maxRetries) return { retry: false, why: 'exhausted' };
  const retryAfter = outcome.kind === 'status' ? outcome.retryAfterMs : undefined;
  if (retryAfter !== undefined && retryAfter > timing.maxRetryAfterMs)
    return { retry: false, why: 'retry-after-too-long' };
  const decision: RetryDecision =
    retryAfter !== undefined
      ? { retry: true, delayMs: retryAfter, basis: 'retry-after' }
      : { retry: true, delayMs: backoffDelayMs(input.tries, timing, input.random), basis: 'backoff' };
  // Waiting past the attempt's deadline only turns a typed failure into a timeout: hand it to Temporal now.
  if (input.timeLeftMs !== undefined && decision.delayMs >= input.timeLeftMs)
    return { retry: false, why: 'no-time-left' };
  return decision;
}
