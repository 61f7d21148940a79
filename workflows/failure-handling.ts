// How the ingestion workflow reacts to the two failures that are not the source's: TEDI's own database
// going away, and staging lost between stages. Workflow-safe (deterministic: workflow time and sleep).
import { ActivityFailure, ApplicationFailure, sleep } from '@temporalio/workflow';
import { FailureType } from '../lib/failures';

/**
 * The database's own retry schedule: 1 s, 2 s, 4 s, 8 s, then every 15 s, for up to 15 minutes. Short on
 * purpose: an ingestion resumes within 15 s of the database's return, not after the source's backoff
 * (which grows to 10 minutes between attempts).
 */
export const DATABASE_RETRY = {
  initialIntervalMs: 1000,
  backoffCoefficient: 2,
  maximumIntervalMs: 15_000,
  giveUpAfterMs: 15 * 60_000,
} as const;

/** Delay before the n-th retry (n ≥ 1) after a DatabaseUnavailable failure. */
export function databaseRetryDelayMs(retry: number): number {
  const { initialIntervalMs, backoffCoefficient, maximumIntervalMs } = DATABASE_RETRY;
  return Math.min(initialIntervalMs * backoffCoefficient ** (retry - 1), maximumIntervalMs);
}

/** The failure type of an activity failure (its ApplicationFailure cause), if any. */
export function failureTypeOf(err: unknown): string | undefined {
  const cause = err instanceof ActivityFailure && err.cause ? err.cause : err;
  return cause instanceof ApplicationFailure ? (cause.type ?? undefined) : undefined;
}

/** Runs an activity call again, on the database schedule, while it fails with DatabaseUnavailable. */
export async function retryWhileDatabaseDown<T>(call: () => Promise<T>): Promise<T> {
  const started = Date.now();
  for (let retry = 1; ; retry++) {
    try {
      return await call();
    } catch (err) {
      const elapsed = Date.now() - started;
      if (failureTypeOf(err) !== FailureType.DatabaseUnavailable || elapsed > DATABASE_RETRY.giveUpAfterMs) throw err;
      await sleep(databaseRetryDelayMs(retry));
    }
  }
}

/** Staging lost twice in one run is not bad luck any more: the second StagingLost fails the run. */
export const MAX_STAGING_PASSES = 2;
