// What Temporal knows about a run's activity that is being retried: attempt n of N, when the next attempt
// starts, and how the last one failed. A workflow's own progress query cannot say this (an activity's
// attempts are invisible to workflow code), so the CLI reads it from `describe()`'s pending activities,
// which the server keeps for every activity that has not finished.
import type { WorkflowHandle } from '@temporalio/client';
import type { temporal } from '@temporalio/proto';

export interface PendingRetry {
  /** The activity's type, e.g. probeSource. */
  activity: string;
  /** The attempt running or scheduled now (1-based): 2 after the first failure. */
  attempt: number;
  /** The retry policy's bound; null when unlimited. */
  maximumAttempts: number | null;
  /** When the next attempt starts; null while an attempt is running. */
  nextAttemptAt: Date | null;
  /** `<failure type>: <message>` of the last failed attempt. */
  lastFailure: string | null;
}

type Timestamp = { seconds?: { toNumber(): number } | number | null; nanos?: number | null } | null | undefined;

function dateOf(ts: Timestamp): Date | null {
  if (!ts?.seconds) return null;
  const seconds = typeof ts.seconds === 'number' ? ts.seconds : ts.seconds.toNumber();
  return new Date(seconds * 1000 + Math.floor((ts.nanos ?? 0) / 1e6));
}

function failureText(failure: temporal.api.failure.v1.IFailure | null | undefined): string | null {
  if (!failure) return null;
  const type = failure.applicationFailureInfo?.type;
  return type ? `${type}: ${failure.message ?? ''}` : (failure.message ?? null);
}

/** The pending activity past its first attempt (the latest such, if several), or null when none is retrying. */
export function pendingRetryOf(
  raw: temporal.api.workflowservice.v1.IDescribeWorkflowExecutionResponse,
): PendingRetry | null {
  const retrying = (raw.pendingActivities ?? []).filter((a) => (a.attempt ?? 1) > 1 || a.lastFailure);
  const latest = retrying.sort((a, b) => (b.attempt ?? 0) - (a.attempt ?? 0))[0];
  if (!latest) return null;
  return {
    activity: latest.activityType?.name ?? 'activity',
    attempt: latest.attempt ?? 1,
    maximumAttempts: latest.maximumAttempts ? latest.maximumAttempts : null,
    nextAttemptAt: dateOf(latest.nextAttemptScheduleTime),
    lastFailure: failureText(latest.lastFailure),
  };
}

export async function pendingRetry(handle: WorkflowHandle): Promise<PendingRetry | null> {
  return pendingRetryOf((await handle.describe()).raw);
}
