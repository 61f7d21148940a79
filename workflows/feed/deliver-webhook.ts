// One webhook delivery: POST the signed event to the subscriber until it answers 2xx, on the retry policy
// of lib/webhook-policy.ts (10 s doubling to 1 h, 12 attempts), then record the final state. The
// workflow carries only the delivery id: the event, the URL and the secret stay in the database, so
// nothing of them reaches history. Each delivery is its own workflow, so a slow or dead receiver delays
// only its own deliveries, never an ingestion and never another subscriber.
import { ActivityFailure, ApplicationFailure, proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../../activities';
import type { DeliveryResult } from '../../activities/feed/delivery';
import { FailureType } from '../../lib/failures';
import { WEBHOOK_RETRY, WEBHOOK_TIMEOUT_MS } from '../../lib/webhook-policy';
import { bookkeeping } from '../activity-options';

const { postWebhook } = proxyActivities<Activities>({
  // The POST's own limit plus room for two database writes.
  startToCloseTimeout: WEBHOOK_TIMEOUT_MS + 20_000,
  retry: {
    initialInterval: WEBHOOK_RETRY.initialIntervalMs,
    backoffCoefficient: WEBHOOK_RETRY.backoffCoefficient,
    maximumInterval: WEBHOOK_RETRY.maximumIntervalMs,
    maximumAttempts: WEBHOOK_RETRY.maximumAttempts,
    nonRetryableErrorTypes: [FailureType.ReceiverGone],
  },
});
const { finishFailedDelivery } = proxyActivities<Activities>(bookkeeping);

export interface DeliverWebhookInput {
  deliveryId: string;
}

export async function deliverWebhook(input: DeliverWebhookInput): Promise<DeliveryResult> {
  try {
    return await postWebhook(input);
  } catch (err) {
    const cause = err instanceof ActivityFailure && err.cause ? err.cause : err;
    const reason = cause instanceof Error ? cause.message : String(cause);
    await finishFailedDelivery({ deliveryId: input.deliveryId, reason });
    // Failed, with the receiver's own answer as the message: what the Web UI shows for this run.
    throw ApplicationFailure.nonRetryable(
      reason,
      cause instanceof ApplicationFailure ? (cause.type ?? undefined) : undefined,
    );
  }
}
