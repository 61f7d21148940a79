import { activityInfo } from '@temporalio/activity';

/**
 * Identifies one ingestion run: staging rows, the log row and the revision are all keyed by it, so an
 * activity retried after a crash finds (and replaces or reuses) exactly what its earlier attempt wrote.
 */
export function currentIngestKey(): { ingestKey: string; workflowId: string; runId: string } {
  const execution = activityInfo().workflowExecution;
  if (!execution) throw new Error('ingestion activities must run inside an ingestion workflow');
  const { workflowId, runId } = execution;
  return { ingestKey: `${workflowId}/${runId}`, workflowId, runId };
}
