// What the Web UI shows of a failed ingestion (its memo): the error class and root cause (code, host,
// HTTP status), how many attempts were made of how many allowed, and what the failure did to the version's
// schedule: the breaker state, the consecutive failure count and the next check. An operator reads why it
// failed and what happens next without opening the history or the database. Workflow-safe, pure.
import type { FinishSummary } from '../activities/ingestion/types';
import type { FailureFacts } from '../lib/failures';

/** The memo keeps the start of a long message (an HTTP body is already cut to 300 characters). */
export const MEMO_ERROR_CHARS = 1000;

export interface FailureMemo {
  errorClass: string;
  /** `<stage>: <message>`, as in the log row's error_message. */
  error: string;
  errorCode?: string;
  errorHost?: string;
  httpStatus?: number;
  /** The attempt of the stage that failed last (the worker stamps it on the failure). */
  attempts?: number;
  maximumAttempts: number;
  breakerOpen: boolean;
  consecutiveFailures: number;
  /**
   * When the version is checked again: the time the schedule set, or, when none is set (never checked
   * successfully: due now), the next master tick; an open breaker is skipped instead. Text, not null:
   * a memo cannot hold null (upsertMemo removes a key set to null).
   */
  nextCheck: string;
}

export const NEXT_TICK = 'at the next master tick';
export const BREAKER_SKIPS = 'skipped by the master while the breaker is open (tedi reset, or its half-open probe)';

export function failureMemo(input: {
  errorClass: string;
  error: string;
  facts: FailureFacts;
  maximumAttempts: number;
  /** What closing the log row returned; undefined when it could not say (never in practice). */
  schedule: FinishSummary | undefined;
}): FailureMemo {
  const { facts, schedule } = input;
  const memo: FailureMemo = {
    errorClass: input.errorClass,
    error: input.error.length > MEMO_ERROR_CHARS ? `${input.error.slice(0, MEMO_ERROR_CHARS)}…` : input.error,
    maximumAttempts: input.maximumAttempts,
    breakerOpen: schedule?.breakerOpen ?? false,
    consecutiveFailures: schedule?.consecutiveFailures ?? 0,
    nextCheck: schedule?.breakerOpen ? BREAKER_SKIPS : (schedule?.nextCheckAt ?? NEXT_TICK),
  };
  if (facts.code !== undefined) memo.errorCode = facts.code;
  if (facts.host !== undefined) memo.errorHost = facts.host;
  if (facts.status !== undefined) memo.httpStatus = facts.status;
  if (facts.attempt !== undefined) memo.attempts = facts.attempt;
  return memo;
}
