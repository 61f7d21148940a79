// TEDI's long-running workflows of which each namespace has exactly one (the operator console, the feed
// dispatcher, the alert monitor) are started under a fixed id on the scheduler queue; starting one that
// runs already is a no-op, so every start-up can simply make sure of it.
import { type Client, WorkflowIdConflictPolicy, type WorkflowStartOptions } from '@temporalio/client';
import type { Workflow } from '@temporalio/common';
import { SCHEDULER_QUEUE } from '../../lib/verticals';

export async function ensureSingleton<W extends Workflow>(
  client: Client,
  workflow: W,
  workflowId: string,
  args: Parameters<W>,
): Promise<string> {
  // The SDK's conditional args type does not resolve for a generic W; the caller's `args` are checked above.
  const options = {
    workflowId,
    taskQueue: SCHEDULER_QUEUE,
    args,
    workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
  } as unknown as WorkflowStartOptions<W>;
  const handle = await client.workflow.start(workflow, options);
  return handle.workflowId;
}
