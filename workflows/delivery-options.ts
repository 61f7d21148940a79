// How TEDI's notifications to other systems run (change-feed webhooks, alerts): the activity that sends
// one has the receivers' retry policy (lib/webhook-policy.ts), and a delivery that ends without success
// fails its workflow with the receiver's own answer. Workflow-safe.
import { ActivityFailure, type ActivityOptions, ApplicationFailure } from '@temporalio/workflow';
import { FailureType } from '../lib/failures';
import { WEBHOOK_RETRY, WEBHOOK_TIMEOUT_MS } from '../lib/webhook-policy';

export const receiverDelivery: ActivityOptions = {
  // The receiver's own time limit (an SMTP exchange is as quick) plus room for the database writes.
  startToCloseTimeout: WEBHOOK_TIMEOUT_MS + 20_000,
  retry: {
    initialInterval: WEBHOOK_RETRY.initialIntervalMs,
    backoffCoefficient: WEBHOOK_RETRY.backoffCoefficient,
    maximumInterval: WEBHOOK_RETRY.maximumIntervalMs,
    maximumAttempts: WEBHOOK_RETRY.maximumAttempts,
    nonRetryableErrorTypes: [FailureType.ReceiverGone],
  },
};

/**
 * Runs a delivery; when it ends without success, records why (`recordFailure`) and fails the workflow with
 * the receiver's answer as its message: what the Web UI shows for the run.
 */
export async function deliverOrRecord<T>(
  send: () => Promise<T>,
  recordFailure: (reason: string) => Promise<void>,
): Promise<T> {
  try {
    return await send();
  } catch (err) {
    const cause = err instanceof ActivityFailure && err.cause ? err.cause : err;
    const reason = cause instanceof Error ? cause.message : String(cause);
    await recordFailure(reason);
    throw ApplicationFailure.nonRetryable(
      reason,
      cause instanceof ApplicationFailure ? (cause.type ?? undefined) : undefined,
    );
  }
}
