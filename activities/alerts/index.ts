// The alerts' activities: the evaluator the alert monitor runs every minute, and the sending of each
// notification.
import type { ActivityDeps } from '../deps';
import { evaluateAlerts, markNotificationsStarted } from './evaluate';
import { sendActivities } from './send';

export function alertActivities(deps: ActivityDeps) {
  return {
    ...sendActivities(deps, { from: deps.alertFrom }),
    /** Opens and resolves incidents; returns the notifications to start (at most `limit`). */
    evaluateAlerts: (input: { limit: number }) => evaluateAlerts(deps.db.pool, input.limit),
    markAlertsStarted: (input: { notificationIds: string[] }) =>
      markNotificationsStarted(deps.db.pool, input.notificationIds),
  };
}
