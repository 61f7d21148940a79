// The feed dispatcher (one per namespace, id `tedi-feed-dispatcher`): waits for committed revisions'
// events, makes one delivery per matching webhook subscription, and starts a delivery workflow for each.
// Its claim waits on the outbox's NOTIFY, so a subscriber hears of a revision within seconds of its
// commit. Deliveries outlive the dispatcher's runs (ParentClosePolicy.ABANDON); a delivery claimed but not
// started when a run ends is claimed again by the next, and its workflow id makes a second start a no-op.
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import { continueAsNew, log, ParentClosePolicy, proxyActivities, startChild, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../../activities';
import { singletonBookkeeping } from '../activity-options';
import { webhookDeliveryId } from '../ids';
import { deliverWebhook } from './deliver-webhook';

/** How long one claim waits for an event before the loop goes round (an activity, heartbeating). */
export const CLAIM_WAIT_MS = 50_000;
/** Deliveries started per claim; the rest are claimed at once by the next round. */
const CLAIM_LIMIT = 100;
/** Rounds per run before handing over to a fresh run (history stays small). */
const ROUNDS_PER_RUN = 200;

const { claimDeliveries } = proxyActivities<Activities>({
  startToCloseTimeout: CLAIM_WAIT_MS + 30_000,
  heartbeatTimeout: '20 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds' },
});
const { markDeliveriesStarted } = proxyActivities<Activities>(singletonBookkeeping);

export async function feedDispatcher(): Promise<void> {
  for (let round = 0; round < ROUNDS_PER_RUN && !workflowInfo().continueAsNewSuggested; round++) {
    const due = await claimDeliveries({ waitMs: CLAIM_WAIT_MS, limit: CLAIM_LIMIT });
    if (due.length === 0) continue;
    const started = new Set(due.map((d) => d.deliveryId));
    await Promise.all(
      due.map(async (delivery) => {
        try {
          await startChild(deliverWebhook, {
            workflowId: webhookDeliveryId(delivery),
            args: [{ deliveryId: delivery.deliveryId, generation: delivery.redeliveries }],
            parentClosePolicy: ParentClosePolicy.ABANDON,
            memo: { subscription: delivery.subscription, source: delivery.source, revision: delivery.revision },
          });
        } catch (err) {
          // Already running: a redelivery raced its previous attempt, or an earlier run started it.
          if (err instanceof WorkflowExecutionAlreadyStartedError) return;
          // Anything else: left unstarted, claimed again next round.
          log.warn('webhook delivery not started; retried next round', {
            delivery: delivery.deliveryId,
            error: String(err),
          });
          started.delete(delivery.deliveryId);
        }
      }),
    );
    if (started.size) await markDeliveriesStarted({ deliveryIds: [...started] });
  }
  await continueAsNew<typeof feedDispatcher>();
}
