// The audit trail and the schedule state: every ingestion run opens one IngestionLog row and closes it
// with its outcome, and closing it applies the scheduling rules (next check, failure count, breaker)
// in the same transaction, so the log and the schedule never disagree. This module owns ingestion_logs:
// every write to it (open, rejected rows, close, retention) is here.

import { metricMeter } from '@temporalio/activity';
import type { Database } from '../../lib/db';
import { configurationError, FailureType } from '../../lib/failures';
import { type IngestionOutcome, recordIngestion } from '../../lib/monitoring/metrics';
import { type Frequency, markChecked, markProbed, type ScheduleState } from '../../lib/scheduling/frequency';
import {
  DEFAULT_PROBE_INTERVAL_MAX_HOURS,
  DEFAULT_PROBE_INTERVAL_MIN_HOURS,
  nextCheckAfterSuccess,
} from '../../lib/scheduling/probe-interval';
import type { ActivityDeps } from '../deps';
import { versionTimings } from '../scheduling/timing';
import { dropStaging, stagingTableFor } from '../store/staging';
import { currentIngestKey } from './ingest-key';
import { recomputeReliability } from './reliability';
import type { FinishInput, FinishSummary, IngestionPlan, Trigger, VersionRef } from './types';

/** A rejected row as the log keeps it: its record number and why. */
export interface RejectedRow {
  row: number;
  reason: string;
}

/** Puts a run's rejected rows (count and a sample) on its log row: never silently dropped. */
export async function recordRejects(
  db: Database,
  logId: string,
  rejected: number,
  sample: RejectedRow[],
): Promise<void> {
  await db.prisma.ingestionLog.update({
    where: { id: BigInt(logId) },
    data: { recordsRejected: rejected, rejects: sample as unknown as object[] },
  });
}

/** The run id of the log row the master writes for a version it skipped because its breaker is open. */
export const BREAKER_SKIP_RUN_ID = 'skipped-breaker-open';

/**
 * Logs the master's skip of an open breaker: status `skipped`, reason "breaker open since …, next probe at …".
 * Keyed by the ingestion id the tick would have used (`workflowId`) and BREAKER_SKIP_RUN_ID, so a retried
 * master writes it once.
 */
export async function recordBreakerSkip(
  db: Database,
  input: { datasetVersionId: number; workflowId: string; breakerOpenedAt: string; nextProbeAt: string | null },
): Promise<void> {
  const reason = `breaker open since ${input.breakerOpenedAt}, next probe at ${input.nextProbeAt ?? 'unknown (no source configuration)'}`;
  await db.pool.query(
    `INSERT INTO ingestion_logs (dataset_version_id, status, trigger, started_at, finished_at, duration_ms,
                                 error_message, workflow_id, run_id)
     VALUES ($1, 'skipped', 'schedule', now(), now(), 0, $2, $3, $4)
     ON CONFLICT (workflow_id, run_id) DO NOTHING`,
    [input.datasetVersionId, reason, input.workflowId, BREAKER_SKIP_RUN_ID],
  );
}

/** Deletes finished log rows older than `retentionDays` (the cleanup schedule); returns how many went. */
export async function deleteOldLogs(db: Database, retentionDays: number, now?: string): Promise<number> {
  const res = await db.pool.query(
    `DELETE FROM ingestion_logs
      WHERE started_at < coalesce($2::timestamptz, now()) - make_interval(days => $1)
        AND status <> 'running'`,
    [retentionDays, now ?? null],
  );
  return res.rowCount ?? 0;
}

/** When the open breaker's next half-open probe is due (breaker_next_probe_at(), the one rule); null when closed. */
async function nextProbeOf(
  tx: { $queryRaw<T>(query: TemplateStringsArray, ...values: unknown[]): Promise<T> },
  datasetVersionId: number,
): Promise<Date | null> {
  const [row] = await tx.$queryRaw<Array<{ at: Date | null }>>`
    SELECT breaker_next_probe_at(v.breaker_opened_at, v.breaker_probed_at, c.breaker_cooldown_minutes) AS at
      FROM dataset_versions v LEFT JOIN data_source_configs c ON c.data_source_id = v.data_source_id
     WHERE v.id = ${datasetVersionId}`;
  return row?.at ?? null;
}

export function auditLogActivities(deps: ActivityDeps) {
  const { prisma } = deps.db;

  /** Opens (or, on retry, finds) this run's log row and returns what the workflow needs to plan the run. */
  async function beginIngestion(input: VersionRef & { trigger: Trigger }): Promise<IngestionPlan> {
    const { workflowId, runId } = currentIngestKey();
    const version = await findVersion(input);
    const log = await prisma.ingestionLog.upsert({
      where: { workflowId_runId: { workflowId, runId } },
      create: { datasetVersionId: version.id, status: 'running', trigger: input.trigger, workflowId, runId },
      update: {},
    });
    const source = version.dataSource;
    const blockedReason = !source.isActive
      ? `source "${source.name}" is inactive`
      : version.breakerOpenedAt
        ? `circuit breaker open since ${version.breakerOpenedAt.toISOString()} after ${version.consecutiveFailures} consecutive failures`
        : !version.checkEnabled
          ? 'automatic checks are disabled for this version'
          : null;
    return {
      logId: log.id.toString(),
      datasetVersionId: version.id,
      source: source.name,
      version: version.version,
      vertical: source.vertical,
      frequency: source.updateFrequency,
      checkable: blockedReason === null,
      blockedReason,
      lastProbeToken: version.lastProbeToken,
      lastChecksum: version.lastChecksum,
      currentRevision: version.currentRevision,
    };
  }

  /** Resolves a version by id, or by source name (+ version label, default "current") as operators type it. */
  async function findVersion(ref: VersionRef) {
    const include = { dataSource: true } as const;
    if (ref.datasetVersionId !== undefined) {
      const v = await prisma.datasetVersion.findUnique({ where: { id: ref.datasetVersionId }, include });
      if (v) return v;
      throw configurationError(
        `Dataset version ${ref.datasetVersionId} does not exist. List versions with: npm run tedi -- versions list`,
      );
    }
    if (!ref.source) {
      throw configurationError(
        'The ingestion input needs "datasetVersionId" or "source" (e.g. {"source":"world_bank_agriculture"}).',
      );
    }
    const label = ref.version ?? 'current';
    const v = await prisma.datasetVersion.findFirst({
      where: { version: label, dataSource: { name: ref.source } },
      include,
    });
    if (v) return v;
    throw configurationError(
      `No dataset version "${label}" for source "${ref.source}". List versions with: npm run tedi -- versions list`,
    );
  }

  /** Closes the log row and applies the scheduling rules. Idempotent: a retry after commit changes nothing. */
  async function finishIngestion(input: FinishInput): Promise<FinishSummary> {
    const logId = BigInt(input.logId);
    const now = new Date();
    // Read before the transaction: the load committed this run's revision, if any, already.
    const timing = (await versionTimings(deps.db, [input.datasetVersionId])).get(input.datasetVersionId);
    // Set only by the attempt that closes the log row, so a retried finish is not counted twice.
    let outcome: IngestionOutcome | null = null;
    const summary = await prisma.$transaction(async (tx) => {
      const [version] = await tx.$queryRaw<
        Array<ScheduleState & { id: number; frequency: Frequency; source: string; vertical: string }>
      >`SELECT v.id, v.check_enabled AS "checkEnabled", v.next_check_at AS "nextCheckAt",
               v.last_checked_at AS "lastCheckedAt", v.consecutive_failures AS "consecutiveFailures",
               v.breaker_opened_at AS "breakerOpenedAt", v.breaker_probed_at AS "breakerProbedAt",
               s.update_frequency::text AS frequency, s.name AS source, s.vertical::text AS vertical
          FROM dataset_versions v JOIN data_sources s ON s.id = v.data_source_id
         WHERE v.id = ${input.datasetVersionId} FOR UPDATE OF v`;
      if (!version) throw configurationError(`Dataset version ${input.datasetVersionId} disappeared during ingestion.`);
      const log = await tx.ingestionLog.findUniqueOrThrow({ where: { id: logId } });
      const result = (s: ScheduleState): FinishSummary => ({
        consecutiveFailures: s.consecutiveFailures,
        breakerOpen: s.breakerOpenedAt !== null,
        nextCheckAt: s.nextCheckAt?.toISOString() ?? null,
      });
      if (log.status !== 'running') return result(version);

      await tx.ingestionLog.update({
        where: { id: logId },
        data: {
          status: input.status,
          finishedAt: now,
          durationMs: now.getTime() - log.startedAt.getTime(),
          probeToken: input.probeToken ?? null,
          checksum: input.checksum ?? null,
          revision: input.revision ?? null,
          bytesFetched: BigInt(input.bytesFetched ?? 0),
          recordsAdded: input.recordsAdded ?? 0,
          recordsUpdated: input.recordsUpdated ?? 0,
          recordsUnchanged: input.recordsUnchanged ?? 0,
          recordsRemoved: input.recordsRemoved ?? 0,
          // The transform stage records rejects itself (it may fail right after), so keep the larger count.
          recordsRejected: Math.max(input.recordsRejected ?? 0, log.recordsRejected),
          recordsKept: input.recordsKept ?? 0,
          acceptedOverride: input.acceptedOverride ?? null,
          errorClass: input.errorClass ?? null,
          errorMessage: input.errorMessage ?? input.note ?? null,
        },
      });
      outcome = {
        source: version.source,
        vertical: version.vertical,
        status: input.status,
        durationSeconds: (now.getTime() - log.startedAt.getTime()) / 1000,
        recordsAdded: input.recordsAdded ?? 0,
        recordsUpdated: input.recordsUpdated ?? 0,
        recordsRemoved: input.recordsRemoved ?? 0,
      };
      // A run failed by its own input (BadRunInput: the import's file, a file-less trigger) never asked the
      // source anything: like a skip, it leaves the schedule and the breaker as they were.
      if (input.status === 'skipped' || input.errorClass === FailureType.BadRunInput) return result(version);

      const succeeded = input.status !== 'failed';
      if (input.halfOpenProbe) {
        // Probe only: nothing was loaded, so last_success_at and the probe token stay as they were (the next
        // ingestion, due at once, compares the token with the last load's).
        const probed = markProbed(version, succeeded ? 'success' : 'failed', now);
        await tx.datasetVersion.update({
          where: { id: version.id },
          data: {
            lastCheckedAt: probed.lastCheckedAt,
            nextCheckAt: probed.nextCheckAt,
            consecutiveFailures: probed.consecutiveFailures,
            breakerOpenedAt: probed.breakerOpenedAt,
            breakerProbedAt: probed.breakerProbedAt ?? null,
          },
        });
        const nextProbeAt = await nextProbeOf(tx, version.id);
        await tx.ingestionLog.update({
          where: { id: logId },
          data: {
            errorMessage: succeeded
              ? `half-open probe answered: breaker closed (open since ${version.breakerOpenedAt?.toISOString() ?? '-'} after ${version.consecutiveFailures} failures); due at the next master run`
              : `half-open probe: ${input.errorMessage ?? input.note ?? 'failed'}; breaker stays open (since ${version.breakerOpenedAt?.toISOString() ?? '-'}), next probe at ${nextProbeAt?.toISOString() ?? '-'}`,
          },
        });
        return { ...result(probed), nextProbeAt: nextProbeAt?.toISOString() ?? null };
      }
      const next = markChecked(version, version.frequency, input.status, now, (at) =>
        nextCheckAfterSuccess(version.frequency, at, {
          probeEveryTick: timing?.probeEveryTick ?? false,
          observedIntervalMs: timing?.observedIntervalMs ?? null,
          minHours: timing?.probeIntervalMinHours ?? DEFAULT_PROBE_INTERVAL_MIN_HOURS,
          maxHours: timing?.probeIntervalMaxHours ?? DEFAULT_PROBE_INTERVAL_MAX_HOURS,
        }),
      );
      await tx.datasetVersion.update({
        where: { id: version.id },
        data: {
          lastCheckedAt: next.lastCheckedAt,
          nextCheckAt: next.nextCheckAt,
          consecutiveFailures: next.consecutiveFailures,
          breakerOpenedAt: next.breakerOpenedAt,
          breakerProbedAt: next.breakerProbedAt ?? null,
          ...(succeeded ? { lastSuccessAt: now } : {}),
          ...(succeeded && input.probeToken !== undefined ? { lastProbeToken: input.probeToken } : {}),
        },
      });
      return { ...result(next), nextProbeAt: (await nextProbeOf(tx, version.id))?.toISOString() ?? null };
    });
    if (outcome) {
      recordIngestion(metricMeter, outcome);
      // The score follows every finished run, not only the daily schedule.
      await recomputeReliability(deps.db, input.datasetVersionId);
    }
    const { ingestKey } = currentIngestKey();
    // The run's staging table goes with the run, whatever its outcome.
    await dropStaging(deps.db.pool, stagingTableFor(ingestKey));
    return summary;
  }

  /** The master's log row for a version it skipped because its breaker is open (see recordBreakerSkip). */
  async function logBreakerSkip(input: Parameters<typeof recordBreakerSkip>[1]): Promise<void> {
    await recordBreakerSkip(deps.db, input);
  }

  return { beginIngestion, finishIngestion, logBreakerSkip };
}
