// One webhook delivery: POST the signed event to the subscriber until it answers 2xx, on the receivers'
// retry policy (lib/webhook-policy.ts: 10 s doubling to 1 h, 12 attempts), then record the final state.
// The workflow carries only the delivery id: the event, the URL and the secret stay in the database, so
// nothing of them reaches history. Each delivery is its own workflow, so a slow or dead receiver delays
// only its own deliveries, never an ingestion and never another subscriber.
import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../../activities';
import type { DeliveryResult } from '../../activities/feed/delivery';
import { bookkeeping } from '../activity-options';
import { deliverOrRecord, receiverDelivery } from '../delivery-options';

const { postWebhook } = proxyActivities<Activities>(receiverDelivery);
const { finishFailedDelivery } = proxyActivities<Activities>(bookkeeping);

export interface DeliverWebhookInput {
  deliveryId: string;
  /** Which queuing of the delivery this run serves (webhook_deliveries.redeliveries); 0 = the first. */
  generation?: number;
}

export async function deliverWebhook(input: DeliverWebhookInput): Promise<DeliveryResult> {
  return deliverOrRecord(
    () => postWebhook({ deliveryId: input.deliveryId }),
    (reason) => finishFailedDelivery({ deliveryId: input.deliveryId, reason, generation: input.generation ?? 0 }),
  );
}
