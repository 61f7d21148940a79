// Makes sure the operator console workflow runs (one per namespace); idempotent.
import { type Client, WorkflowIdConflictPolicy } from '@temporalio/client';
import { SCHEDULER_QUEUE } from '../../lib/verticals';
import { OPERATOR_WORKFLOW_ID, operatorConsole } from '../../workflows/operator-console';

export async function ensureOperatorConsole(client: Client): Promise<string> {
  const handle = await client.workflow.start(operatorConsole, {
    workflowId: OPERATOR_WORKFLOW_ID,
    taskQueue: SCHEDULER_QUEUE,
    args: [],
    workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
  });
  return handle.workflowId;
}
