// Makes sure the feed dispatcher runs (one per namespace, on the scheduler queue); idempotent, like the
// operator console. The workers' start-up calls it, so a dispatcher that was terminated comes back with
// the next deployment or restart.
import { type Client, WorkflowIdConflictPolicy } from '@temporalio/client';
import { SCHEDULER_QUEUE } from '../../lib/verticals';
import { feedDispatcher } from '../../workflows/feed/feed-dispatcher';
import { FEED_DISPATCHER_ID } from '../../workflows/ids';

export async function ensureFeedDispatcher(client: Client): Promise<string> {
  const handle = await client.workflow.start(feedDispatcher, {
    workflowId: FEED_DISPATCHER_ID,
    taskQueue: SCHEDULER_QUEUE,
    args: [],
    workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
  });
  return handle.workflowId;
}
