// Refusal rules: how a parsed answer becomes a typed failure, the same way for every source.
//   - an API's own error envelope (often with HTTP 200) → SourceRejected, not retried: the query is wrong;
//   - an answer off the documented format → InvalidPayload naming the zod paths: the format changed.
import { ApplicationFailure } from '@temporalio/common';
import type { z } from 'zod';
import { FailureType, invalidPayload } from '../../lib/failures';
import { formatIssues } from './zod-issues';

/** Throws a non-retryable SourceRejected with `message(envelope)` when `body` is the source's error envelope. */
export function refuseOn<E>(envelope: z.ZodType<E>, body: unknown, message: (envelope: E) => string): void {
  const parsed = envelope.safeParse(body);
  if (parsed.success) throw ApplicationFailure.nonRetryable(message(parsed.data), FailureType.SourceRejected);
}

/** `body` parsed by `schema`, or InvalidPayload: "<what>: <path>: <issue>; …". */
export function payloadOf<T>(schema: z.ZodType<T>, body: unknown, what: string): T {
  const parsed = schema.safeParse(body);
  if (!parsed.success) throw invalidPayload(`${what}: ${formatIssues(parsed.error)}`);
  return parsed.data;
}
