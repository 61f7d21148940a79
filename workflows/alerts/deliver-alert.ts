// One alert notification: send it over its channel until it is accepted, on the same retry policy as the
// change feed's webhooks (lib/webhook-policy.ts: 10 s doubling to 1 h, 12 attempts), then record the final
// state. Only the notification id travels through history: the message, the address and the credential
// stay in the database.
import { ActivityFailure, ApplicationFailure, proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../../activities';
import { FailureType } from '../../lib/failures';
import { WEBHOOK_RETRY, WEBHOOK_TIMEOUT_MS } from '../../lib/webhook-policy';
import { bookkeeping } from '../activity-options';

const { sendAlert } = proxyActivities<Activities>({
  // The POST's own limit (an SMTP exchange is as quick) plus room for the database writes.
  startToCloseTimeout: WEBHOOK_TIMEOUT_MS + 20_000,
  retry: {
    initialInterval: WEBHOOK_RETRY.initialIntervalMs,
    backoffCoefficient: WEBHOOK_RETRY.backoffCoefficient,
    maximumInterval: WEBHOOK_RETRY.maximumIntervalMs,
    maximumAttempts: WEBHOOK_RETRY.maximumAttempts,
    nonRetryableErrorTypes: [FailureType.ReceiverGone],
  },
});
const { finishFailedAlert } = proxyActivities<Activities>(bookkeeping);

export async function deliverAlert(input: {
  notificationId: string;
}): Promise<{ status: 'delivered'; attempts: number }> {
  try {
    return await sendAlert(input);
  } catch (err) {
    const cause = err instanceof ActivityFailure && err.cause ? err.cause : err;
    const reason = cause instanceof Error ? cause.message : String(cause);
    await finishFailedAlert({ notificationId: input.notificationId, reason });
    throw ApplicationFailure.nonRetryable(
      reason,
      cause instanceof ApplicationFailure ? (cause.type ?? undefined) : undefined,
    );
  }
}
