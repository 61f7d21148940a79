// Housekeeping the seed ran as Celery tasks: old log rows out, reliability scores recomputed.
import type { ActivityDeps } from '../deps';
import { deleteOldLogs } from '../ingestion/audit-log';
import { recomputeReliability } from '../ingestion/reliability';

export { RELIABILITY_WINDOW } from '../ingestion/reliability';

export function maintenanceActivities(deps: ActivityDeps) {
  /** Deletes log rows older than `retentionDays`; returns how many went. */
  async function cleanupOldLogs(input: { retentionDays: number; now?: string }): Promise<{ deleted: number }> {
    return { deleted: await deleteOldLogs(deps.db, input.retentionDays, input.now) };
  }

  /** Every version's score from its recent ingestions (activities/ingestion/reliability.ts); no history: n/a. */
  async function updateReliabilityScores(): Promise<{ updated: number }> {
    return { updated: await recomputeReliability(deps.db, null) };
  }

  return { cleanupOldLogs, updateReliabilityScores };
}
