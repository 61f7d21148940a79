// Makes sure the alert monitor runs (one per namespace, on the scheduler queue); idempotent, like the feed
// dispatcher. `intervalMs` is for tests; production evaluates every minute.
import { type Client, WorkflowIdConflictPolicy } from '@temporalio/client';
import { SCHEDULER_QUEUE } from '../../lib/verticals';
import { alertMonitor } from '../../workflows/alerts/alert-monitor';
import { ALERT_MONITOR_ID } from '../../workflows/ids';

export async function ensureAlertMonitor(client: Client, options: { intervalMs?: number } = {}): Promise<string> {
  const handle = await client.workflow.start(alertMonitor, {
    workflowId: ALERT_MONITOR_ID,
    taskQueue: SCHEDULER_QUEUE,
    args: [options],
    workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
  });
  return handle.workflowId;
}
