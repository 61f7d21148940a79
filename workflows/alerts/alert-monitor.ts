// The alert monitor (one per namespace, id `tedi-alerts`): every minute, evaluate what holds against the
// open incidents (activities/alerts/evaluate.ts) and start one delivery workflow per new notification.
// An incident therefore alerts within about a minute of TEDI's state showing it (a breaker that opened, a
// version that became overdue), once, and once more when it clears.
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import {
  continueAsNew,
  log,
  ParentClosePolicy,
  proxyActivities,
  sleep,
  startChild,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../../activities';
import { singletonBookkeeping } from '../activity-options';
import { alertNotificationId } from '../ids';
import { deliverAlert } from './deliver-alert';

/** How often the state is evaluated. */
export const ALERT_EVALUATION_INTERVAL_MS = 60_000;
/** Rounds per run before handing over to a fresh run (history stays small). */
const ROUNDS_PER_RUN = 300;

const { evaluateAlerts, markAlertsStarted } = proxyActivities<Activities>(singletonBookkeeping);

export async function alertMonitor(input: { intervalMs?: number } = {}): Promise<void> {
  const interval = input.intervalMs ?? ALERT_EVALUATION_INTERVAL_MS;
  for (let round = 0; round < ROUNDS_PER_RUN && !workflowInfo().continueAsNewSuggested; round++) {
    const { toSend } = await evaluateAlerts({ limit: 100 });
    const started = new Set(toSend.map((n) => n.notificationId));
    await Promise.all(
      toSend.map(async (n) => {
        try {
          await startChild(deliverAlert, {
            workflowId: alertNotificationId(n),
            args: [{ notificationId: n.notificationId }],
            parentClosePolicy: ParentClosePolicy.ABANDON,
            memo: { channel: n.channel, kind: n.kind, source: n.source, transition: n.transition },
          });
        } catch (err) {
          // Already running: an earlier round started it. Anything else: left unstarted, claimed next round.
          if (err instanceof WorkflowExecutionAlreadyStartedError) return;
          log.warn('alert delivery not started; retried next round', {
            notification: n.notificationId,
            error: String(err),
          });
          started.delete(n.notificationId);
        }
      }),
    );
    if (started.size) await markAlertsStarted({ notificationIds: [...started] });
    // A full batch: more are waiting, go round at once.
    if (toSend.length < 100) await sleep(interval);
  }
  await continueAsNew<typeof alertMonitor>(input);
}
