// The audit trail and the schedule state: every ingestion run opens one IngestionLog row and closes it
// with its outcome, and closing it applies the scheduling rules (next check, failure count, breaker)
// in the same transaction, so the log and the schedule never disagree. This module owns ingestion_logs:
// every write to it (open, rejected rows, close, retention) is here.

import { metricMeter } from '@temporalio/activity';
import type { Database } from '../../lib/db';
import { configurationError, FailureType } from '../../lib/failures';
import { type IngestionOutcome, recordIngestion } from '../../lib/monitoring/metrics';
import { type Frequency, markChecked, type ScheduleState } from '../../lib/scheduling/frequency';
import type { ActivityDeps } from '../deps';
import { dropStaging, stagingTableFor } from '../store/staging';
import { currentIngestKey } from './ingest-key';
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
    // Set only by the attempt that closes the log row, so a retried finish is not counted twice.
    let outcome: IngestionOutcome | null = null;
    const summary = await prisma.$transaction(async (tx) => {
      const [version] = await tx.$queryRaw<
        Array<ScheduleState & { id: number; frequency: Frequency; source: string; vertical: string }>
      >`SELECT v.id, v.check_enabled AS "checkEnabled", v.next_check_at AS "nextCheckAt",
               v.last_checked_at AS "lastCheckedAt", v.consecutive_failures AS "consecutiveFailures",
               v.breaker_opened_at AS "breakerOpenedAt", s.update_frequency::text AS frequency,
               s.name AS source, s.vertical::text AS vertical
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

      const next = markChecked(version, version.frequency, input.status, now);
      const succeeded = input.status !== 'failed';
      await tx.datasetVersion.update({
        where: { id: version.id },
        data: {
          lastCheckedAt: next.lastCheckedAt,
          nextCheckAt: next.nextCheckAt,
          consecutiveFailures: next.consecutiveFailures,
          breakerOpenedAt: next.breakerOpenedAt,
          ...(succeeded ? { lastSuccessAt: now } : {}),
          ...(succeeded && input.probeToken !== undefined ? { lastProbeToken: input.probeToken } : {}),
        },
      });
      return result(next);
    });
    if (outcome) recordIngestion(metricMeter, outcome);
    const { ingestKey } = currentIngestKey();
    // The run's staging table goes with the run, whatever its outcome.
    await dropStaging(deps.db.pool, stagingTableFor(ingestKey));
    return summary;
  }

  return { beginIngestion, finishIngestion };
}
