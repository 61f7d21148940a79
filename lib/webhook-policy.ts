// How TEDI delivers a webhook: the POST's time limit and the retry policy of each delivery, shared by the
// delivery workflow (which hands the policy to Temporal) and the delivery activity (which records the last
// attempt as "gave_up" rather than "retry"). Workflow-safe (no imports). Pinned in test/workflows/webhook-delivery.test.ts.

/** A receiver must answer within this time; a slower one is retried like a 500. */
export const WEBHOOK_TIMEOUT_MS = 10_000;

/**
 * Retries of one delivery: 10 s after the first failure, doubling, at most 1 h apart, 12 attempts in all
 * (the last one ~3 h 25 min after the first); then the delivery is recorded as failed and left for
 * `tedi redeliver`.
 */
export const WEBHOOK_RETRY = {
  initialIntervalMs: 10_000,
  backoffCoefficient: 2,
  maximumIntervalMs: 3_600_000,
  maximumAttempts: 12,
} as const;

/** The wait before attempt `attempt` (2, 3, ...) under WEBHOOK_RETRY, as Temporal computes it. */
export function webhookBackoffMs(attempt: number): number {
  const { initialIntervalMs, backoffCoefficient, maximumIntervalMs } = WEBHOOK_RETRY;
  return Math.min(initialIntervalMs * backoffCoefficient ** (attempt - 2), maximumIntervalMs);
}
