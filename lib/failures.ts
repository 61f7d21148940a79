// The failure vocabulary shared by activities and workflows. Each type is a stable string that shows up
// in the Web UI, in `temporal workflow describe`, and in IngestionLog.errorClass, and decides whether
// Temporal retries: a source that is down or throttling may recover; a payload we cannot parse will not.
// Workflow-safe: imports only @temporalio/common.
import { ApplicationFailure } from '@temporalio/common';

export const FailureType = {
  /** 429 (or Comtrade's 403) with Retry-After: retried after the delay the source asked for. */
  RateLimited: 'RateLimited',
  /** 5xx, connection errors, timeouts: retried with backoff. */
  SourceUnavailable: 'SourceUnavailable',
  /** The source said the request itself is wrong (4xx, an API error envelope): retrying cannot help. */
  SourceRejected: 'SourceRejected',
  /** The body does not match the source's documented format: retrying cannot help. */
  InvalidPayload: 'InvalidPayload',
  /** A source returned a partial result inside a 200 (e.g. Overpass `remark`): retried. */
  PartialResult: 'PartialResult',
  /** Too many rows failed validation; the current version is left untouched. */
  TooManyRejects: 'TooManyRejects',
  /** The catalog row or its params are invalid: fix the catalog, then trigger again. */
  ConfigurationError: 'ConfigurationError',
  /**
   * This run's own input is wrong, not the source: the file handed to an import does not exist, or a file
   * source was started with no file and has no feed URL. Logged as failed; never counted toward the
   * breaker (activities/ingestion/audit-log.ts), since the source was never asked anything.
   */
  BadRunInput: 'BadRunInput',
  /**
   * The snapshot would empty or shrink the dataset beyond its threshold, or repeats a key: it is not
   * loaded, the current revision stays, and an operator may accept it for one run (activities/store/snapshot-guard.ts).
   */
  SuspiciousSnapshot: 'SuspiciousSnapshot',
  /**
   * A stage found fewer staged rows than the previous stage recorded (e.g. PostgreSQL emptied its
   * unlogged staging tables in crash recovery): the workflow re-runs the stages from fetch.
   */
  StagingLost: 'StagingLost',
  /** TEDI's own database was unreachable or dropped the connection: retried on its own short schedule. */
  DatabaseUnavailable: 'DatabaseUnavailable',
  /** A webhook receiver answered other than 2xx, too slowly, or not at all: the delivery is retried. */
  ReceiverFailed: 'ReceiverFailed',
  /** A webhook receiver answered 410 Gone, or its subscription was removed: delivery stops for good. */
  ReceiverGone: 'ReceiverGone',
} as const;
export type FailureType = (typeof FailureType)[keyof typeof FailureType];

/** Failure types Temporal must not retry. */
export const NON_RETRYABLE_FAILURES: FailureType[] = [
  FailureType.SourceRejected,
  FailureType.InvalidPayload,
  FailureType.TooManyRejects,
  FailureType.ConfigurationError,
  FailureType.BadRunInput,
  FailureType.SuspiciousSnapshot,
  // Not retried by Temporal's policy: the workflow handles these two itself (re-run from fetch; wait for the database).
  FailureType.StagingLost,
  FailureType.DatabaseUnavailable,
  FailureType.ReceiverGone,
];

/** A payload we cannot read; `cause` keeps the parser's own error for callers that add context. */
export function invalidPayload(message: string, cause?: Error): ApplicationFailure {
  return ApplicationFailure.create({ message, type: FailureType.InvalidPayload, nonRetryable: true, cause });
}

export function configurationError(message: string): ApplicationFailure {
  return ApplicationFailure.nonRetryable(message, FailureType.ConfigurationError);
}

export function badRunInput(message: string): ApplicationFailure {
  return ApplicationFailure.nonRetryable(message, FailureType.BadRunInput);
}

/**
 * What a failure knows about its root cause, carried as its first detail (HttpClient sets it; see
 * sources/kit/http/root-cause.ts): the system, TLS or HTTP code (`ENOTFOUND`, `DEPTH_ZERO_SELF_SIGNED_CERT`,
 * `HTTP 503`), the host, the status and the first bytes of the body (secrets masked), and the activity
 * attempt that failed (the worker stamps it: workers/attempt-facts.ts). The workflow copies these into the
 * run's memo; nothing parses messages to find them.
 */
export interface FailureFacts {
  code?: string;
  host?: string;
  status?: number;
  body?: string;
  attempt?: number;
}

const FACT_KEYS = ['code', 'host', 'status', 'body', 'attempt'] as const;

function isFacts(value: unknown): value is FailureFacts {
  return typeof value === 'object' && value !== null && FACT_KEYS.some((k) => k in value);
}

/** The facts of an ApplicationFailure (or of the first one in a cause chain), empty when it has none. */
export function failureFacts(err: unknown): FailureFacts {
  const seen = new Set<unknown>();
  for (let e = err; e instanceof Error && !seen.has(e); e = e.cause) {
    seen.add(e);
    if (!(e instanceof ApplicationFailure)) continue;
    const first = e.details?.[0];
    if (!isFacts(first)) continue;
    const facts: Record<string, unknown> = {};
    for (const key of FACT_KEYS) if (first[key] !== undefined) facts[key] = first[key];
    return facts as FailureFacts;
  }
  return {};
}

/**
 * Adds the attempt number to a failure's facts (creating them when it has no details), in place. A
 * failure whose details are something else is left as it is: they belong to whoever set them.
 */
export function stampAttempt(failure: ApplicationFailure, attempt: number): void {
  const details = failure.details ?? [];
  if (details.length > 0 && !isFacts(details[0])) return;
  const stamped = [{ ...(details[0] as FailureFacts | undefined), attempt }, ...details.slice(1)];
  (failure as { details: unknown[] }).details = stamped;
}
