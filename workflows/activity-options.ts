// Timeouts and retry policies per stage. Sources that are down or throttling are retried with
// backoff (a 429's Retry-After overrides the backoff: see sources/kit/http); payloads we cannot
// parse, requests the source rejects and bad configuration fail at once. Workflow-safe.
import type { ActivityOptions, LocalActivityOptions, RetryPolicy } from '@temporalio/workflow';
import { NON_RETRYABLE_FAILURES } from '../lib/failures';

/** Operators (and tests) may shorten retries for one run, e.g. to fail fast while fixing a source. */
export interface RetryOverride {
  initialIntervalMs?: number;
  maximumAttempts?: number;
  /** How long a streaming stage may stay silent before its worker is presumed dead (default 2 minutes). */
  heartbeatTimeoutMs?: number;
}

export function sourceRetry(override?: RetryOverride): RetryPolicy {
  return {
    initialInterval: override?.initialIntervalMs ?? 10_000,
    backoffCoefficient: 2,
    maximumInterval: '10 minutes',
    maximumAttempts: override?.maximumAttempts ?? 5,
    nonRetryableErrorTypes: NON_RETRYABLE_FAILURES,
  };
}

/** Bookkeeping against our own database: quick, retried patiently. */
export const bookkeeping: ActivityOptions = {
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds', maximumAttempts: 20 },
};

/**
 * The same bookkeeping as local activities: they run in the worker that runs the workflow, with no task
 * queue round trip and no extra workflow task, which is most of an unchanged check's cost at fan-out scale.
 */
export const localBookkeeping: LocalActivityOptions = {
  startToCloseTimeout: '1 minute',
  retry: bookkeeping.retry,
};

export function probeOptions(override?: RetryOverride): ActivityOptions {
  return { startToCloseTimeout: '2 minutes', retry: sourceRetry(override) };
}

/** Streaming stages heartbeat as they go; a silent worker is presumed dead after two minutes. */
export function streamingOptions(override?: RetryOverride): ActivityOptions {
  return {
    startToCloseTimeout: '4 hours',
    heartbeatTimeout: override?.heartbeatTimeoutMs ?? '2 minutes',
    retry: sourceRetry(override),
  };
}

/** The load is one long transaction; it heartbeats too, so a worker that dies mid-load is noticed as quickly. */
export function loadOptions(override?: RetryOverride): ActivityOptions {
  return {
    startToCloseTimeout: '2 hours',
    heartbeatTimeout: override?.heartbeatTimeoutMs ?? '2 minutes',
    retry: sourceRetry(override),
  };
}

/**
 * Bookkeeping of the namespace's long-running singletons (feed dispatcher, alert monitor): retried without
 * limit, so an outage of TEDI's database longer than an ingestion survives never ends them (they are
 * started again only when a worker starts).
 */
export const singletonBookkeeping: ActivityOptions = {
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds' },
};
