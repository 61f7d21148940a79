// Daily housekeeping, each started by its own schedule (tedi-cleanup-logs, tedi-reliability-scores).
import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { bookkeeping } from './activity-options';

const { cleanupOldLogs, updateReliabilityScores } = proxyActivities<Activities>({
  ...bookkeeping,
  startToCloseTimeout: '10 minutes',
});

/** Removes ingestion log rows older than the retention period (default 90 days). */
export async function cleanupLogs(input: { retentionDays?: number } = {}): Promise<{ deleted: number }> {
  return cleanupOldLogs({ retentionDays: input.retentionDays ?? 90 });
}

/** Recomputes every dataset version's reliability score from its recent ingestions. */
export async function reliabilityScores(): Promise<{ updated: number }> {
  return updateReliabilityScores();
}
