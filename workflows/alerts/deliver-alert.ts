// One alert notification: send it over its channel until it is accepted, on the receivers' retry policy
// (lib/webhook-policy.ts: 10 s doubling to 1 h, 12 attempts), then record the final state. Only the
// notification id travels through history: the message, the address and the credential stay in the database.
import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../../activities';
import { bookkeeping } from '../activity-options';
import { deliverOrRecord, receiverDelivery } from '../delivery-options';

const { sendAlert } = proxyActivities<Activities>(receiverDelivery);
const { finishFailedAlert } = proxyActivities<Activities>(bookkeeping);

export async function deliverAlert(input: {
  notificationId: string;
}): Promise<{ status: 'delivered'; attempts: number }> {
  return deliverOrRecord(
    () => sendAlert(input),
    (reason) => finishFailedAlert({ notificationId: input.notificationId, reason }),
  );
}
